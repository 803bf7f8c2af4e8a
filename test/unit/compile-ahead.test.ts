// Trainer's compile-ahead pass (lib/compile-ahead.ts) needs tfjs-webgpu, which Node has not:
// here, that what it runs changes nothing (AdamW's dry update), that it does nothing off
// WebGPU, and that a Trainer with it trains as before. On WebGPU it is measured by
// test/e2e/responsive.test.ts's WebGPU run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { Rng } from "../../lib/rng.js";
import { AdamW } from "../../lib/train/optim.js";
import { canCompileAhead, compileAhead } from "../../lib/compile-ahead.js";

for (const backend of ["wasm", "cpu"] as const) {
  test(`AdamW's dry update on ${backend} leaves weights, moments and step as they were, and the next update as it would have been`, async () => {
    await initNode(backend);
    const rng = new Rng(3);
    const shapes = [[4, 3], [5]];
    const init = shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()));
    const grads = [0, 1].map(() => shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => 2 * rng.normal())));
    const make = () => {
      const params = shapes.map((s, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(init[i], s)) }));
      return { params, opt: new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1 }) };
    };
    const update = (opt: AdamW, g: Float32Array[], dry = false) => tf.tidy(() => opt.apply(g.map((x, i) => tf.tensor(x, shapes[i])), 1e-2, { dry }).dispose());
    const a = make();
    const b = make();
    update(a.opt, grads[0]);
    update(b.opt, grads[0]);
    const before = tf.memory().numTensors;
    update(a.opt, grads[1], true);
    assert.equal(tf.memory().numTensors, before, "the dry update keeps no tensor");
    assert.equal(a.opt.step, 1, "the dry update is not counted");
    const sa = await a.opt.state();
    const sb = await b.opt.state();
    for (const name of ["p0", "p1"]) {
      assert.deepEqual(sa.m.get(name)!.data, sb.m.get(name)!.data, `${name}'s first moment is untouched`);
      assert.deepEqual(sa.v.get(name)!.data, sb.v.get(name)!.data, `${name}'s second moment is untouched`);
    }
    a.params.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), b.params[i].variable.dataSync(), `p${i} is untouched`));
    update(a.opt, grads[1]);
    update(b.opt, grads[1]);
    a.params.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), b.params[i].variable.dataSync(), `p${i} after the next update`));
    for (const x of [a, b]) {
      x.opt.dispose();
      x.params.forEach((p) => p.variable.dispose());
    }
    await initNode("wasm");
  });
}

test("off WebGPU, compileAhead runs nothing and resolves 0", async () => {
  await initNode("wasm");
  assert.equal(canCompileAhead(), false);
  let ran = false;
  assert.equal(await compileAhead(() => void (ran = true)), 0);
  assert.equal(ran, false);
});
