// A language model as a game policy: the log-probability of the bytes of a move
// given the game's text, and moves sampled byte by byte for many games at once.
// Works for any model that maps byte ids to next-byte logits (TinyLM, and any
// kind with the same two methods): it never looks inside the model.
import type { Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { PAD } from "../text/tokenizer.js";
import type { Rng } from "../rng.js";
import type { NamedVariable } from "../train/optim.js";

export interface PolicyModel {
  readonly params: readonly NamedVariable[];
  readonly blockSize: number;
  /** ids int32 [B, T] -> next-byte logits [B, T, V]. */
  forward(ids: Tensor2D): { logits: Tensor3D };
  /** log p(y[b, t] | x[b, 0..t]) in nats, [B, T]. */
  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D;
}

/** One move as the policy wrote it (or would have): the game text it read and the bytes of the move. */
export interface MoveRow {
  prompt: Uint8Array;
  move: Uint8Array;
}

/**
 * log p(move | prompt) summed over the move's bytes, [B] (differentiable, inside
 * the caller's tidy). Every prompt has the same length; moves are padded after
 * their end, where the causal mask keeps the padding from reaching them.
 */
export function moveLogProbs(model: PolicyModel, rows: readonly MoveRow[]): Tensor1D {
  if (rows.length === 0) throw new Error("moveLogProbs needs at least one move");
  const P = rows[0].prompt.length;
  const M = Math.max(...rows.map((r) => r.move.length));
  if (M === 0) throw new Error("a move has at least one byte");
  const L = P + M - 1;
  if (L > model.blockSize) throw new Error(`a prompt of ${P} bytes and a move of ${M} need ${L} positions; the model's context is ${model.blockSize}`);
  const B = rows.length;
  const x = new Int32Array(B * L).fill(PAD);
  const y = new Int32Array(B * L).fill(PAD);
  const mask = new Float32Array(B * L);
  rows.forEach((r, b) => {
    if (r.prompt.length !== P) throw new Error(`prompts of one batch have one length (${P}); got ${r.prompt.length}`);
    const seq = [...r.prompt, ...r.move];
    for (let t = 0; t < Math.min(L, seq.length); t++) x[b * L + t] = seq[t];
    for (let t = 0; t < seq.length - 1; t++) y[b * L + t] = seq[t + 1];
    for (let j = 0; j < r.move.length; j++) mask[b * L + P - 1 + j] = 1;
  });
  return tf.tidy(() => {
    const lp = model.tokenLogProbs(tf.tensor2d(x, [B, L], "int32"), tf.tensor2d(y, [B, L], "int32")); // [B, L]
    return tf.sum(tf.mul(lp, tf.tensor2d(mask, [B, L])), 1) as Tensor1D;
  });
}

export interface SampleMovesOptions {
  /** The most bytes a move takes. */
  maxBytes: number;
  /** The byte that ends a move (kept in it); null: every move is maxBytes long. */
  end: number | null;
  /** 0: the most likely byte; 1: the model's distribution. */
  temperature: number;
  rng: Rng;
}

/** Draw one byte 0-255 (never PAD or EOT) from the row of logits at `offset`. */
export function drawByte(logits: Float32Array, offset: number, temperature: number, rng: Rng): number {
  let best = 0;
  for (let i = 1; i < 256; i++) if (logits[offset + i] > logits[offset + best]) best = i;
  if (temperature <= 0) return best;
  const max = logits[offset + best];
  let total = 0;
  const w = new Float64Array(256);
  for (let i = 0; i < 256; i++) total += w[i] = Math.exp((logits[offset + i] - max) / temperature);
  let r = rng.next() * total;
  for (let i = 0; i < 256; i++) {
    r -= w[i];
    if (r <= 0) return i;
  }
  return best;
}

/**
 * One move per prompt (all of one length), byte by byte, every row in one
 * forward pass per byte. A row ends at `end` or after maxBytes bytes. One
 * read-back per byte.
 */
export async function sampleMoves(model: PolicyModel, prompts: readonly Uint8Array[], options: SampleMovesOptions): Promise<Uint8Array[]> {
  const B = prompts.length;
  if (B === 0) return [];
  const P = prompts[0].length;
  if (P + options.maxBytes - 1 > model.blockSize) throw new Error(`a prompt of ${P} bytes and a move of ${options.maxBytes} need ${P + options.maxBytes - 1} positions; the model's context is ${model.blockSize}`);
  const seqs = prompts.map((p) => Array.from(p));
  const moves: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(false);
  for (let k = 0; k < options.maxBytes && done.some((d) => !d); k++) {
    const T = P + k;
    const ids = new Int32Array(B * T);
    seqs.forEach((s, b) => ids.set(s, b * T));
    const last = tf.tidy(() => {
      const { logits } = model.forward(tf.tensor2d(ids, [B, T], "int32"));
      const V = logits.shape[2];
      return tf.reshape(tf.slice(logits, [0, T - 1, 0], [B, 1, V]), [B, V]);
    });
    const V = last.shape[1]!;
    const values = (await last.data()) as Float32Array;
    last.dispose();
    for (let b = 0; b < B; b++) {
      // Finished rows go on being fed (one batch shape), their bytes ignored.
      const byte = done[b] ? PAD : drawByte(values, b * V, options.temperature, options.rng);
      seqs[b].push(byte);
      if (done[b]) continue;
      moves[b].push(byte);
      if (byte === options.end) done[b] = true;
    }
  }
  return moves.map((m) => Uint8Array.from(m));
}
