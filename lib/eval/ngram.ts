// Byte n-grams with a gap: the ceiling of a decoder that cannot see the bytes
// just before the one it predicts.
//
// The STLM paper's parallel decoder predicts byte i of a chunk from the pooled
// summaries of earlier chunks only, so the last i bytes before it are hidden
// from it. A gap-g n-gram is the same handicap on a count model: the byte at t
// is predicted from the (order - 1) bytes that END g bytes before it,
// bytes[t-g-order+1 .. t-g-1], never from bytes[t-g .. t-1]. Its bits/byte at
// g = i is a reference point for slot i of a stride pooled model. It is not a
// bound on a neural model (which also reads farther back), but on a few
// megabytes of text a smoothed count model is about as good as local context
// gets at this size, and it shows how fast a growing gap costs.
//
// Smoothing: interpolated Witten-Bell over context lengths order-1 .. 0, down
// to the uniform distribution over 256 bytes:
//   P_0(w)   = (c(w) + N1 / 256) / (N + N1)                      N1: distinct bytes seen
//   P_k(w|h) = (c(h w) + N1(h) P_{k-1}(w|h')) / (c(h) + N1(h))   h' drops h's byte farthest from w
// and P_k = P_{k-1} for a context never seen. Pure TypeScript; only
// ngramScorer (the n-gram as a ScoringModel, for the evaluation's floors)
// touches tensors.
import type { Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import type { ScoringModel } from "./eval.js";

export interface GapNgram {
  /** n: the context holds order - 1 bytes. */
  readonly order: number;
  /** Bytes skipped between the context and the byte predicted. */
  readonly gap: number;
  /** unigram[w]: count of byte w; total: their sum. */
  readonly unigram: Float64Array;
  readonly total: number;
  /** Distinct bytes seen (N1 of the unigram). */
  readonly distinct: number;
  /** For k = 1 .. order-1 (index k - 1): counts of (context, byte) keyed context * 256 + byte. */
  readonly pairs: Map<number, number>[];
  /** For k = 1 .. order-1: per context, [count, distinct following bytes]. */
  readonly contexts: Map<number, [number, number]>[];
}

/** The k bytes ending at `end - 1` as one number, the farthest byte most significant. */
function contextKey(bytes: Uint8Array, end: number, k: number): number {
  let h = 0;
  for (let i = end - k; i < end; i++) h = h * 256 + bytes[i];
  return h;
}

/** Count a gap n-gram over `bytes` (a corpus's training split). */
export function trainGapNgram(bytes: Uint8Array, { order = 4, gap = 0 }: { order?: number; gap?: number } = {}): GapNgram {
  if (!Number.isInteger(order) || order < 1 || order > 6) throw new RangeError(`order must be a whole number from 1 to 6 (a context of at most 5 bytes, so keys stay exact integers) (got ${order})`);
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`gap must be a whole number >= 0 (got ${gap})`);
  const unigram = new Float64Array(256);
  for (let t = 0; t < bytes.length; t++) unigram[bytes[t]] += 1;
  const pairs: Map<number, number>[] = [];
  const contexts: Map<number, [number, number]>[] = [];
  for (let k = 1; k < order; k++) {
    const pk = new Map<number, number>();
    const ck = new Map<number, [number, number]>();
    for (let t = gap + k; t < bytes.length; t++) {
      const h = contextKey(bytes, t - gap, k);
      const key = h * 256 + bytes[t];
      const seen = pk.get(key) ?? 0;
      pk.set(key, seen + 1);
      const c = ck.get(h);
      if (c) {
        c[0] += 1;
        if (seen === 0) c[1] += 1;
      } else ck.set(h, [1, 1]);
    }
    pairs.push(pk);
    contexts.push(ck);
  }
  const distinct = unigram.reduce((n, c) => n + (c > 0 ? 1 : 0), 0);
  return { order, gap, unigram, total: bytes.length, distinct, pairs, contexts };
}

/**
 * p(bytes[t]) under the model, from the longest context that lies inside
 * `bytes` (a position near the start backs off to the shorter contexts it has).
 */
export function gapNgramProb(m: GapNgram, bytes: Uint8Array, t: number): number {
  const w = bytes[t];
  let p = (m.unigram[w] + m.distinct / 256) / (m.total + m.distinct);
  const end = t - m.gap; // the context is bytes[end - k .. end - 1]
  for (let k = 1; k < m.order && end - k >= 0; k++) {
    const h = contextKey(bytes, end, k);
    const c = m.contexts[k - 1].get(h);
    if (!c) continue;
    const [count, n1] = c;
    p = ((m.pairs[k - 1].get(h * 256 + w) ?? 0) + n1 * p) / (count + n1);
  }
  return p;
}

/** Mean -log2 p over bytes[first ..] (default: every byte but the first, as lib/eval/eval.ts's bitsPerByte scores). */
export function gapNgramBitsPerByte(m: GapNgram, bytes: Uint8Array, { first = 1 }: { first?: number } = {}): number {
  let bits = 0;
  for (let t = first; t < bytes.length; t++) bits -= Math.log2(gapNgramProb(m, bytes, t));
  return bits / Math.max(1, bytes.length - first);
}

/**
 * A gap n-gram as a lib/eval/eval.ts ScoringModel, so the evaluation's floors
 * are scored by exactly the rules a neural model is: log p(y[b,t] | x[b,0..t])
 * for each row, the context being the row's bytes up to t (a row never sees
 * the bytes before it, as a model's window does not). Positions whose target
 * is not a byte (padding) get 0. Reads its input back to the CPU: for
 * reference scores in Node, not for a training loop.
 */
export function ngramScorer(m: GapNgram, blockSize = 1024): ScoringModel {
  return {
    blockSize,
    tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
      const [B, T] = x.shape;
      const xs = x.dataSync();
      const ys = y.dataSync();
      const out = new Float32Array(B * T);
      const seq = new Uint8Array(T + 1);
      for (let b = 0; b < B; b++) {
        // seq = x[b,0], y[b,0], y[b,1], ...: the row's bytes, target t at seq[t + 1].
        seq[0] = xs[b * T];
        let n = 1;
        for (let t = 0; t < T && ys[b * T + t] < 256 && xs[b * T + t] < 256; t++) seq[n++] = ys[b * T + t];
        const row = seq.subarray(0, n);
        for (let t = 0; t + 1 < n; t++) out[b * T + t] = Math.log(gapNgramProb(m, row, t + 1));
      }
      return tf.tensor2d(out, [B, T]);
    }
  };
}
