// Blocks the weight-sharing configurations add to the ones in layers.ts: a plain
// GELU MLP (two matrices, as the STLM paper's 10M/50M/100M targets use) and a
// linear map with a low-rank correction, x (W + A B), for the layers of interior
// sharing. Shapes as in layers.ts: N rows, I inputs, O outputs, R the rank.
import type { Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { linear } from "./layers.js";

/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as PyTorch's nn.GELU() computes it. */
export function gelu(x: Tensor2D): Tensor2D {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as Tensor2D;
}

/** GELU MLP: gelu(x W1) W2, with x [N, C], W1 [C, F], W2 [F, C]. */
export function geluMlp(x: Tensor2D, w1: Tensor2D, w2: Tensor2D): Tensor2D {
  return linear(gelu(linear(x, w1)), w2);
}

/**
 * x (W + A B) computed as x W + (x A) B: x [N, I], W [I, O], A [I, R], B [R, O].
 * Never forms A B, so the correction costs 2 N R (I + O) multiply-adds, not N I O.
 */
export function loraLinear(x: Tensor2D, w: Tensor2D, a: Tensor2D, b: Tensor2D): Tensor2D {
  return tf.add(linear(x, w), linear(linear(x, a), b)) as Tensor2D;
}
