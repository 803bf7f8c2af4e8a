// What a model's attention looks like on one text, in plain arrays, whatever the
// model's kind: the positions it attends over (bytes, BPE tokens or chunks, each
// a span of the text's bytes) and one P x P map per layer and head. The registry
// (lib/models/models.ts) picks each kind's way of tracing; this module holds the
// shared type and the transformer trace every kind ends in.
import type { Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import type { Span } from "../text/boundaries.js";
import type { TinyLM } from "./model.js";

/** What one position of a traced text is. */
export type ProbeUnit = "byte" | "token" | "chunk";

export interface ProbeTrace {
  unit: ProbeUnit;
  /**
   * The bytes each position reads, [start, end) into the traced text; [0, 0] for a
   * position that reads none (a BPE model's start token, a pooled core's start vector).
   */
  spans: Span[];
  /** A pooled or local-stack model's chunks of the text (a pooled core's position i reads chunk i - 1). */
  chunks?: Span[];
  layers: number;
  heads: number;
  /** attention[layer][head]: P x P row-major (row = query position, column = key position), P = spans.length; causal, so above the diagonal is 0. */
  attention: Float32Array[][];
  /** A learned-boundary pooled model's boundary probability per byte; absent for other kinds. */
  boundaryProbs?: number[];
}

/** Attention of every layer and head of a TinyLM on one row of ids (at most its block size). One read-back. */
export async function transformerAttention(lm: TinyLM, ids: readonly number[]): Promise<Float32Array[][]> {
  const T = ids.length;
  const { nLayer, nHead } = lm.config;
  if (T === 0) return Array.from({ length: nLayer }, () => Array.from({ length: nHead }, () => new Float32Array(0)));
  const stacked = tf.tidy(() => {
    const x = tf.tensor2d(Int32Array.from(ids), [1, T], "int32") as Tensor2D;
    return tf.stack(lm.forward(x, { trace: true }).trace!.attention); // [L, 1, H, T, T]
  });
  const data = (await stacked.data()) as Float32Array;
  stacked.dispose();
  return splitMaps(data, nLayer, nHead, T);
}

/** [L][H][P][P] nested arrays (the pooled and local-stack traces) as flat maps. */
export function flattenMaps(nested: number[][][][]): Float32Array[][] {
  return nested.map((layer) => layer.map((rows) => Float32Array.from(rows.flat())));
}

function splitMaps(data: Float32Array, L: number, H: number, T: number): Float32Array[][] {
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => data.slice((l * H + h) * T * T, (l * H + h + 1) * T * T)));
}

/** One span per byte. */
export function byteSpans(n: number): Span[] {
  return Array.from({ length: n }, (_, i) => [i, i + 1] as Span);
}
