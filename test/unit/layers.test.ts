// Each layer's gradient against central finite differences (hand-written, fused or
// autodiff through the wasm kernels), and the attention layers' defining properties.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor, Tensor1D, Tensor2D, Tensor4D } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { Rng } from "../../lib/rng.js";
import { applyRotary, causalAttention, causalMask, embeddingLookup, linear, linearTransposed, rmsNorm, rotaryTables, siluMul, swiglu, targetLogProbs } from "../../lib/models/layers.js";

await initNode();

function randomTensor(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal() * scale), shape);
}

/**
 * Compare d/dinput of sum(f(inputs) * R) with central differences on a sample of
 * coordinates of every input. Float32 arithmetic limits the agreement to ~1e-3.
 */
async function checkGradients(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], rng: Rng, samples = 12): Promise<void> {
  const before = tf.memory().numTensors;
  const probe = tf.tidy(() => randomTensor(rng, f(...inputs).shape));
  const loss = (...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), probe));
  const grads = tf.grads(loss)(inputs);
  const eps = 1e-2;
  for (let i = 0; i < inputs.length; i++) {
    const x = (await inputs[i].data()) as Float32Array;
    const g = (await grads[i].data()) as Float32Array;
    for (let s = 0; s < samples; s++) {
      const j = rng.int(x.length);
      const at = (delta: number) =>
        tf.tidy(() => {
          const moved = x.slice();
          moved[j] += delta;
          const xs = inputs.map((t, k) => (k === i ? tf.tensor(moved, t.shape) : t));
          return loss(...xs).dataSync()[0];
        });
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      const tol = 2e-2 * Math.max(1, Math.abs(numeric));
      assert.ok(Math.abs(numeric - g[j]) <= tol, `${name}: d/dinput${i}[${j}] analytic ${g[j]} vs numeric ${numeric}`);
    }
  }
  tf.dispose([probe, ...grads]);
  assert.equal(tf.memory().numTensors, before, `${name}: gradient check leaked tensors`);
}

test("linear's gradient (transposed products through the wasm BatchMatMul) matches finite differences", async () => {
  const rng = new Rng(1);
  const [x, w] = [randomTensor(rng, [5, 4]), randomTensor(rng, [4, 3])];
  await checkGradients("linear", (a, b) => linear(a as Tensor2D, b as Tensor2D), [x, w], rng);
  tf.dispose([x, w]);
});

test("linearTransposed's gradient matches finite differences", async () => {
  const rng = new Rng(2);
  const [x, w] = [randomTensor(rng, [5, 4]), randomTensor(rng, [6, 4])];
  await checkGradients("linearTransposed", (a, b) => linearTransposed(a as Tensor2D, b as Tensor2D), [x, w], rng);
  tf.dispose([x, w]);
});

test("the embedding lookup's gradient sums the rows it read, repeated ids included", async () => {
  const rng = new Rng(3);
  const table = randomTensor(rng, [7, 3]);
  const ids = tf.tensor1d([2, 5, 2, 0], "int32");
  await checkGradients("embeddingLookup", (t) => embeddingLookup(t as Tensor2D, ids), [table], rng, 21);
  tf.dispose([table, ids]);
});

test("rmsNorm's gradient matches finite differences", async () => {
  const rng = new Rng(4);
  const [x, w] = [randomTensor(rng, [3, 8]), randomTensor(rng, [8])];
  await checkGradients("rmsNorm", (a, b) => rmsNorm(a as Tensor2D, b as Tensor1D, 1e-5), [x, w], rng);
  tf.dispose([x, w]);
});

test("SwiGLU's gradient matches finite differences", async () => {
  const rng = new Rng(5);
  const ins = [randomTensor(rng, [4, 6]), randomTensor(rng, [6, 5], 0.5), randomTensor(rng, [6, 5], 0.5), randomTensor(rng, [5, 6], 0.5)];
  await checkGradients("swiglu", (x, a, b, c) => swiglu(x as Tensor2D, a as Tensor2D, b as Tensor2D, c as Tensor2D), ins, rng);
  tf.dispose(ins);
});

test("causal attention with rotary positions has the gradient finite differences give", async () => {
  const rng = new Rng(6);
  const T = 5, D = 4;
  const { cos, sin } = rotaryTables(T, D, 10000);
  const [c, s, mask] = [tf.tensor2d(cos, [T, D / 2]), tf.tensor2d(sin, [T, D / 2]), tf.tensor2d(causalMask(T), [T, T])];
  const q = randomTensor(rng, [2, 2, T, D]), k = randomTensor(rng, [2, 1, T, D]), v = randomTensor(rng, [2, 1, T, D]);
  const f = (a: Tensor, b: Tensor, d: Tensor) =>
    causalAttention(applyRotary(a as Tensor4D, c, s), applyRotary(b as Tensor4D, c, s), d as Tensor4D, mask).out;
  await checkGradients("attention", f, [q, k, v], rng);
  tf.dispose([c, s, mask, q, k, v]);
});

test("attention probabilities are zero above the diagonal and each row sums to one", () => {
  const rng = new Rng(7);
  const T = 6;
  tf.tidy(() => {
    const q = randomTensor(rng, [1, 2, T, 4]) as Tensor4D, k = randomTensor(rng, [1, 2, T, 4]) as Tensor4D;
    const { probs } = causalAttention(q, k, k, tf.tensor2d(causalMask(T), [T, T]));
    const p = probs.dataSync();
    for (let h = 0; h < 2; h++)
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j < T; j++) {
          const value = p[(h * T + i) * T + j];
          if (j > i) assert.equal(value, 0);
          sum += value;
        }
        assert.ok(Math.abs(sum - 1) < 1e-5);
      }
  });
});

test("the targets' log-probabilities have the gradient finite differences give", async () => {
  const rng = new Rng(8);
  const logits = randomTensor(rng, [4, 7], 2);
  const targets = tf.tensor1d([6, 0, 3, 3], "int32");
  await checkGradients("targetLogProbs", (l) => targetLogProbs(l as Tensor2D, targets), [logits], rng, 20);
  tf.dispose([logits, targets]);
});

test("the fused layers on wasm compute what the tfjs ops compute on cpu, forward and backward", async () => {
  const { FUSED, hasKernel } = await import("../../lib/kernels.js");
  const rng = new Rng(9);
  // Width 16 runs the SIMD code; width 10 its vector part and a scalar tail (or the plain loops).
  for (const C of [16, 10]) {
    const x = Float32Array.from({ length: 6 * C }, () => rng.normal() * 3);
    const w = Float32Array.from({ length: C }, () => rng.normal());
    const u = Float32Array.from({ length: 6 * C }, () => rng.normal());
    const targets = [C - 1, 0, 4, 4, 1, 7];
    const probe = Float32Array.from({ length: 6 * C }, () => rng.normal());
    const run = () =>
      tf.tidy(() => {
        const [X, W, U, P] = [tf.tensor2d(x, [6, C]), tf.tensor1d(w), tf.tensor2d(u, [6, C]), tf.tensor2d(probe, [6, C])];
        const T = tf.tensor1d(targets, "int32");
        const f = (a: Tensor, b: Tensor, c: Tensor) =>
          tf.add(tf.sum(tf.mul(rmsNorm(a as Tensor2D, b as Tensor1D, 1e-5), P)), tf.add(tf.sum(tf.mul(siluMul(a as Tensor2D, c as Tensor2D), P)), tf.sum(targetLogProbs(a as Tensor2D, T))));
        const { value, grads } = tf.valueAndGrads(f)([X, W, U]);
        return [value.dataSync()[0], ...grads.flatMap((g) => Array.from(g.dataSync()))];
      });
    const before = tf.memory().numTensors;
    const fused = run();
    assert.equal(tf.memory().numTensors, before, "the fused layers leak no tensors");
    assert.ok(hasKernel(FUSED.rmsNorm) && hasKernel(FUSED.siluMulGrad) && hasKernel(FUSED.targetLogProbs), "wasm has the fused kernels");
    await initNode("cpu");
    assert.ok(!hasKernel(FUSED.rmsNorm), "cpu runs the tfjs ops");
    const plain = run();
    await initNode("wasm");
    for (let i = 0; i < fused.length; i++) assert.ok(Math.abs(fused[i] - plain[i]) <= 1e-4 * Math.max(1, Math.abs(plain[i])), `width ${C}, value ${i}: ${fused[i]} vs ${plain[i]}`);
  }
});

test("attention's fused softmax and rotary kernels on wasm compute what the tfjs ops compute on cpu, forward and backward", async () => {
  const { FUSED, hasKernel } = await import("../../lib/kernels.js");
  const rng = new Rng(10);
  // T 12: whole vectors and a pair loop; T 10: a scalar tail. D 16: the fused rotary (half 8), with [T, D / 2] or doubled tables.
  for (const T of [12, 10]) {
    const D = 16;
    const { cos, sin } = rotaryTables(T, D, 10000);
    const q = Float32Array.from({ length: 2 * 2 * T * D }, () => rng.normal());
    const k = Float32Array.from({ length: 2 * 2 * T * D }, () => rng.normal());
    const v = Float32Array.from({ length: 2 * 2 * T * D }, () => rng.normal());
    const probe = Float32Array.from({ length: 2 * 2 * T * D }, () => rng.normal());
    const run = () =>
      tf.tidy(() => {
        // T 10 passes the tables doubled to [T, D], as the models keep them.
        const table = (t: Float32Array) => (T === 10 ? tf.concat([tf.tensor2d(t, [T, D / 2]), tf.tensor2d(t, [T, D / 2])], 1) : tf.tensor2d(t, [T, D / 2]));
        const [c, s, mask] = [table(cos), table(sin), tf.tensor2d(causalMask(T), [T, T])];
        const P = tf.tensor4d(probe, [2, 2, T, D]);
        const f = (a: Tensor, b: Tensor, d: Tensor) => {
          const { out, probs } = causalAttention(applyRotary(a as Tensor4D, c, s), applyRotary(b as Tensor4D, c, s), d as Tensor4D, mask);
          return tf.add(tf.sum(tf.mul(out, P)), tf.sum(tf.mul(probs, tf.slice(P, [0, 0, 0, 0], [2, 2, T, Math.min(T, D)]).pad([[0, 0], [0, 0], [0, 0], [0, Math.max(0, T - D)]]))));
        };
        const { value, grads } = tf.valueAndGrads(f)([tf.tensor4d(q, [2, 2, T, D]), tf.tensor4d(k, [2, 2, T, D]), tf.tensor4d(v, [2, 2, T, D])]);
        const probs = causalAttention(tf.tensor4d(q, [2, 2, T, D]), tf.tensor4d(k, [2, 2, T, D]), tf.tensor4d(v, [2, 2, T, D]), mask).probs;
        return { values: [value.dataSync()[0], ...grads.flatMap((g) => Array.from(g.dataSync()))], probs: probs.dataSync() as Float32Array };
      });
    const before = tf.memory().numTensors;
    const fused = run();
    assert.equal(tf.memory().numTensors, before, "the fused attention kernels leak no tensors");
    assert.ok(hasKernel(FUSED.attnSoftmax) && hasKernel(FUSED.rotary), "wasm has the fused attention kernels");
    // A masked score gets a probability of exactly 0.
    for (let i = 0; i < 2 * 2 * T; i++) for (let j = (i % T) + 1; j < T; j++) assert.equal(fused.probs[i * T + j], 0, `T ${T}: row ${i} column ${j} is masked`);
    await initNode("cpu");
    assert.ok(!hasKernel(FUSED.attnSoftmax), "cpu runs the tfjs ops");
    const plain = run();
    await initNode("wasm");
    for (let i = 0; i < fused.values.length; i++) assert.ok(Math.abs(fused.values[i] - plain.values[i]) <= 1e-4 * Math.max(1, Math.abs(plain.values[i])), `T ${T}, value ${i}: ${fused.values[i]} vs ${plain.values[i]}`);
  }
});

test("attention with the fused rotary kernel (head size 8) has the gradient finite differences give", async () => {
  const rng = new Rng(11);
  const T = 5, D = 8;
  const { cos, sin } = rotaryTables(T, D, 10000);
  const [c, s, mask] = [tf.tensor2d(cos, [T, D / 2]), tf.tensor2d(sin, [T, D / 2]), tf.tensor2d(causalMask(T), [T, T])];
  const q = randomTensor(rng, [2, 2, T, D]), k = randomTensor(rng, [2, 2, T, D]), v = randomTensor(rng, [2, 2, T, D]);
  const f = (a: Tensor, b: Tensor, d: Tensor) =>
    causalAttention(applyRotary(a as Tensor4D, c, s), applyRotary(b as Tensor4D, c, s), d as Tensor4D, mask).out;
  await checkGradients("attention (fused rotary)", f, [q, k, v], rng);
  tf.dispose([c, s, mask, q, k, v]);
});
