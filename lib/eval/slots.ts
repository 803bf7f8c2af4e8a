// Bits per byte by position inside a chunk: slot 0 is the first byte of a chunk,
// slot i the (i+1)-th. For the STLM paper's parallel decoder, slot i predicts its
// byte with the i bytes just before it hidden (only earlier chunks are read), so
// the per-slot numbers show the cost of that design (compare lib/eval/ngram.ts's
// gap-i n-gram); a causal decoder should be flat across slots.
//
// The bytes are scored exactly as lib/eval/eval.ts's bitsPerByte scores them (the
// same non-overlapping windows of blockSize, every byte but the first), so the
// slots' byte-weighted mean is the model's bits/byte. A chunk's end mark is part
// of the next chunk's first byte (see lib/models/pooled.ts), so under strategies with
// short chunks slot 0 carries it; stride chunks that fill the chunk window have none.
import { tf } from "../tf.js";
import { PAD } from "../text/tokenizer.js";
import type { Span } from "../text/boundaries.js";
import type { ScoringModel } from "./eval.js";

export interface SlotScore {
  slot: number;
  bitsPerByte: number;
  bytes: number;
}

/**
 * Mean bits of the bytes at each slot: `bits[k]` is byte k's code length in
 * bits, `slots[k]` its position inside its chunk (negative: not scored). Slots
 * from 0 to the largest seen; one with no bytes has NaN bits.
 */
export function slotMeans(bits: ArrayLike<number>, slots: ArrayLike<number>): SlotScore[] {
  if (bits.length !== slots.length) throw new RangeError(`bits (${bits.length}) and slots (${slots.length}) must have one entry per byte`);
  const sums: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < bits.length; k++) {
    const s = slots[k];
    if (s < 0) continue;
    while (sums.length <= s) {
      sums.push(0);
      counts.push(0);
    }
    sums[s] += bits[k];
    counts[s] += 1;
  }
  return sums.map((sum, slot) => ({ slot, bitsPerByte: counts[slot] ? sum / counts[slot] : NaN, bytes: counts[slot] }));
}

/** Each byte's position inside its chunk, for n bytes covered by `spans`. */
export function slotIndex(spans: readonly Span[], n: number): Int32Array {
  const out = new Int32Array(n).fill(-1);
  for (const [s, e] of spans) for (let i = s; i < e && i < n; i++) out[i] = i - s;
  return out;
}

/** A byte scorer that can also say where its chunks are (PooledLM does). */
export interface ChunkedScorer extends ScoringModel {
  boundaries(bytes: Uint8Array): Promise<Span[]>;
}

/**
 * Bits/byte of `bytes` (the first maxBytes) per slot, and overall. Windows are
 * those of bitsPerByte: x = bytes[i .. i+T), y = bytes[i+1 .. i+T], each window
 * cut into chunks on its own, as the model sees it.
 */
export async function slotBitsPerByte(
  model: ChunkedScorer,
  bytes: Uint8Array,
  { maxBytes, batchSize = 16 }: { maxBytes?: number; batchSize?: number } = {}
): Promise<{ bitsPerByte: number; slots: SlotScore[] }> {
  const T = model.blockSize;
  const text = maxBytes === undefined ? bytes : bytes.subarray(0, maxBytes);
  if (text.length < 2) throw new RangeError(`slotBitsPerByte needs at least 2 bytes of text (got ${text.length})`);
  const windows: Uint8Array[] = [];
  for (let i = 0; i < text.length - 1; i += T) windows.push(text.subarray(i, Math.min(i + T + 1, text.length)));
  const bits: number[] = [];
  const slots: number[] = [];
  for (let start = 0; start < windows.length; start += batchSize) {
    const rows = windows.slice(start, start + batchSize);
    const B = rows.length;
    const x = new Int32Array(B * T).fill(PAD);
    const y = new Int32Array(B * T).fill(PAD);
    rows.forEach((r, b) => {
      for (let t = 0; t < r.length - 1; t++) {
        x[b * T + t] = r[t];
        y[b * T + t] = r[t + 1];
      }
    });
    const lp = tf.tidy(() => model.tokenLogProbs(tf.tensor2d(x, [B, T], "int32"), tf.tensor2d(y, [B, T], "int32")));
    const values = (await lp.data()) as Float32Array;
    lp.dispose();
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      const index = slotIndex(await model.boundaries(r), r.length);
      for (let t = 0; t < r.length - 1; t++) {
        bits.push(-values[b * T + t] / Math.LN2);
        slots.push(index[t + 1]);
      }
    }
  }
  const total = bits.reduce((a, b) => a + b, 0);
  return { bitsPerByte: total / bits.length, slots: slotMeans(bits, slots) };
}
