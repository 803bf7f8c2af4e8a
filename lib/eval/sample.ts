// Text generation with temperature and top-k, and attention maps for a text.
import type { Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import type { TinyLM } from "../models/model.js";
import { Rng } from "../rng.js";

export interface SampleOptions {
  /** Bytes to generate. */
  tokens: number;
  /** 0 picks the most likely byte; 1 samples the model's distribution as it is. */
  temperature?: number;
  /** Sample only among the k most likely bytes (0: all). */
  topK?: number;
  seed?: number;
  /** Byte ids the model may never emit (default: the specials, PAD and EOT). */
  banned?: number[];
}

/** Draw one id from logits with temperature and top-k, using rng. Pure JS, no tensors. */
export function pickToken(logits: Float32Array, rng: Rng, temperature: number, topK: number, banned: readonly number[] = []): number {
  const n = logits.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !banned.includes(i));
  if (temperature <= 0) return order.reduce((best, i) => (logits[i] > logits[best] ? i : best), order[0]);
  order.sort((a, b) => logits[b] - logits[a]);
  const kept = topK > 0 ? order.slice(0, topK) : order;
  const max = logits[kept[0]];
  const weights = kept.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let j = 0; j < kept.length; j++) {
    r -= weights[j];
    if (r <= 0) return kept[j];
  }
  return kept[kept.length - 1];
}

/**
 * The loop every model kind samples with: `next(context)` gives the logits of
 * the id after `context` (the last `blockSize` ids), and ids are drawn with
 * temperature and top-k from one seeded stream.
 */
export async function sampleIds(
  next: (context: number[]) => Promise<Float32Array>,
  start: number[],
  blockSize: number,
  options: SampleOptions & { banned: readonly number[]; until?: (out: number[]) => boolean }
): Promise<number[]> {
  const { tokens, temperature = 0.8, topK = 0, seed = 1, banned } = options;
  if (!Number.isInteger(tokens) || tokens < 0) throw new RangeError(`tokens must be a whole number >= 0 (got ${tokens})`);
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0 (got ${temperature})`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new RangeError(`topK must be a whole number >= 0 (0: no top-k; got ${topK})`);
  const rng = new Rng(seed);
  const ids = start.slice();
  const out: number[] = [];
  const done = options.until ?? ((o: number[]) => o.length >= tokens);
  while (!done(out)) {
    const logits = await next(ids.slice(-blockSize));
    const id = pickToken(logits, rng, temperature, topK, banned);
    ids.push(id);
    out.push(id);
  }
  return out;
}

/** The logits after `context`: the last position of a forward pass that maps ids [1, T] to logits [1, T, V]. One read-back. */
export async function lastLogits(forward: (ids: Tensor2D) => Tensor3D, context: readonly number[]): Promise<Float32Array> {
  const last = tf.tidy(() => {
    const logits = forward(tf.tensor2d(Int32Array.from(context), [1, context.length], "int32"));
    const V = logits.shape[2];
    return tf.reshape(tf.slice(logits, [0, context.length - 1, 0], [1, 1, V]), [V]);
  });
  const values = (await last.data()) as Float32Array;
  last.dispose();
  return values;
}

/** An empty prompt starts as a new paragraph would. */
export function promptIds(prompt: Uint8Array): number[] {
  return prompt.length > 0 ? Array.from(prompt) : [10, 10];
}

/** Continue `prompt` by `tokens` bytes. The context slides when it outgrows the model's block size. */
export async function sample(model: TinyLM, prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
  const V = model.config.vocabSize;
  const banned = options.banned ?? [256, 257].filter((id) => id < V);
  const next = (context: number[]) => lastLogits((x) => model.forward(x).logits, context);
  return Uint8Array.from(await sampleIds(next, promptIds(prompt), model.blockSize, { ...options, banned }));
}

export interface AttentionMaps {
  layers: number;
  heads: number;
  /** The byte ids attended over (the last blockSize bytes of the text). */
  tokens: number[];
  /** weights[layer][head]: T x T, row-major; row = query position, column = key position. */
  weights: Float32Array[][];
}

/** Attention probabilities of every layer and head on one text. */
export async function attentionMaps(model: TinyLM, bytes: Uint8Array): Promise<AttentionMaps> {
  const ids = Array.from(bytes.length > 0 ? bytes : new Uint8Array([10])).slice(-model.blockSize);
  const T = ids.length;
  const { nLayer, nHead } = model.config;
  const stacked = tf.tidy(() => {
    const x = tf.tensor2d(Int32Array.from(ids), [1, T], "int32") as Tensor2D;
    const { trace } = model.forward(x, { trace: true });
    return tf.stack(trace!.attention); // [L, 1, H, T, T]
  });
  const data = (await stacked.data()) as Float32Array;
  stacked.dispose();
  const weights: Float32Array[][] = [];
  for (let l = 0; l < nLayer; l++) {
    const row: Float32Array[] = [];
    for (let h = 0; h < nHead; h++) row.push(data.slice((l * nHead + h) * T * T, (l * nHead + h + 1) * T * T));
    weights.push(row);
  }
  return { layers: nLayer, heads: nHead, tokens: ids, weights };
}
