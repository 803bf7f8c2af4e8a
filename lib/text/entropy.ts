// Entropy boundaries (Byte Latent Transformer, Pagnoni et al. 2024, arXiv
// 2412.09871): a small byte model's uncertainty about the next byte marks where a
// chunk should start. Where the next byte is hard to guess (the start of a word,
// after punctuation) a new chunk begins; inside a predictable run the chunk goes on.
//
// BLT's entropy model is a small transformer; the lab's is smaller still: a byte
// trigram (two bytes of context) counted on the training split, backing off to one
// byte of context where a pair was seen too rarely. It is cheap, exact to
// reproduce, and, like BLT's, reads only bytes before the one it scores, so a
// boundary before byte t depends on bytes < t: a model cut this way never sees
// the byte it predicts (the leak tests check this).
import type { Span } from "./boundaries.js";

export interface EntropyModel {
  /** Next-byte entropy (bits) after a two-byte context a*256+b, for the pairs seen often enough; sorted by context. */
  contexts: number[];
  entropies: number[];
  /** Entropy after a one-byte context, for every byte (the back-off). */
  afterByte: number[];
  /** Boundary rule: "global" starts a chunk where H(t) > threshold, "relative" where H(t) - H(t-1) > threshold. */
  mode: "global" | "relative";
  threshold: number;
}

/** Contexts seen fewer times than this back off to one byte of context. */
const MIN_COUNT = 8;
/** Add-alpha smoothing of the next-byte counts (over 256 values). */
const ALPHA = 0.1;

function entropyOf(counts: Float64Array | Uint32Array, offset: number, total: number): number {
  const denom = total + 256 * ALPHA;
  let h = 0;
  for (let v = 0; v < 256; v++) {
    const p = (counts[offset + v] + ALPHA) / denom;
    h -= p * Math.log2(p);
  }
  return h;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Counts a trigram entropy model on `bytes` and sets its threshold so chunks average `meanChunk` bytes there. */
export function trainEntropyModel(bytes: Uint8Array, { mode = "global", meanChunk = 4 }: { mode?: "global" | "relative"; meanChunk?: number } = {}): EntropyModel {
  // Counts only for the pairs that occur (a few thousand in English text, of 65,536).
  const pair = new Map<number, Uint32Array>();
  for (let i = 2; i < bytes.length; i++) {
    const c = (bytes[i - 2] << 8) | bytes[i - 1];
    let row = pair.get(c);
    if (!row) pair.set(c, (row = new Uint32Array(256)));
    row[bytes[i]]++;
  }
  const single = new Uint32Array(256 * 256);
  for (let i = 1; i < bytes.length; i++) single[bytes[i - 1] * 256 + bytes[i]]++;
  const afterByte: number[] = [];
  for (let a = 0; a < 256; a++) {
    let total = 0;
    for (let v = 0; v < 256; v++) total += single[a * 256 + v];
    afterByte.push(round3(entropyOf(single, a * 256, total)));
  }
  const contexts: number[] = [];
  const entropies: number[] = [];
  for (const c of [...pair.keys()].sort((a, b) => a - b)) {
    const row = pair.get(c)!;
    const total = row.reduce((n, v) => n + v, 0);
    if (total < MIN_COUNT) continue;
    contexts.push(c);
    entropies.push(round3(entropyOf(row, 0, total)));
  }
  const model: EntropyModel = { contexts, entropies, afterByte, mode, threshold: 0 };
  model.threshold = calibrateThreshold(model, bytes.subarray(0, Math.min(bytes.length, 1 << 20)), meanChunk);
  return model;
}

/** H(t) in bits for every byte t: the entropy of predicting byte t from the two bytes before it. */
export function byteEntropies(model: EntropyModel, bytes: Uint8Array): Float64Array {
  const table = new Map<number, number>();
  model.contexts.forEach((c, i) => table.set(c, model.entropies[i]));
  const out = new Float64Array(bytes.length); // float64, so a score equals the threshold it was calibrated to
  const uniform = 8;
  for (let t = 0; t < bytes.length; t++) {
    if (t === 0) out[t] = uniform;
    else if (t === 1) out[t] = model.afterByte[bytes[0]];
    else out[t] = table.get((bytes[t - 2] << 8) | bytes[t - 1]) ?? model.afterByte[bytes[t - 1]];
  }
  return out;
}

/** The score a boundary rule compares with the threshold at byte t. */
function score(h: Float64Array, t: number, mode: EntropyModel["mode"]): number {
  return mode === "global" ? h[t] : t === 0 ? Infinity : h[t] - h[t - 1];
}

/** Spans under entropy boundaries: a chunk starts at t when its score passes the threshold, or the chunk would pass maxLen. */
export function entropySpans(bytes: Uint8Array, model: EntropyModel, maxLen: number): Span[] {
  const h = byteEntropies(model, bytes);
  const out: Span[] = [];
  let start = 0;
  for (let t = 1; t < bytes.length; t++) {
    if (t - start >= maxLen || score(h, t, model.mode) > model.threshold) {
      out.push([start, t]);
      start = t;
    }
  }
  if (bytes.length > start) out.push([start, bytes.length]);
  return out;
}

/** The threshold at which about one byte in `meanChunk` starts a chunk on `bytes` (a chunk starts where the score is above it). */
export function calibrateThreshold(model: EntropyModel, bytes: Uint8Array, meanChunk: number): number {
  const h = byteEntropies(model, bytes);
  const scores = Array.from({ length: Math.max(0, bytes.length - 1) }, (_, i) => score(h, i + 1, model.mode)).sort((a, b) => b - a);
  if (scores.length === 0) return 0;
  const target = scores.length / meanChunk;
  // Scores tie (the table is rounded): of the distinct values, take the one that
  // leaves the count of scores above it closest to the target.
  let best = scores[0];
  let bestGap = Infinity;
  for (let i = 0; i < scores.length; i++) {
    if (i > 0 && scores[i] === scores[i - 1]) continue;
    const gap = Math.abs(i - target);
    if (gap < bestGap) [best, bestGap] = [scores[i], gap];
    if (i > target) break;
  }
  return best;
}

/** Checks an entropy model read from a file. */
export function validateEntropyModel(m: EntropyModel): string | null {
  if (typeof m !== "object" || m === null) return "must be an object";
  if (!(m.mode === "global" || m.mode === "relative")) return `mode must be "global" or "relative"`;
  if (!Number.isFinite(m.threshold)) return "threshold must be a number";
  if (!Array.isArray(m.afterByte) || m.afterByte.length !== 256 || !m.afterByte.every(Number.isFinite)) return "afterByte must be 256 numbers";
  if (!Array.isArray(m.contexts) || !Array.isArray(m.entropies) || m.contexts.length !== m.entropies.length || m.contexts.length > 65536) return "contexts and entropies must be lists of equal length (at most 65536)";
  if (!m.contexts.every((c) => Number.isInteger(c) && c >= 0 && c < 65536) || !m.entropies.every(Number.isFinite)) return "contexts must be two-byte contexts and entropies numbers";
  return null;
}
