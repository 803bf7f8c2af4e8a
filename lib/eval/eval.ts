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
interface Row {
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
  { maxBytes, batchSize = 16, onProgress }: EvalOptions & { maxBytes?: number } = {}
): Promise<number> {
  const T = checkBlockSize(model);
  const text = maxBytes === undefined ? bytes : bytes.subarray(0, maxBytes);
  if (text.length < 2) {
    throw new RangeError(`bitsPerByte needs at least 2 bytes of text (got ${text.length}); give the validation or test bytes of a corpus.`);
  }
  const rows: Row[] = [];
  for (let i = 0; i < text.length - 1; i += T) rows.push({ ids: text.subarray(i, Math.min(i + T + 1, text.length)), first: 0 });
  const sums = await sumLogProbs(model, rows, { batchSize, onProgress });
  let total = 0;
  for (const s of sums) total += s;
  return -total / (text.length - 1) / Math.LN2;
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
  { batchSize = 32, onProgress }: EvalOptions = {}
): Promise<number[]> {
  const T = checkBlockSize(model);
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
  const sums = await sumLogProbs(model, rows, { batchSize, onProgress });
  const scores = new Array<number>(items.length).fill(0);
  sums.forEach((s, r) => (scores[owner[r]] += s));
  return scores;
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
  const counts: Record<string, { correct: number; n: number }> = {};
  let correct = 0;
  pairs.forEach((p, i) => {
    const ok = scores[2 * i] > scores[2 * i + 1] ? 1 : 0;
    correct += ok;
    const c = (counts[p.type] ??= { correct: 0, n: 0 });
    c.correct += ok;
    c.n += 1;
  });
  const byType: Record<string, AccuracyCount> = {};
  for (const [type, c] of Object.entries(counts)) byType[type] = { accuracy: c.correct / c.n, n: c.n };
  return { accuracy: correct / pairs.length, n: pairs.length, byType };
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
  const continuations = items.flatMap((item) => {
    const context = encodeText(item.context + " ");
    return item.choices.map((choice) => ({ context, continuation: encodeText(choice) }));
  });
  const scores = await scoreContinuations(model, continuations, options);
  let acc = 0;
  let accNorm = 0;
  items.forEach((item, i) => {
    const k = item.choices.length;
    const raw = scores.slice(k * i, k * i + k);
    const norm = raw.map((s, j) => s / continuations[k * i + j].continuation.length);
    if (argmax(raw) === item.label) acc++;
    if (argmax(norm) === item.label) accNorm++;
  });
  return { accNorm: accNorm / items.length, acc: acc / items.length, n: items.length };
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
async function sumLogProbs(
  model: ScoringModel,
  rows: readonly Row[],
  { batchSize, onProgress }: { batchSize: number; onProgress?: EvalOptions["onProgress"] }
): Promise<Float64Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize}).`);
  const T = model.blockSize;
  const sums = new Float64Array(rows.length);
  // Longest rows first, so each batch holds rows of similar length and little padding.
  const order = rows.map((_, i) => i).sort((a, b) => rows[b].ids.length - rows[a].ids.length);
  const B = Math.min(batchSize, rows.length); // one batch height throughout; short batches get empty rows
  for (let start = 0; start < order.length; start += B) {
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
      sums[r] = s;
    });
    onProgress?.(Math.min(start + B, rows.length), rows.length);
  }
  return sums;
}
