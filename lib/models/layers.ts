// The transformer's building blocks as plain functions over tensors. Shapes use
// B batch, T time, C model width, H heads, D head size, V vocabulary, N = B*T.
//
// The embedding lookup carries a hand-written gradient for the wasm backend's
// sake: autodiff of `gather` needs UnsortedSegmentSum, which the wasm backend
// lacks; oneHot(ids)^T @ dy is the same sum as a matmul. RMSNorm, SwiGLU's gate
// and the targets' log-probabilities run as fused kernels with hand-written
// gradients where the backend has them (lib/kernels.ts; wasm), as tfjs ops
// elsewhere. All are checked against finite differences in test/unit/layers.test.ts.
import type { GradSaveFunc, Tensor, Tensor1D, Tensor2D, Tensor4D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import type { Rng } from "../rng.js";
import type { ModelConfig } from "../config.js";
import type { DropoutSite } from "../train/dropout.js";
import { FUSED, hasKernel, matMulInfo } from "../kernels.js";

type GradFn = Parameters<typeof tf.customGrad>[0];
const run = (name: string, inputs: Record<string, Tensor>, attrs: Record<string, number> = {}) => tf.engine().runKernel(name, inputs, attrs);

/**
 * table[ids]: ids int32 [N] -> [N, C]. The ids are saved for the backward pass:
 * they are often made inside the forward pass, which tf.variableGrads runs in a
 * scope that disposes every tensor not saved before the backward pass runs.
 */
export function embeddingLookup(table: Tensor2D, ids: Tensor1D): Tensor2D {
  const lookup = tf.customGrad(((t: Tensor2D, i: Tensor1D, save: GradSaveFunc) => {
    save([i]);
    return {
      value: tf.gather(t, i),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        // With the lab's GEMM (wasm), one pass that gives the product's bits without the one-hot matrix.
        if (hasKernel(FUSED.embeddingGrad) && matMulInfo().engine === "gemm") return [run(FUSED.embeddingGrad, { ids: saved[0], dy }, { rows: t.shape[0] }) as Tensor, tf.zerosLike(saved[0])];
        const oneHot = tf.cast(tf.oneHot(saved[0] as Tensor1D, t.shape[0]), "float32"); // [N, V]
        return [tf.matMul(oneHot, dy as Tensor2D, true, false), tf.zerosLike(saved[0])]; // [V, C]; ids get none
      }
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return lookup(table, ids) as Tensor2D;
}

/**
 * x @ w: x [N, I], w [I, O] -> [N, O]. Autodiff asks for transposed operands
 * (dy @ w^T, x^T @ dy), which lib/kernels.ts's BatchMatMul reads in place
 * through strides, as WebGL and WebGPU do natively.
 */
export function linear(x: Tensor2D, w: Tensor2D): Tensor2D {
  return tf.matMul(x, w);
}

/** x @ w^T: x [N, I], w [O, I] -> [N, O]. The tied output head reads the embedding this way. */
export function linearTransposed(x: Tensor2D, w: Tensor2D): Tensor2D {
  return tf.matMul(x, w, false, true);
}

/** RMSNorm over the last axis, with a learned gain and no bias. */
export function rmsNorm(x: Tensor2D, weight: Tensor1D, eps: number): Tensor2D {
  if (hasKernel(FUSED.rmsNorm)) {
    const op = tf.customGrad(((a: Tensor2D, w: Tensor1D, save: GradSaveFunc) => {
      const [y, r] = run(FUSED.rmsNorm, { x: a, w }, { eps }) as Tensor[];
      save([a, w, r]);
      return {
        value: y,
        gradFunc: (dy: Tensor, saved: Tensor[]) => run(FUSED.rmsNormGrad, { x: saved[0], w: saved[1], r: saved[2], dy }) as Tensor[]
      };
    }) as unknown as GradFn);
    return op(x, weight) as Tensor2D;
  }
  const ms = tf.mean(tf.square(x), -1, true); // [N, 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
}

/** silu(gate) * up, elementwise: SwiGLU's gating. */
export function siluMul(gate: Tensor2D, up: Tensor2D): Tensor2D {
  if (hasKernel(FUSED.siluMulGrad)) {
    // Forward in tfjs ops (its Sigmoid is already vectorised); the sigmoid is kept
    // so the backward is one fused pass with no exponentials.
    const op = tf.customGrad(((g: Tensor2D, u: Tensor2D, save: GradSaveFunc) => {
      const s = tf.sigmoid(g);
      save([g, u, s]);
      return {
        value: tf.mul(tf.mul(g, s), u),
        gradFunc: (dy: Tensor, saved: Tensor[]) => run(FUSED.siluMulGrad, { g: saved[0], u: saved[1], s: saved[2], dy }) as Tensor[]
      };
    }) as unknown as GradFn);
    return op(gate, up) as Tensor2D;
  }
  return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
}

/** Rotary tables for positions 0..T-1: cos and sin, each [T, D/2]. */
export function rotaryTables(blockSize: number, headSize: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = headSize / 2;
  const cos = new Float32Array(blockSize * half);
  const sin = new Float32Array(blockSize * half);
  for (let t = 0; t < blockSize; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t / Math.pow(theta, i / half);
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Rotate the two halves of each head vector by position: x [B, H, T, D]; cos and
 * sin are [T, D/2] (as rotaryTables makes them) or already doubled to [T, D].
 * x*cos + rotateHalf(x)*sin with rotateHalf([x1, x2]) = [-x2, x1], written as a
 * product with a fixed D x D signed permutation: one plain matmul, where slices
 * and a concatenation (and their pad/split gradients) are each a full copy on
 * the wasm backend, and its Reverse kernel is slower still.
 */
export function applyRotary(x: Tensor4D, cos: Tensor2D, sin: Tensor2D): Tensor4D {
  const [B, H, T, D] = x.shape;
  const tablesFit = cos.shape[0] === T && sin.shape[0] === T && cos.shape[1] === sin.shape[1] && (cos.shape[1] === D / 2 || cos.shape[1] === D);
  if (hasKernel(FUSED.rotary) && D % 8 === 0 && tablesFit) {
    // The fused kernel (wasm): the same bits in one pass each way, the gradient being the transpose rotation.
    const op = tf.customGrad(((a: Tensor4D, save: GradSaveFunc) => {
      save([cos, sin]);
      return {
        value: run(FUSED.rotary, { x: a, cos, sin }, { back: 0 }) as Tensor4D,
        gradFunc: (dy: Tensor, saved: Tensor[]) => [run(FUSED.rotary, { x: dy, cos: saved[0], sin: saved[1] }, { back: 1 }) as Tensor]
      };
    }) as unknown as GradFn);
    return op(x) as Tensor4D;
  }
  const cosFull = cos.shape[1] === D ? cos : tf.concat([cos, cos], 1);
  const sinFull = sin.shape[1] === D ? sin : tf.concat([sin, sin], 1);
  const rotated = tf.reshape(linear(tf.reshape(x, [B * H * T, D]) as Tensor2D, rotateHalfMatrix(D)), [B, H, T, D]);
  return tf.add(tf.mul(x, cosFull), tf.mul(rotated, sinFull)) as Tensor4D;
}

/** R with [x1, x2] @ R = [-x2, x1]. */
function rotateHalfMatrix(D: number): Tensor2D {
  const half = D / 2;
  const r = new Float32Array(D * D);
  for (let j = 0; j < half; j++) {
    r[(j + half) * D + j] = -1;
    r[j * D + j + half] = 1;
  }
  return tf.tensor2d(r, [D, D]);
}

/** Additive causal mask [T, T]: 0 where key <= query, a large negative number after. */
export function causalMask(blockSize: number): Float32Array {
  const m = new Float32Array(blockSize * blockSize);
  for (let i = 0; i < blockSize; i++) for (let j = i + 1; j < blockSize; j++) m[i * blockSize + j] = -1e9;
  return m;
}

/**
 * Causal attention probabilities and output. q [B, H, T, D]; k, v [B, Hkv, T, D]
 * with H a multiple of Hkv (grouped-query attention repeats each key/value head).
 */
export function causalAttention(
  q: Tensor4D,
  k: Tensor4D,
  v: Tensor4D,
  mask: Tensor2D,
  probsDropout = 0,
  rng?: Rng
): { out: Tensor4D; probs: Tensor4D } {
  const [, H, , D] = q.shape;
  const groups = H / k.shape[1];
  if (groups > 1) {
    k = repeatHeads(k, groups);
    v = repeatHeads(v, groups);
  }
  const probs = maskedSoftmax(tf.matMul(q, k, false, true) as Tensor4D, mask, 1 / Math.sqrt(D)); // [B, H, T, T]
  // Dropout on the attention probabilities (the STLM code's placement): a dropped
  // weight is zero, so a position never gains weight on a future one.
  return { out: tf.matMul(dropout(probs, probsDropout, rng), v) as Tensor4D, probs };
}

/**
 * softmax(scores * scale + mask) over the last axis; scores [B, H, T, T], mask [T, T].
 * Where the backend has the fused kernel (wasm), one pass forward and one back
 * (lib/wasm/elementwise.ts), with the same probabilities, bit for bit, as the
 * three tfjs ops it replaces; its gradient sums dy * y in another order than
 * tfjs's Softmax gradient, so it differs from theirs in the last bits.
 */
export function maskedSoftmax(scores: Tensor4D, mask: Tensor2D, scale: number): Tensor4D {
  const T = scores.shape[2];
  if (hasKernel(FUSED.attnSoftmax) && mask.shape[0] === T && mask.shape[1] === scores.shape[3]) {
    const op = tf.customGrad(((s: Tensor4D, save: GradSaveFunc) => {
      const y = run(FUSED.attnSoftmax, { x: s, mask }, { scale }) as Tensor4D;
      save([y]);
      return { value: y, gradFunc: (dy: Tensor, saved: Tensor[]) => [run(FUSED.attnSoftmaxGrad, { y: saved[0], dy }, { scale }) as Tensor] };
    }) as unknown as GradFn);
    return op(scores) as Tensor4D;
  }
  return tf.softmax(tf.add(tf.mul(scores, scale), mask)) as Tensor4D;
}

/** [B, Hkv, T, D] -> [B, Hkv*groups, T, D], each head repeated `groups` times in place. */
function repeatHeads(x: Tensor4D, groups: number): Tensor4D {
  const [B, Hkv, T, D] = x.shape;
  return tf.reshape(tf.tile(tf.reshape(x, [B, Hkv, 1, T * D]), [1, 1, groups, 1]), [B, Hkv * groups, T, D]) as Tensor4D;
}

/** SwiGLU MLP: (silu(x W1) * x W3) W2. */
export function swiglu(x: Tensor2D, w1: Tensor2D, w3: Tensor2D, w2: Tensor2D): Tensor2D {
  const gate = linear(x, w1);
  const up = linear(x, w3);
  return linear(siluMul(gate, up), w2);
}

/**
 * Inverted dropout with a mask drawn from a seeded Rng, so a run's randomness is
 * the same on every backend and is restored exactly from a checkpoint.
 */
export function dropout<T extends Tensor>(x: T, rate: number, rng: Rng | undefined): T {
  if (rate <= 0 || !rng) return x;
  const n = x.size;
  const mask = new Float32Array(n);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < n; i++) mask[i] = rng.next() >= rate ? keep : 0;
  return tf.mul(x, tf.tensor(mask, x.shape)) as T;
}

/** Per-position log-probability of `targets` under `logits`: [N, V], int32 [N] -> [N]. */
export function targetLogProbs(logits: Tensor2D, targets: Tensor1D): Tensor1D {
  if (hasKernel(FUSED.targetLogProbs)) {
    // The targets are an input (given no gradient) so that they are kept for the backward pass.
    const op = tf.customGrad(((l: Tensor2D, t: Tensor1D, save: GradSaveFunc) => {
      const [lp, lse] = run(FUSED.targetLogProbs, { logits: l, targets: t }) as Tensor[];
      save([l, t, lse]);
      return {
        value: lp,
        gradFunc: (dy: Tensor, saved: Tensor[]) => [run(FUSED.targetLogProbsGrad, { logits: saved[0], targets: saved[1], lse: saved[2], dy }) as Tensor, tf.zerosLike(saved[1])]
      };
    }) as unknown as GradFn);
    return op(logits, targets) as Tensor1D;
  }
  const logp = tf.logSoftmax(logits);
  const oneHot = tf.cast(tf.oneHot(targets, logits.shape[1]), "float32");
  return tf.sum(tf.mul(logp, oneHot), -1) as Tensor1D;
}

/**
 * A causal pre-norm transformer over x [B*T, D]: per layer RMSNorm, rotary
 * multi-head attention (grouped-query when c.nKvHead < c.nHead), SwiGLU, each
 * added back with dropout; then the final norm. The pooled and local-stack cores
 * both run this; `weight(l, name)` gives layer l's weight ("attnNorm", "attn.wq",
 * …, "mlp.w2"). cos/sin: rotary tables with at least T rows; mask: [>= T, >= T].
 */
export function causalTransformer(
  x: Tensor2D,
  { B, T, config: c, weight, finalNorm, cos, sin, mask, rng, trace = false, rate = c.dropout }: {
    B: number;
    T: number;
    config: Pick<ModelConfig, "nLayer" | "nHead" | "nKvHead" | "dModel" | "normEps" | "dropout" | "dropoutSites">;
    /** This step's dropout rate (the trainer's schedule); config.dropout when absent. */
    rate?: number;
    weight: (layer: number, name: string) => Tensor2D;
    finalNorm: Tensor1D;
    cos: Tensor2D;
    sin: Tensor2D;
    mask: Tensor2D;
    rng?: Rng;
    trace?: boolean;
  }
): { out: Tensor2D; attention: Tensor4D[] } {
  const D = c.dModel / c.nHead;
  const rows = (t: Tensor2D) => (t.shape[0] === T ? t : (tf.slice(t, [0, 0], [T, t.shape[1]]) as Tensor2D));
  const [cosT, sinT] = [rows(cos), rows(sin)];
  const maskT = mask.shape[0] === T ? mask : (tf.slice(mask, [0, 0], [T, T]) as Tensor2D);
  const heads = (t: Tensor2D, h: number) => tf.transpose(tf.reshape(t, [B, T, h, D]), [0, 2, 1, 3]) as Tensor4D; // [B, h, T, D]
  const attention: Tensor4D[] = [];
  const drop = (site: DropoutSite) => (rng && c.dropoutSites.includes(site) ? rate : 0);
  for (let l = 0; l < c.nLayer; l++) {
    const p = (n: string) => weight(l, n);
    const hn = rmsNorm(x, p("attnNorm") as unknown as Tensor1D, c.normEps);
    const q = applyRotary(heads(linear(hn, p("attn.wq")), c.nHead), cosT, sinT);
    const k = applyRotary(heads(linear(hn, p("attn.wk")), c.nKvHead), cosT, sinT);
    const v = heads(linear(hn, p("attn.wv")), c.nKvHead);
    const { out, probs } = causalAttention(q, k, v, maskT, drop("attn-probs"), rng);
    if (trace) attention.push(probs);
    const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * T, c.dModel]) as Tensor2D;
    x = tf.add(x, dropout(linear(merged, p("attn.wo")), drop("attn-out"), rng));
    const m = rmsNorm(x, p("mlpNorm") as unknown as Tensor1D, c.normEps);
    x = tf.add(x, dropout(swiglu(m, p("mlp.w1"), p("mlp.w3"), p("mlp.w2")), drop("mlp-out"), rng));
  }
  return { out: rmsNorm(x, finalNorm, c.normEps), attention };
}
