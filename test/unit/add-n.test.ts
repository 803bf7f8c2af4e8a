import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { addN, addNMaxInputs } from "../../lib/add-n.js";
import { globalNorm } from "../../lib/train/optim.js";
import { tf } from "../../lib/tf.js";

await initNode();

// On WebGPU tfjs-webgpu's AddN of 8+ tensors returns garbage (lib/add-n.ts; shown in a
// browser by scripts/webgpu-addn.ts). Node has no WebGPU, so this checks the grouping
// itself: the same sums with any group size, every AddN within it, nothing left over.
test("addN sums in groups of at most maxInputs, equal to tf.addN, and leaves no tensor", async () => {
  assert.equal(addNMaxInputs(), Infinity, "wasm has no binding limit: addN is tf.addN there");
  const xs = Array.from({ length: 20 }, (_, i) => tf.tensor1d([i + 1, -(i + 1) / 4, 2 ** -(i + 1)]));
  const want = Array.from(await tf.addN(xs).data());
  tf.dispose(tf.addN(xs));
  for (const maxInputs of [2, 3, 7, 19, 20, 64]) {
    const before = tf.memory().numTensors;
    let sum!: ReturnType<typeof addN>;
    // tf.profile lists every kernel run, with its inputs' shapes: the widest AddN.
    const info = await tf.profile(() => { sum = addN(xs, maxInputs); return sum; });
    const widths = info.kernels.filter((k) => k.name === "AddN").map((k) => k.inputShapes.length);
    const widest = Math.max(...widths);
    assert.ok(widest <= maxInputs && widest >= 2, `maxInputs ${maxInputs}: an AddN took ${widest} inputs`);
    const got = Array.from(await sum.data());
    got.forEach((v, j) => assert.ok(Math.abs(v - want[j]) <= 1e-6 * Math.abs(want[j]), `maxInputs ${maxInputs}, element ${j}: ${v} vs ${want[j]}`));
    sum.dispose();
    assert.equal(tf.memory().numTensors, before, `maxInputs ${maxInputs} leaked tensors`);
  }
  assert.throws(() => addN(xs, 1), /maxInputs must be at least 2/);
  tf.dispose(xs);
});

test("globalNorm on the cpu backend (tfjs's AddN path, as on WebGPU) equals the norm summed by hand", async () => {
  await initNode("cpu");
  try {
    const gs = Array.from({ length: 20 }, (_, i) => tf.tensor2d([[i, 1], [-2, 0.5 * i]]));
    const want = Math.sqrt(gs.reduce((s, _, i) => s + i * i + 1 + 4 + 0.25 * i * i, 0));
    const before = tf.memory().numTensors;
    const n = globalNorm(gs);
    const got = (await n.data())[0];
    n.dispose();
    assert.ok(Math.abs(got - want) <= 1e-6 * want, `${got} vs ${want}`);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(gs);
  } finally {
    await initNode("wasm");
  }
});
