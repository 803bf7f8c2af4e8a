// Boundary strategies: pure functions from bytes to chunk spans. A pooled model
// reads bytes, pools each chunk into one vector and runs its transformer over
// chunks; these functions say where the chunks are.
//
// Every strategy returns spans [start, end) that cover every byte exactly once,
// in order, each at least 1 and at most its maxLen bytes long; empty input gives
// no spans. (Learned boundaries also keep chunks at least minLen long, except
// the last chunk of an input, which ends where the input ends.)
import { pieces, type BpeTokenizer } from "./bpe.js";

/** [start, end) byte offsets of one chunk. */
export type Span = [number, number];

export const STRATEGIES = ["stride", "word", "bpe", "gpt2", "learned"] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** The STLM paper's chunk window: at most 12 bytes per chunk. */
export const DEFAULT_MAX_CHUNK = 12;

/** Fixed stride: chunks of k bytes (the last one shorter). */
export function strideSpans(n: number, k: number): Span[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`the stride must be a whole number >= 1 (got ${k})`);
  const out: Span[] = [];
  for (let s = 0; s < n; s += k) out.push([s, Math.min(n, s + k)]);
  return out;
}

/** Words: the pre-tokenizer pieces of lib/text/bpe.ts (a word with the space before it, a number, punctuation, whitespace). */
export function wordSpans(bytes: Uint8Array, maxLen = DEFAULT_MAX_CHUNK): Span[] {
  return splitLong(bytes, pieces(bytes), maxLen);
}

/** Tokens of a BPE that lib/ trained (lib/text/bpe.ts); a token longer than maxLen is cut. */
export function bpeSpans(bytes: Uint8Array, tokenizer: BpeTokenizer, maxLen = DEFAULT_MAX_CHUNK): Span[] {
  return splitLong(bytes, tokenizer.encodeWithSpans(bytes).spans, maxLen);
}

/**
 * Cut spans longer than maxLen into pieces of at most maxLen bytes, each cut
 * moved back to the start of a UTF-8 character when there is one to move to, so
 * a long word is not cut inside a character unless a character is all there is.
 */
export function splitLong(bytes: Uint8Array, spans: readonly Span[], maxLen: number): Span[] {
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new RangeError(`maxLen must be a whole number >= 1 (got ${maxLen})`);
  const out: Span[] = [];
  for (const [s, e] of spans) {
    let a = s;
    while (e - a > maxLen) {
      let b = a + maxLen;
      while (b > a + 1 && (bytes[b] & 0xc0) === 0x80) b--;
      out.push([a, b]);
      a = b;
    }
    if (e > a) out.push([a, e]);
  }
  return out;
}

export interface LearnedLimits {
  /** Shortest chunk (the last chunk of an input may be shorter). */
  minLen: number;
  /** Longest chunk: a boundary is forced after this many bytes. */
  maxLen: number;
  /** A boundary probability at or above this ends a chunk. */
  threshold: number;
}

export const DEFAULT_LEARNED_LIMITS: LearnedLimits = { minLen: 3, maxLen: 16, threshold: 0.5 };

/**
 * Learned boundaries from a predictor's probabilities: `probs[i]` is the
 * probability that a chunk ends after byte i. A chunk ends after byte i when it
 * is at least minLen long and probs[i] >= threshold, or when it reaches maxLen.
 */
export function learnedSpans(probs: ArrayLike<number>, limits: Partial<LearnedLimits> = {}): Span[] {
  const { minLen, maxLen, threshold } = { ...DEFAULT_LEARNED_LIMITS, ...limits };
  if (!(Number.isInteger(minLen) && Number.isInteger(maxLen) && minLen >= 1 && maxLen >= minLen)) {
    throw new RangeError(`need whole numbers 1 <= minLen <= maxLen (got minLen ${minLen}, maxLen ${maxLen})`);
  }
  const out: Span[] = [];
  let start = 0;
  for (let i = 0; i < probs.length; i++) {
    const len = i - start + 1;
    if (len >= maxLen || (len >= minLen && probs[i] >= threshold)) {
      out.push([start, i + 1]);
      start = i + 1;
    }
  }
  if (start < probs.length) out.push([start, probs.length]);
  return out;
}

/** Chunk lengths, for histograms. */
export function spanLengths(spans: readonly Span[]): number[] {
  return spans.map(([s, e]) => e - s);
}

/**
 * Check that spans cover n bytes exactly once, in order, each within [1, maxLen];
 * returns the first problem found, or null.
 */
export function checkSpans(spans: readonly Span[], n: number, maxLen = Infinity): string | null {
  let at = 0;
  for (let i = 0; i < spans.length; i++) {
    const [s, e] = spans[i];
    if (s !== at) return `span ${i} starts at ${s}, expected ${at}`;
    if (e <= s) return `span ${i} is empty or reversed ([${s}, ${e}))`;
    if (e - s > maxLen) return `span ${i} is ${e - s} bytes, longer than ${maxLen}`;
    at = e;
  }
  return at === n ? null : `spans end at ${at}, expected ${n}`;
}
