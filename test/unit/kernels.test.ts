// The wasm kernel overrides compute what the cpu backend computes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { Rng } from "../../lib/rng.js";
import { TinyLM } from "../../lib/models/model.js";
import { Trainer } from "../../lib/train/trainer.js";
import { sampler, tinyConfigs } from "./fixtures.js";
import { matMulInfo, setMatMulEngine, type MatMulEngine } from "../../lib/kernels.js";

await initNode("wasm");

const rng = new Rng(11);
const random = (shape: number[]) => Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());

async function onBackend<T>(name: "wasm" | "cpu", f: () => T): Promise<T> {
  await initNode(name);
  try {
    return f();
  } finally {
    await initNode("wasm");
  }
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

const cases: [number[], number[], boolean, boolean][] = [
  [[7, 5], [5, 3], false, false],
  [[5, 7], [5, 3], true, false],
  [[7, 5], [3, 5], false, true],
  [[5, 7], [3, 5], true, true],
  [[2, 3, 6, 4], [2, 3, 4, 5], false, false],
  [[2, 3, 6, 4], [2, 3, 5, 4], false, true],
  [[2, 3, 4, 6], [2, 3, 4, 5], true, false],
  [[4, 6, 4], [1, 4, 5], false, false],
  [[1, 6, 4], [4, 4, 5], false, false],
  // past the GEMM's tile edges and its 256-long k slices
  [[37, 300], [300, 19], false, false],
  [[300, 37], [19, 300], true, true],
  [[2, 3, 33, 8], [2, 3, 33, 8], false, true],
  [[2, 3, 33, 33], [2, 3, 33, 8], true, false]
];

test("the wasm backend here multiplies with the SIMD GEMM, with relaxed-SIMD FMA", () => {
  tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
  assert.deepEqual(matMulInfo(), { engine: "gemm", relaxedSimd: true });
});

for (const engine of ["gemm", "xnnpack"] as MatMulEngine[]) {
  for (const [as, bs, ta, tb] of cases) {
    test(`matMul (${engine}) of [${as}]${ta ? "^T" : ""} and [${bs}]${tb ? "^T" : ""} on wasm equals the cpu backend's`, async () => {
      const [a, b] = [random(as), random(bs)];
      const run = () => tf.tidy(() => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb).dataSync().slice());
      const before = tf.memory().numTensors;
      setMatMulEngine(engine);
      let got: Float32Array | Int32Array | Uint8Array;
      try {
        got = await onBackend("wasm", run);
      } finally {
        setMatMulEngine("gemm");
      }
      assert.equal(tf.memory().numTensors, before);
      const want = await onBackend("cpu", run);
      // Both backends round: allow float32 error growing with the inner length.
      const k = ta ? as[as.length - 2] : as[as.length - 1];
      assert.ok(maxRelDiff(got, want) < 2e-6 * Math.max(5, k), `differs by ${maxRelDiff(got, want)}`);
    });
  }
}

test("transpose on wasm equals the cpu backend's, whether or not the last axis stays", async () => {
  const cases: [number[], number[], "float32" | "int32"][] = [
    [[5, 7], [1, 0], "float32"],
    [[3, 4, 5], [1, 0, 2], "float32"],
    [[3, 4, 5], [0, 2, 1], "float32"],
    [[2, 3, 4, 5], [0, 2, 1, 3], "float32"],
    [[2, 3, 4, 5], [2, 1, 0, 3], "int32"],
    [[2, 3, 4, 5], [3, 1, 2, 0], "float32"],
    [[2, 0, 4], [1, 0, 2], "float32"]
  ];
  for (const [shape, perm, dtype] of cases) {
    const x = random(shape).map((v) => (dtype === "int32" ? Math.round(v * 100) : v));
    const run = () => tf.tidy(() => tf.transpose(tf.tensor(x, shape, dtype), perm).dataSync().slice());
    const before = tf.memory().numTensors;
    assert.deepEqual(await onBackend("wasm", run), await onBackend("cpu", run), `[${shape}] by [${perm}] (${dtype})`);
    assert.equal(tf.memory().numTensors, before);
  }
});

test("sum on wasm equals the cpu backend's over leading, inner and mixed axes", async () => {
  const cases: [number[], number | number[], boolean, "float32" | "int32"][] = [
    [[300, 19], 0, false, "float32"],
    [[4, 5, 6], [0, 1], true, "float32"],
    [[4, 5, 6], [1, 0], false, "float32"],
    [[4, 5, 6], 2, false, "float32"],
    [[4, 5, 6], [0, 2], true, "float32"],
    [[4, 5, 6], 0, false, "int32"],
    [[7], 0, false, "float32"]
  ];
  for (const [shape, axis, keepDims, dtype] of cases) {
    const x = random(shape).map((v) => (dtype === "int32" ? Math.round(v * 100) : v));
    const run = () => tf.tidy(() => {
      const y = tf.sum(tf.tensor(x, shape, dtype), axis, keepDims);
      return { shape: y.shape, data: y.dataSync().slice() };
    });
    const got = await onBackend("wasm", run);
    const want = await onBackend("cpu", run);
    assert.deepEqual(got.shape, want.shape, `sum of [${shape}] over ${axis}`);
    assert.ok(maxRelDiff(got.data, want.data) < 1e-5, `sum of [${shape}] over ${axis} differs by ${maxRelDiff(got.data, want.data)}`);
  }
});

test("gather on wasm equals the cpu backend's and refuses an index out of range", async () => {
  const table = random([6, 5]);
  for (const dtype of ["float32", "int32"] as const) {
    const run = () => tf.tidy(() => {
      const y = tf.gather(tf.tensor(table.map((v) => (dtype === "int32" ? Math.round(v * 9) : v)), [6, 5], dtype), tf.tensor2d([[5, 0, 2], [2, 2, 1]], [2, 3], "int32"));
      return { shape: y.shape, data: y.dataSync().slice() };
    });
    assert.deepEqual(await onBackend("wasm", run), await onBackend("cpu", run));
  }
  const before = tf.memory().numTensors;
  assert.throws(() => tf.tidy(() => tf.gather(tf.tensor2d(table, [6, 5]), tf.tensor1d([1, 6], "int32"))), /index value 6 is not in \[0, 5\]/);
  assert.equal(tf.memory().numTensors, before);
});

test("slice on wasm equals the cpu backend's for contiguous and strided slices of every rank", async () => {
  const shapes: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [[6, 7], [1, 2], [3, 4]],
    [[6, 7], [2, 0], [3, 7]],
    [[3, 4, 5], [1, 1, 2], [2, 2, 3]],
    [[2, 3, 4, 6], [0, 1, 0, 3], [2, 2, 4, 3]],
    [[2, 2, 3, 2, 4], [1, 0, 1, 0, 1], [1, 2, 2, 2, 2]]
  ];
  for (const [shape, begin, size] of shapes) {
    const x = random(shape);
    const run = () => tf.tidy(() => tf.slice(tf.tensor(x, shape), begin, size).dataSync().slice());
    assert.deepEqual(await onBackend("wasm", run), await onBackend("cpu", run), `slice of [${shape}] at [${begin}] size [${size}]`);
  }
});

test("one buffer met again as a differently shaped right operand gives the right product", async () => {
  // XNNPACK caches packed weights by tensor id; a reshape shares its buffer's id.
  // The stock kernel reuses the first packing here (wrong numbers or an abort).
  const d = random([4, 6]);
  const run = () =>
    tf.tidy(() => {
      const t = tf.tensor2d(d, [4, 6]);
      const first = tf.matMul(tf.ones([2, 4]), t);
      const second = tf.matMul(tf.ones([3, 6]), tf.reshape(t, [6, 4]));
      const third = tf.matMul(tf.ones([2, 4]), tf.transpose(t), false, true);
      return [...first.dataSync(), ...second.dataSync(), ...third.dataSync()];
    });
  const got = await onBackend("wasm", run);
  const want = await onBackend("cpu", run);
  assert.ok(maxRelDiff(got, want) < 1e-5, `differs by ${maxRelDiff(got, want)}`);
});

test("a cast to the same dtype survives the original's disposal; a cast to another dtype converts", () => {
  const a = tf.tensor([1.5, -2, 3]);
  const same = tf.cast(a, "float32");
  const other = tf.cast(a, "int32");
  a.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 3]);
  assert.deepEqual(Array.from(other.dataSync()), [1, -2, 3]);
  assert.equal(other.dtype, "int32");
  tf.dispose([same, other]);
});

test("a cloned tensor shares its buffer and survives the original's disposal", () => {
  const a = tf.tensor([1, 2, 3]);
  const b = tf.clone(a);
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
  b.dispose();
});

// At the presets' learning rate. At 1e-2 training is chaotic enough that the stock
// wasm kernels and the cpu backend drift apart by ~1e-4 too: that is float
// rounding amplified, not the overrides (they match the stock kernels bit for bit there).
test("200 training steps on wasm with every override agree with the cpu backend within 1e-4", async () => {
  const losses = async (backend: "wasm" | "cpu") => {
    await initNode(backend);
    const { model: mc, train } = tinyConfigs({ nKvHead: 1 }, { steps: 200, learningRate: 3e-3 });
    const model = TinyLM.create(mc, 2);
    const trainer = new Trainer({ model, data: sampler(), train });
    const out: number[] = [];
    for await (const e of trainer.run()) if (e.kind === "step") out.push(e.loss);
    trainer.dispose();
    model.dispose();
    await initNode("wasm");
    return out;
  };
  const [wasm, cpu] = [await losses("wasm"), await losses("cpu")];
  assert.equal(wasm.length, 200);
  assert.ok(wasm[199] < wasm[0] - 1, "the run learned something");
  const worst = maxRelDiff(wasm, cpu);
  assert.ok(worst < 1e-4, `losses differ by up to ${worst} (relative)`);
});

test("the fused AdamW kernel on wasm gives the weights and moments the plain tfjs ops give on cpu", async () => {
  const { AdamW } = await import("../../lib/train/optim.js");
  const shapes = [[5, 3], [7]];
  const init = shapes.map((s) => random(s));
  const grads = [0, 1, 2].map(() => shapes.map((s) => random(s).map((x) => x * 3)));
  const run = async (backend: "wasm" | "cpu") => {
    await initNode(backend);
    const params = shapes.map((s, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(init[i], s)) }));
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 });
    const before = tf.memory().numTensors;
    for (const step of grads) tf.tidy(() => opt.apply(step.map((g, i) => tf.tensor(g, shapes[i])), 3e-3).dispose());
    assert.equal(tf.memory().numTensors, before, `${backend}: the update leaks no tensors`);
    const state = await opt.state();
    const out = [...params.map((p) => p.variable.dataSync().slice()), ...[...state.m.values(), ...state.v.values()].map((t) => t.data)];
    const fused = tf.getKernel("StlmAdamW", backend) !== undefined;
    opt.dispose();
    params.forEach((p) => p.variable.dispose());
    await initNode("wasm");
    return { out, fused };
  };
  const wasm = await run("wasm");
  const cpu = await run("cpu");
  assert.equal(wasm.fused, true, "wasm has the fused kernel");
  assert.equal(cpu.fused, false, "cpu runs the plain ops");
  wasm.out.forEach((w, i) => assert.ok(maxRelDiff(w, cpu.out[i]) < 1e-5, `tensor ${i} differs by ${maxRelDiff(w, cpu.out[i])}`));
  assert.ok(maxRelDiff(wasm.out[0], init[0]) > 1e-4, "the weights moved");
});

test("the global gradient norm through the fused squared-norm kernel is the norm tfjs's ops give", async () => {
  const { globalNorm } = await import("../../lib/train/optim.js");
  const { FUSED, hasKernel } = await import("../../lib/kernels.js");
  assert.ok(hasKernel(FUSED.squaredNorm), "wasm has the fused kernel");
  const rng = new Rng(4);
  // Pairs of vectors, a lone vector, a scalar tail, a scalar and an empty tensor.
  const shapes = [[128, 384], [12], [7], [3, 5], [], [0]];
  const grads = shapes.map((s) => tf.tensor(Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => rng.normal()), s));
  const before = tf.memory().numTensors;
  const fused = globalNorm(grads);
  const got = (await fused.data())[0];
  fused.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor leaked");
  let exact = 0;
  for (const g of grads) for (const v of g.dataSync()) exact += v * v;
  assert.ok(Math.abs(got - Math.sqrt(exact)) <= 1e-6 * Math.sqrt(exact), `${got} vs ${Math.sqrt(exact)}`);
  const plain = tf.tidy(() => tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  // tfjs sums each gradient element by element, so it drifts further from the exact sum (a few 1e-6 here).
  assert.ok(Math.abs(got - plain) <= 1e-5 * plain, `${got} vs tfjs ops ${plain}`);
  tf.dispose(grads);
});

test("the embedding gradient kernel gives oneHot(ids)^T @ dy through the GEMM bit for bit, across its blocks of kc rows", async () => {
  const { FUSED } = await import("../../lib/kernels.js");
  const bits = (t: import("@tensorflow/tfjs").Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
  // 600 rows span three of the GEMM's kc = 256 blocks; ids repeat within and across blocks, some rows of the table get none.
  for (const [N, V, C] of [[600, 37, 12], [7, 5, 3]]) {
    tf.tidy(() => {
      const ids = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 13 + (i >> 4)) % (V - 2)), "int32");
      const dy = tf.tensor2d(random([N, C]), [N, C]);
      const fused = tf.engine().runKernel(FUSED.embeddingGrad, { ids, dy }, { rows: V }) as import("@tensorflow/tfjs").Tensor;
      const product = tf.matMul(tf.cast(tf.oneHot(ids, V), "float32"), dy, true, false);
      assert.deepEqual(fused.shape, [V, C]);
      assert.deepEqual(bits(fused), bits(product), `[${N}, ${V}, ${C}]: the same bits as the product`);
    });
  }
});

test("every parameter's AdamW update in one kernel call gives the per-parameter kernel's bits", async () => {
  const { ADAMW_ALL_KERNEL, ADAMW_KERNEL } = await import("../../lib/kernels.js");
  const shapes = [[6, 5], [9], [3, 4]];
  tf.tidy(() => {
    const t = (s: number[]) => tf.tensor(random(s), s);
    const ps = shapes.map((s) => ({ w: t(s), m: t(s), v: tf.abs(t(s)), g: t(s) }));
    const scale = tf.scalar(0.7);
    const attrs = { lr: 3e-3, beta1: 0.9, beta2: 0.95, bc1: 0.19, bc2: 0.0975, eps: 1e-8 };
    const decay = [0.9997, 1, 0.9997];
    const inputs: Record<string, import("@tensorflow/tfjs").Tensor> = { scale };
    ps.forEach((p, i) => Object.assign(inputs, { [`w${i}`]: p.w, [`m${i}`]: p.m, [`v${i}`]: p.v, [`g${i}`]: p.g }));
    const all = tf.engine().runKernel(ADAMW_ALL_KERNEL, inputs, { ...attrs, decay } as unknown as Record<string, number>) as import("@tensorflow/tfjs").Tensor[];
    assert.equal(all.length, 3 * shapes.length);
    ps.forEach((p, i) => {
      const one = tf.engine().runKernel(ADAMW_KERNEL, { ...p, scale }, { ...attrs, decay: decay[i] }) as import("@tensorflow/tfjs").Tensor[];
      one.forEach((o, j) => assert.deepEqual(all[3 * i + j].dataSync(), o.dataSync(), `parameter ${i}, output ${j}`));
    });
  });
});
