// A byte-level BPE tokenizer that lib/ trains itself, on a corpus's training split.
//
// Ids 0..255 are the bytes; id 256 + i is merge i, the concatenation of two
// earlier ids. Text is first cut into pieces (a word with the one space before
// it, a run of digits, a run of punctuation, a run of whitespace; as GPT-2's
// pre-tokenizer does, without its regex), and merges never cross a piece, so a
// token never spans two words. Any byte string encodes (the 256 bytes are in
// the vocabulary) and decodes back exactly.
import { ConfigError } from "../config.js";

/** A trained tokenizer: `merges[i]` = [left, right] makes token 256 + i. */
export interface Bpe {
  vocabSize: number;
  merges: [number, number][];
}

/** Checks a Bpe read from a file: a vocabulary of 256 bytes + one token per merge, each merge of earlier tokens. */
export function validateBpe(bpe: Bpe): Bpe {
  const bad = (rule: string, got: unknown) => {
    throw new ConfigError("bpe", `${rule} (got ${JSON.stringify(got)?.slice(0, 80)})`);
  };
  if (typeof bpe !== "object" || bpe === null) bad("must be an object {vocabSize, merges}", bpe);
  if (!Array.isArray(bpe.merges)) bad("merges must be a list of [left, right] token pairs", bpe.merges);
  if (!(Number.isInteger(bpe.vocabSize) && bpe.vocabSize === 256 + bpe.merges.length)) bad(`vocabSize must be 256 + the number of merges = ${256 + bpe.merges.length}`, bpe.vocabSize);
  if (bpe.vocabSize > MAX_BPE_VOCAB) bad(`vocabSize must be at most ${MAX_BPE_VOCAB}`, bpe.vocabSize);
  bpe.merges.forEach((m, i) => {
    if (!(Array.isArray(m) && m.length === 2 && m.every((t) => Number.isInteger(t) && t >= 0 && t < 256 + i))) bad(`merge ${i} must be two ids of earlier tokens (< ${256 + i})`, m);
  });
  return bpe;
}

/** The largest BPE vocabulary a lab model reads (its embedding grows with it). */
export const MAX_BPE_VOCAB = 65536;

const enum ByteClass {
  Letter,
  Digit,
  Space,
  Other
}

function byteClass(b: number): ByteClass {
  if ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b >= 0x80) return ByteClass.Letter; // bytes >= 0x80 are parts of non-ASCII characters
  if (b >= 0x30 && b <= 0x39) return ByteClass.Digit;
  if (b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d || b === 0x0b || b === 0x0c) return ByteClass.Space;
  return ByteClass.Other;
}

/**
 * Cut bytes into pre-tokenizer pieces, as [start, end) offsets covering every
 * byte once, in order. A piece is a run of one class (letters and non-ASCII
 * bytes, digits, whitespace, other); a single space before a non-space run
 * joins that run, as in GPT-2 (" the", " 1999", " —").
 */
export function pieces(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const start = i;
    let cls = byteClass(bytes[i]);
    if (bytes[i] === 0x20 && i + 1 < n && byteClass(bytes[i + 1]) !== ByteClass.Space) {
      i += 1; // a leading space joins the run after it
      cls = byteClass(bytes[i]);
    }
    if (cls === ByteClass.Space) {
      while (i < n && byteClass(bytes[i]) === ByteClass.Space) i++;
      // Leave a final space to the word after it (" \n  word" -> " \n ", " word").
      if (i < n && i - start > 1 && bytes[i - 1] === 0x20) i -= 1;
    } else {
      while (i < n && byteClass(bytes[i]) === cls) i++;
    }
    out.push([start, i]);
  }
  return out;
}

/** A piece's bytes as a string key, one char per byte (in slices: spreading a long piece would overflow the stack). */
function pieceKey(bytes: Uint8Array, s: number, e: number): string {
  let k = "";
  for (let i = s; i < e; i += 4096) k += String.fromCharCode(...bytes.subarray(i, Math.min(e, i + 4096)));
  return k;
}

/**
 * Learn merges from `bytes` until the vocabulary has `vocabSize` ids (or no pair
 * occurs twice). Each step merges the most frequent adjacent pair, counted over
 * distinct pieces weighted by their frequency; ties go to the smaller pair
 * (left id, then right id), so training is deterministic.
 */
export function trainBpe(bytes: Uint8Array, vocabSize: number): Bpe {
  if (!Number.isInteger(vocabSize) || vocabSize < 256) throw new RangeError(`vocabSize must be an integer >= 256 (got ${vocabSize}); 256 is bytes alone.`);
  const counts = new Map<string, number>();
  for (const [s, e] of pieces(bytes)) {
    const k = pieceKey(bytes, s, e);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [k, c] of counts) {
    words.push(Array.from(k, (ch) => ch.charCodeAt(0)));
    freqs.push(c);
  }
  const merges: [number, number][] = [];
  while (256 + merges.length < vocabSize) {
    const pairs = new Map<number, number>(); // key left * 2^16 + right
    for (let w = 0; w < words.length; w++) {
      const ids = words[w];
      for (let i = 0; i + 1 < ids.length; i++) {
        const key = ids[i] * 65536 + ids[i + 1];
        pairs.set(key, (pairs.get(key) ?? 0) + freqs[w]);
      }
    }
    let best = -1;
    let bestCount = 1;
    for (const [key, c] of pairs) if (c > bestCount || (c === bestCount && best >= 0 && key < best)) [best, bestCount] = [key, c];
    if (best < 0) break; // nothing occurs twice: the vocabulary is as large as this text supports
    const left = Math.floor(best / 65536);
    const right = best % 65536;
    const id = 256 + merges.length;
    merges.push([left, right]);
    for (let w = 0; w < words.length; w++) words[w] = mergePair(words[w], left, right, id);
  }
  return { vocabSize: 256 + merges.length, merges };
}

function mergePair(ids: number[], left: number, right: number, id: number): number[] {
  let j = ids.indexOf(left);
  if (j < 0 || j + 1 >= ids.length) return ids;
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === left && ids[i + 1] === right) {
      out.push(id);
      i++;
    } else out.push(ids[i]);
  }
  return out;
}

/** An encoder/decoder for a trained Bpe, with a cache of encoded pieces. */
export class BpeTokenizer {
  readonly vocabSize: number;
  private readonly ranks = new Map<number, number>(); // pair key -> merge index
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();

  constructor(readonly bpe: Bpe) {
    this.vocabSize = bpe.vocabSize;
    this.tokenBytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    bpe.merges.forEach(([l, r], i) => {
      if (!(l < 256 + i && r < 256 + i)) throw new RangeError(`merge ${i} refers to a token that does not exist yet ([${l}, ${r}]); the BPE is damaged.`);
      this.ranks.set(l * 65536 + r, i);
      const a = this.tokenBytes[l];
      const b = this.tokenBytes[r];
      const t = new Uint8Array(a.length + b.length);
      t.set(a);
      t.set(b, a.length);
      this.tokenBytes.push(t);
    });
  }

  /** The bytes token `id` stands for. */
  bytesOf(id: number): Uint8Array {
    const t = this.tokenBytes[id];
    if (!t) throw new RangeError(`token id ${id} is outside this vocabulary of ${this.vocabSize}`);
    return t;
  }

  /** Token ids for the bytes. */
  encode(bytes: Uint8Array): number[] {
    const out: number[] = [];
    for (const [s, e] of pieces(bytes)) for (const id of this.encodePiece(bytes, s, e)) out.push(id);
    return out;
  }

  /** Token ids with the byte span each covers. */
  encodeWithSpans(bytes: Uint8Array): { ids: number[]; spans: [number, number][] } {
    const ids = this.encode(bytes);
    const spans: [number, number][] = [];
    let at = 0;
    for (const id of ids) {
      const n = this.tokenBytes[id].length;
      spans.push([at, at + n]);
      at += n;
    }
    return { ids, spans };
  }

  decode(ids: ArrayLike<number>): Uint8Array {
    let n = 0;
    for (let i = 0; i < ids.length; i++) n += this.bytesOf(ids[i]).length;
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenBytes[ids[i]];
      out.set(t, at);
      at += t.length;
    }
    return out;
  }

  /** Apply merges inside one piece, lowest merge index first (the order they were learned). */
  private encodePiece(bytes: Uint8Array, s: number, e: number): number[] {
    const key = pieceKey(bytes, s, e);
    const hit = this.cache.get(key);
    if (hit) return hit;
    let ids = Array.from(bytes.subarray(s, e));
    for (;;) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(ids[i] * 65536 + ids[i + 1]);
        if (r !== undefined && r < bestRank) [bestRank, bestAt] = [r, i];
      }
      if (bestAt < 0) break;
      const [l, r] = this.bpe.merges[bestRank];
      ids = mergePair(ids, l, r, 256 + bestRank);
    }
    if (this.cache.size < 100_000) this.cache.set(key, ids);
    return ids;
  }
}
