// The lab's kernel threads (lib/threads/): the same bits at every thread count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { nodeWorkerHost } from "../../lib/node/threads.js";
import { kernelPool, registerKernelOverrides, setKernelThreads, unregisterKernelOverrides } from "../../lib/kernels.js";
import { binaryPlan } from "../../lib/wasm/elementwise.js";
import { withSharedMemory } from "../../lib/threads/shared-heap.js";
import { presetConfig } from "../../lib/config.js";
import { createModel } from "../../lib/models/models.js";
import { BatchSampler } from "../../lib/text/data.js";
import { Trainer } from "../../lib/train/trainer.js";
import { Rng } from "../../lib/rng.js";
import { tf } from "../../lib/tf.js";
import type { Tensor } from "@tensorflow/tfjs";

await initNode("wasm");

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const x = bits(a);
  const y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

test("the wasm heap tfjs runs on in Node is a shared memory, and a module's memory section becomes shared", () => {
  const backend = tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } };
  assert.ok(backend.wasm.asm.memory.buffer instanceof SharedArrayBuffer);
  // (module (memory 1)): the smallest module with a defined memory.
  const plain = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0, 1]);
  const shared = withSharedMemory(plain)!;
  assert.ok(WebAssembly.validate(shared));
  const memory = new WebAssembly.Instance(new WebAssembly.Module(concat(shared, exportMemory))).exports.m as WebAssembly.Memory;
  assert.ok(memory.buffer instanceof SharedArrayBuffer);
  assert.equal(withSharedMemory(shared), null, "a shared memory is left alone");
});

// An export section: "m" -> memory 0.
const exportMemory = new Uint8Array([7, 5, 1, 1, 0x6d, 2, 0]);
function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

test("matrix products are the same bits on 1, 2 and 3 threads, for every layout the kernel takes", async () => {
  // Odd sizes (edge tiles), an inner dimension longer than one packed slice (300 > 256), batches, broadcasts, transposes.
  const cases: [number[], number[], boolean, boolean][] = [
    [[301, 37], [37, 53], false, false],
    [[37, 301], [37, 300], true, false],
    [[61, 300], [700, 300], false, true],
    [[12, 33, 17], [12, 17, 29], false, false],
    [[3, 130, 64], [64, 90], false, false],
    [[1, 64, 130], [5, 64, 33], true, false]
  ];
  const results: Float32Array[][] = [];
  for (const threads of [1, 2, 3]) {
    assert.equal(await setKernelThreads(threads, nodeWorkerHost), threads);
    // The same operands at each thread count.
    const rng = new Rng(5);
    const random = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal()), shape);
    results.push(cases.map(([sa, sb, ta, tb]) => {
      const a = random(sa);
      const b = random(sb);
      const c = tf.matMul(a, b, ta, tb);
      const out = c.dataSync() as Float32Array;
      tf.dispose([a, b, c]);
      return out;
    }));
  }
  await setKernelThreads(1, nodeWorkerHost);
  for (let t = 1; t < results.length; t++) cases.forEach((_, i) => sameBits(results[t][i], results[0][i], `case ${i} at ${t + 1} threads`));
});

test("the elementwise kernels give tfjs's own results (binary operations and row sums exactly; sigmoid and softmax within 2e-6) and the same bits on 1, 2 and 3 threads", async () => {
  // The broadcasts a training step uses (same shape, a trailing block repeated, one value per row, a scalar), odd tails, and
  // shapes under and over the size the threads split.
  const binary: [string, number[], number[]][] = [
    ["add", [16, 4, 64, 32], [16, 4, 64, 32]], ["add", [16, 4, 64, 32], [64, 32]], ["mul", [16, 4, 64, 1], [16, 4, 64, 64]],
    ["mul", [16, 4, 64, 64], []], ["sub", [], [7, 13]], ["div", [5, 1, 3], [1, 7, 3]], ["mul", [3, 1], [1, 5]],
    ["add", [37, 258], [258]], ["sub", [2, 3, 5], [3, 1]], ["add", [1000, 1], [1000, 1]], ["div", [40003], [40003]], ["mul", [2, 30001], [2, 1]]
  ];
  const unary: [string, number[]][] = [["sigmoid", [512, 384]], ["sigmoid", [7, 3]], ["softmax", [16, 4, 64, 64]], ["softmax", [300, 258]], ["softmax", [3, 5]], ["sum", [16, 4, 64, 64]], ["sum", [300, 258]], ["sum", [4, 5, 6]]];
  const rng = new Rng(1);
  const random = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal() * 3), shape);
  const before = tf.memory().numTensors;
  const inputs = [...binary.map(([, a, b]) => [random(a), random(b)]), ...unary.map(([, s]) => [random(s)])];
  const names = [...binary.map(([op, a, b]) => `${op} [${a}] [${b}]`), ...unary.map(([op, s]) => `${op} [${s}]`)];
  const ops = [...binary.map(([op]) => op), ...unary.map(([op]) => op)];
  const run = () => ops.map((op, i) => {
    const [a, b] = inputs[i];
    const y = op === "sum" ? tf.sum(a, -1, i % 2 === 0) : op === "sigmoid" ? tf.sigmoid(a) : op === "softmax" ? tf.softmax(a) : (tf[op as "add"] as (p: Tensor, q: Tensor) => Tensor)(a, b);
    const out = y.dataSync() as Float32Array;
    y.dispose();
    return out;
  });
  const byThreads: Float32Array[][] = [];
  for (const threads of [1, 2, 3]) {
    assert.equal(await setKernelThreads(threads, nodeWorkerHost), threads);
    byThreads.push(run());
  }
  await setKernelThreads(1, nodeWorkerHost);
  unregisterKernelOverrides();
  let stock: Float32Array[];
  try {
    stock = run();
  } finally {
    registerKernelOverrides();
  }
  for (let t = 1; t < byThreads.length; t++) names.forEach((n, i) => sameBits(byThreads[t][i], byThreads[0][i], `${n} at ${t + 1} threads`));
  names.forEach((n, i) => {
    if (ops[i] !== "sigmoid" && ops[i] !== "softmax") return sameBits(byThreads[0][i], stock[i], `${n} against tfjs's kernel`);
    // Both are expf approximations good to an ulp or two (Cephes' here, XNNPACK's in tfjs), and the softmax's
    // denominator is summed in another order: a few ulps apart, not the same bits.
    for (let k = 0; k < stock[i].length; k++) {
      const d = Math.abs(byThreads[0][i][k] - stock[i][k]);
      if (d > 2e-6 * Math.abs(stock[i][k])) assert.fail(`${n} against tfjs's kernel: element ${k} is ${byThreads[0][i][k]}, tfjs's ${stock[i][k]}`);
    }
  });
  tf.dispose(inputs.flat());
  // A masked score (-1e9) gets a probability of exactly 0, and sigmoid saturates to 0 and 1.
  tf.tidy(() => {
    assert.deepEqual(Array.from(tf.softmax(tf.tensor([0, -1e9, 0, -1e9, 0], [1, 5])).dataSync()), [1 / 3, 0, 1 / 3, 0, 1 / 3].map(Math.fround));
    assert.deepEqual(Array.from(tf.sigmoid(tf.tensor([-1000, 1000, 0, -90, 90])).dataSync()), [0, 1, 0.5, 0, 1]);
  });
  assert.equal(tf.memory().numTensors, before);
});

test("attention's fused kernels (masked softmax and its gradient, rotary both ways) are the same bits on 1, 2 and 3 threads, and the masked softmax is Multiply, Add and Softmax's bits", async () => {
  const { FUSED } = await import("../../lib/kernels.js");
  const rng = new Rng(2);
  const random = (shape: number[], scale = 3) => tf.tensor(Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal() * scale), shape);
  const mask = (T: number) => tf.tensor2d(Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)), [T, T]);
  const before = tf.memory().numTensors;
  // [16, 4, 64, 64] and [16, 4, 64, 32] split across the threads; T 10 has a scalar tail.
  const cases = [64, 10].map((T) => {
    const half = T === 64 ? 16 : 4;
    const angles = Float32Array.from({ length: T * half }, (_, i) => Math.floor(i / half) / Math.pow(10000, (i % half) / half));
    return {
      T, scores: random([16, 4, T, T]), dy: random([16, 4, T, T], 1), mask: mask(T), x: random([16, 4, T, 2 * half], 1),
      cos: tf.tensor2d(angles.map(Math.cos), [T, half]), sin: tf.tensor2d(angles.map(Math.sin), [T, half])
    };
  });
  const run = () => cases.flatMap(({ scores, dy, mask, x, cos, sin }) => tf.tidy(() => {
    const y = tf.engine().runKernel(FUSED.attnSoftmax, { x: scores, mask }, { scale: 0.125 }) as Tensor;
    const dx = tf.engine().runKernel(FUSED.attnSoftmaxGrad, { y, dy }, { scale: 0.125 }) as Tensor;
    const r = [0, 1].map((back) => tf.engine().runKernel(FUSED.rotary, { x, cos, sin }, { back }) as Tensor);
    return [y, dx, ...r].map((t) => t.dataSync() as Float32Array);
  }));
  const byThreads: Float32Array[][] = [];
  for (const threads of [1, 2, 3]) {
    assert.equal(await setKernelThreads(threads, nodeWorkerHost), threads);
    byThreads.push(run());
  }
  await setKernelThreads(1, nodeWorkerHost);
  const names = cases.flatMap(({ T }) => ["softmax", "softmax gradient", "rotary", "rotary backward"].map((n) => `${n} (T ${T})`));
  for (let t = 1; t < byThreads.length; t++) names.forEach((n, i) => sameBits(byThreads[t][i], byThreads[0][i], `${n} at ${t + 1} threads`));
  cases.forEach(({ scores, mask }, c) => {
    const plain = tf.tidy(() => tf.softmax(tf.add(tf.mul(scores, 0.125), mask)).dataSync() as Float32Array);
    sameBits(byThreads[0][4 * c], plain, `masked softmax (T ${cases[c].T}) against Multiply, Add and Softmax`);
  });
  tf.dispose(cases.flatMap((c) => [c.scores, c.dy, c.mask, c.x, c.cos, c.sin]));
  assert.equal(tf.memory().numTensors, before);
});

test("a broadcast reads as rows of each operand whole, repeated, one value per row or one value", () => {
  assert.deepEqual(binaryPlan([16, 4, 128, 32], [128, 32], [16, 4, 128, 32]), { rows: 64, cols: 4096, a: { colStride: 1, rowStride: 4096 }, b: { colStride: 1, rowStride: 0 } });
  assert.deepEqual(binaryPlan([16, 4, 128, 1], [16, 4, 128, 128], [16, 4, 128, 128]), { rows: 8192, cols: 128, a: { colStride: 0, rowStride: 1 }, b: { colStride: 1, rowStride: 128 } });
  assert.deepEqual(binaryPlan([6], [], [6]), { rows: 1, cols: 6, a: { colStride: 1, rowStride: 0 }, b: { colStride: 0, rowStride: 0 } });
  // [3, 1] against [1, 5] repeats each along a different axis: neither rows nor a repeated block.
  assert.equal(binaryPlan([3, 1, 4], [1, 5, 4], [3, 5, 4]), null);
});

test("50 training steps are the same bits on 1, 2 and 3 threads: every loss and every weight", async () => {
  const { model: mc, train } = presetConfig("nano", { model: { blockSize: 64 }, train: { steps: 50, warmupSteps: 5, batchSize: 4, seed: 3 } });
  const text = new Uint8Array(20_000);
  const r = new Rng(9);
  for (let i = 0; i < text.length; i++) text[i] = 97 + r.int(26);
  const before = tf.memory().numTensors;
  const runs: { losses: number[]; weights: Float32Array[] }[] = [];
  for (const threads of [1, 2, 3]) {
    assert.equal(await setKernelThreads(threads, nodeWorkerHost), threads);
    assert.equal(kernelPool()!.threads, threads);
    const model = createModel({ kind: "bytes", model: mc }, 7);
    const trainer = new Trainer({ model, data: new BatchSampler(text), train });
    const losses: number[] = [];
    for await (const e of trainer.run()) if (e.kind === "step") losses.push(e.loss);
    const weights = await Promise.all(model.params.map(async (p) => (await p.variable.data()) as Float32Array));
    trainer.dispose();
    model.dispose();
    runs.push({ losses, weights });
  }
  await setKernelThreads(1, nodeWorkerHost);
  assert.equal(runs[0].losses.length, 50);
  assert.ok(runs[0].losses[49] < runs[0].losses[0], "the model learned something");
  for (let t = 1; t < runs.length; t++) {
    sameBits(Float32Array.from(runs[t].losses), Float32Array.from(runs[0].losses), `losses at ${t + 1} threads`);
    runs[t].weights.forEach((w, i) => sameBits(w, runs[0].weights[i], `weight ${i} at ${t + 1} threads`));
  }
  assert.equal(tf.memory().numTensors, before);
});
