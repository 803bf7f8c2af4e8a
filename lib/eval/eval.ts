// Evaluation of any model that can score bytes: bits per byte on held-out text,
// minimal pairs (does the model prefer the grammatical sentence?) and
// next-sentence choice (acc_norm). The scoring rules follow data/README.md.
//
// Everything runs through one routine that scores rows of bytes in batches:
// each batch is built on the CPU, scored inside tf.tidy, and read back once
// (reading a value back from the device is a sync point, so once per batch and
// not once per item). Sums are accumulated in float64 on the CPU.
import type { Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { PAD, encodeText } from "../text/tokenizer.js";
import type { MinimalPair, NextSentenceItem } from "../text/data.js";

export interface ScoringModel {
  readonly blockSize: number; // max context in tokens (bytes)
  /** log p(y[b,t] | x[b,0..t]) in nats, shape [B,T], for int32 x,y of shape [B,T]; caller disposes the result. */
  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D;
}

export interface EvalOptions {
  /** Rows scored per call of tokenLogProbs. */
  batchSize?: number;
  /** Called after each batch with the rows scored so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Checked before each batch: when aborted, the scoring stops with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Awaited after each batch. A page or a worker passes a function that yields
   * to its event loop here, so clicks (or a cancel message) are seen between batches.
   */
  afterBatch?: () => Promise<void>;
}

/**
 * What an empty context becomes: a sentence is scored as if it began a
 * paragraph, which is how the corpora separate text. data/README.md used the
 * same prefix for its reference scores.
 */
export const EMPTY_CONTEXT_PREFIX = "\n\n";

/**
 * Batches are padded to a multiple of this many positions (at most blockSize)
 * rather than to each batch's exact length: fewer distinct shapes means fewer
 * shader compilations on the GPU backends, for little wasted work.
 */
const WIDTH_STEP = 16;

/** Bytes to score: x = ids[0..n-1], y = ids[1..n]; targets y[first..] count. */
export interface Row {
  ids: Uint8Array;
  first: number;
}

// ---------------------------------------------------------------------------
// Bits per byte

/**
 * Mean -log2 p over every predicted byte of `bytes` (all but the first), read
 * in non-overlapping windows of blockSize: x = bytes[i..i+T), y = bytes[i+1..i+T].
 * The last, shorter window is padded and masked, so every byte counts once.
 */
export async function bitsPerByte(
  model: ScoringModel,
  bytes: Uint8Array,
  { maxBytes, batchSize = 16, ...options }: EvalOptions & { maxBytes?: number } = {}
): Promise<number> {
  const T = checkBlockSize(model);
  const text = maxBytes === undefined ? bytes : bytes.subarray(0, maxBytes);
  if (text.length < 2) {
    throw new RangeError(`bitsPerByte needs at least 2 bytes of text (got ${text.length}); give the validation or test bytes of a corpus.`);
  }
  const rows = windowRows(text, T, 0, windowCount(text.length, T));
  const sums = await sumLogProbs(model, rows, { batchSize, ...options });
  let total = 0;
  for (const s of sums) total += s;
  return -total / (text.length - 1) / Math.LN2;
}

/** How many windows of blockSize predicted bytes cover a text of `length` bytes (every byte but the first is predicted). */
export function windowCount(length: number, blockSize: number): number {
  return Math.max(0, Math.ceil((length - 1) / blockSize));
}

/** Windows [from, to) of `text`: window w reads text[w T .. min(w T + T + 1, n)) and predicts all but its first byte. */
export function windowRows(text: Uint8Array, blockSize: number, from: number, to: number): Row[] {
  const rows: Row[] = [];
  for (let w = from; w < to; w++) rows.push({ ids: text.subarray(w * blockSize, Math.min(w * blockSize + blockSize + 1, text.length)), first: 0 });
  return rows;
}

// ---------------------------------------------------------------------------
// Continuations

export interface Continuation {
  context: Uint8Array;
  continuation: Uint8Array;
}

/**
 * Summed log-probability, in nats, of each continuation given its context.
 * The first continuation byte is predicted from the last context byte; an
 * empty context becomes EMPTY_CONTEXT_PREFIX.
 *
 * When context + continuation fits in blockSize + 1 bytes it is scored in one
 * window, nothing cut. Otherwise the context is cut from the left and the
 * continuation is scored in windows of blockSize bytes that each predict at
 * most ceil(blockSize / 2) new bytes, so every continuation byte is predicted
 * from at least floor(blockSize / 2) + 1 bytes before it. (One window per item,
 * cut to fit, would predict the first bytes of a long continuation from almost
 * no context: at blockSize 128 a typical 96-byte next-sentence choice would start
 * from 33 bytes, and a choice longer than 128 bytes from one.) A continuation of
 * up to ceil(blockSize / 2) bytes always gets one window, exactly as if the
 * context had been cut to fit.
 */
export async function scoreContinuations(
  model: ScoringModel,
  items: readonly Continuation[],
  { batchSize = 32, ...options }: EvalOptions = {}
): Promise<number[]> {
  const { rows, owner } = continuationRows(checkBlockSize(model), items);
  const sums = await sumLogProbs(model, rows, { batchSize, ...options });
  const scores = new Array<number>(items.length).fill(0);
  sums.forEach((s, r) => (scores[owner[r]] += s));
  return scores;
}

/** The windows scoreContinuations scores, and for each the item it belongs to. */
export function continuationRows(T: number, items: readonly Continuation[]): { rows: Row[]; owner: number[] } {
  const prefix = encodeText(EMPTY_CONTEXT_PREFIX);
  const rows: Row[] = [];
  const owner: number[] = [];
  items.forEach(({ context, continuation }, i) => {
    if (continuation.length === 0) throw new RangeError(`item ${i} has an empty continuation; there is nothing to score.`);
    const ctx = context.length > 0 ? context : prefix;
    const seq = new Uint8Array(ctx.length + continuation.length);
    seq.set(ctx);
    seq.set(continuation, ctx.length);
    // A window ids = seq[start..b) predicts the targets seq[a..b) from x = seq[start..b-1).
    const stride = seq.length <= T + 1 ? T : T - Math.floor(T / 2);
    for (let a = ctx.length; a < seq.length; ) {
      const b = Math.min(seq.length, a + stride);
      const start = Math.max(0, b - 1 - T);
      rows.push({ ids: seq.subarray(start, b), first: a - start - 1 });
      owner.push(i);
      a = b;
    }
  });
  return { rows, owner };
}

// ---------------------------------------------------------------------------
// Minimal pairs

export interface AccuracyCount {
  accuracy: number;
  n: number;
}

export interface MinimalPairsResult extends AccuracyCount {
  byType: Record<string, AccuracyCount>;
}

/**
 * A pair is correct when the summed log-probability of `good` is strictly
 * higher than that of `bad` (a tie counts as wrong), both scored after the same
 * EMPTY_CONTEXT_PREFIX.
 */
export async function minimalPairs(model: ScoringModel, pairs: readonly MinimalPair[], options: EvalOptions = {}): Promise<MinimalPairsResult> {
  if (pairs.length === 0) throw new RangeError("minimalPairs got no pairs; load a set with loadEvalSet(\"minimal-pairs\").");
  const prefix = encodeText(EMPTY_CONTEXT_PREFIX);
  const items = pairs.flatMap((p) => [
    { context: prefix, continuation: encodeText(p.good) },
    { context: prefix, continuation: encodeText(p.bad) }
  ]);
  const scores = await scoreContinuations(model, items, options);
  return minimalPairsResult(pairs.map((p, i) => ({ type: p.type, correct: scores[2 * i] > scores[2 * i + 1] })));
}

/** Accuracy overall and by type from each pair's outcome. */
export function minimalPairsResult(outcomes: readonly { type: string; correct: boolean }[]): MinimalPairsResult {
  const counts: Record<string, { correct: number; n: number }> = {};
  let correct = 0;
  for (const o of outcomes) {
    const ok = o.correct ? 1 : 0;
    correct += ok;
    const c = (counts[o.type] ??= { correct: 0, n: 0 });
    c.correct += ok;
    c.n += 1;
  }
  const byType: Record<string, AccuracyCount> = {};
  for (const [type, c] of Object.entries(counts)) byType[type] = { accuracy: c.correct / c.n, n: c.n };
  return { accuracy: outcomes.length ? correct / outcomes.length : NaN, n: outcomes.length, byType };
}

// ---------------------------------------------------------------------------
// Next sentence

export interface NextSentenceResult {
  /** Accuracy when each choice's log-probability is divided by its length in bytes: the number to report. */
  accNorm: number;
  /** Accuracy by summed log-probability, which favours short choices. */
  acc: number;
  n: number;
}

/**
 * Each choice is scored by its log-probability given `context + " "`; the
 * prediction is the highest score (the first one on a tie).
 */
export async function nextSentence(model: ScoringModel, items: readonly NextSentenceItem[], options: EvalOptions = {}): Promise<NextSentenceResult> {
  if (items.length === 0) throw new RangeError("nextSentence got no items; load a set with loadEvalSet(\"next-sentence\").");
  if (items.some((item) => item.choices.length !== 4)) throw new RangeError("nextSentence needs four choices per item.");
  const continuations = items.flatMap(nextSentenceContinuations);
  const scores = await scoreContinuations(model, continuations, options);
  return nextSentenceResult(items.map((item, i) => nextSentencePicks(item, scores.slice(4 * i, 4 * i + 4))));
}

/** The choices next-sentence contexts are followed by, as scoreContinuations reads them. */
export function nextSentenceContinuations(item: NextSentenceItem): Continuation[] {
  const context = encodeText(item.context + " ");
  return item.choices.map((choice) => ({ context, continuation: encodeText(choice) }));
}

/** What one item's choice scores (summed log-probabilities, nats) pick, by sum (acc) and per byte (acc_norm). */
export interface NextSentencePick {
  label: number;
  pickRaw: number;
  pickNorm: number;
}

export function nextSentencePicks(item: NextSentenceItem, raw: readonly number[]): NextSentencePick {
  const norm = raw.map((s, j) => s / encodeText(item.choices[j]).length);
  return { label: item.label, pickRaw: argmax(raw), pickNorm: argmax(norm) };
}

export function nextSentenceResult(picks: readonly NextSentencePick[]): NextSentenceResult {
  let acc = 0;
  let accNorm = 0;
  for (const p of picks) {
    if (p.pickRaw === p.label) acc++;
    if (p.pickNorm === p.label) accNorm++;
  }
  return { accNorm: picks.length ? accNorm / picks.length : NaN, acc: picks.length ? acc / picks.length : NaN, n: picks.length };
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// ---------------------------------------------------------------------------
// The one routine that calls the model

function checkBlockSize(model: ScoringModel): number {
  const T = model.blockSize;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`the model's blockSize must be a positive integer (got ${T}).`);
  return T;
}

/** The summed log-probability (nats) of each row's counted targets. */
export async function sumLogProbs(
  model: ScoringModel,
  rows: readonly Row[],
  { batchSize = 32, onProgress, signal, afterBatch }: EvalOptions = {}
): Promise<Float64Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize}).`);
  const T = model.blockSize;
  const sums = new Float64Array(rows.length);
  // Longest rows first, so each batch holds rows of similar length and little padding.
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].ids.length - rows[a].ids.length);
  const B = Math.min(batchSize, rows.length); // one batch height throughout; short batches get empty rows
  for (let start = 0; start < order.length; start += B) {
    signal?.throwIfAborted();
    const batch = order.slice(start, start + B);
    const W = Math.min(T, Math.ceil((rows[batch[0]].ids.length - 1) / WIDTH_STEP) * WIDTH_STEP);
    const x = new Int32Array(B * W).fill(PAD);
    const y = new Int32Array(B * W).fill(PAD);
    batch.forEach((r, b) => {
      const ids = rows[r].ids;
      for (let t = 0; t < ids.length - 1; t++) {
        x[b * W + t] = ids[t];
        y[b * W + t] = ids[t + 1];
      }
    });
    const logp = tf.tidy(() => model.tokenLogProbs(tf.tensor2d(x, [B, W], "int32"), tf.tensor2d(y, [B, W], "int32")));
    let values: Float32Array | Int32Array | Uint8Array;
    try {
      if (logp.shape.length !== 2 || logp.shape[0] !== B || logp.shape[1] !== W) {
        throw new Error(`tokenLogProbs returned shape [${logp.shape}] for inputs of shape [${B}, ${W}]; it must return one log-probability per input position.`);
      }
      values = await logp.data();
    } finally {
      logp.dispose();
    }
    batch.forEach((r, b) => {
      const { ids, first } = rows[r];
      let s = 0;
      for (let t = first; t < ids.length - 1; t++) s += values[b * W + t];
      if (Number.isNaN(s)) throw new Error("the model returned NaN log-probabilities; its weights have probably diverged (try a lower learning rate).");
      if (!Number.isFinite(s)) throw new Error("the model gives a byte of the text probability 0 (log-probability -Infinity), so its bits per byte are infinite; a scored model must give every byte some probability.");
      sums[r] = s;
    });
    onProgress?.(Math.min(start + B, rows.length), rows.length);
    if (afterBatch) await afterBatch();
  }
  return sums;
}
