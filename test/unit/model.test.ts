import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor2D } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM, parameterShapes } from "../../lib/models/model.js";
import { presetConfig } from "../../lib/config.js";
import { tinyConfigs } from "./fixtures.js";

await initNode();

const ids = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], "int32") as Tensor2D;

test("the logits at position t do not change when bytes after t change", async () => {
  const { model: mc } = tinyConfigs({ nKvHead: 1 });
  const model = TinyLM.create(mc, 3);
  const before = tf.memory().numTensors;
  const a = Array.from({ length: 16 }, (_, i) => (i * 37) % 256);
  const t = 9;
  const b = a.map((v, i) => (i > t ? (v + 101) % 256 : v));
  const [la, lb] = tf.tidy(() => [model.forward(ids([a])).logits.arraySync()[0], model.forward(ids([b])).logits.arraySync()[0]]);
  for (let i = 0; i <= t; i++) for (let v = 0; v < mc.vocabSize; v++) assert.ok(Math.abs(la[i][v] - lb[i][v]) < 1e-5, `position ${i} changed`);
  const changed = la[t + 1].some((x, v) => Math.abs(x - lb[t + 1][v]) > 1e-4);
  assert.ok(changed, "a changed input byte must change its own position's logits (the test would be vacuous otherwise)");
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test("tied embeddings are one tensor that serves as both input table and output head", () => {
  const { model: mc } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  const tables = model.params.filter((p) => p.variable.shape.join() === `${mc.vocabSize},${mc.dModel}`);
  assert.equal(tables.length, 1);
  assert.equal(tables[0].name, "embed");
  // Changing one row of the embedding changes that byte's logit even where the byte is not in the input.
  const x = ids([[1, 2, 3, 4]]);
  const before = tf.tidy(() => model.forward(x).logits.arraySync()[0][3][200]);
  tf.tidy(() => {
    const e = model.param("embed");
    const bump = tf.scatterND([[200]], tf.ones([1, mc.dModel]), [mc.vocabSize, mc.dModel]);
    e.assign(tf.add(e, bump));
  });
  const after = tf.tidy(() => model.forward(x).logits.arraySync()[0][3][200]);
  assert.notEqual(before, after);
  x.dispose();
  model.dispose();
  const untied = TinyLM.create({ ...mc, tieEmbeddings: false }, 1);
  assert.equal(untied.params.filter((p) => p.variable.shape.join() === `${mc.vocabSize},${mc.dModel}`).length, 2);
  untied.dispose();
});

test("the presets have the parameter counts the issue states", () => {
  const count = (name: string) => parameterShapes(presetConfig(name).model).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(count("nano"), 230080);
  assert.equal(count("micro"), 886144);
  const model = TinyLM.create(presetConfig("nano").model, 1);
  assert.equal(model.parameterCount(), 230080);
  model.dispose();
});

test("the same seed gives the same weights and a different seed different ones", async () => {
  const { model: mc } = tinyConfigs();
  const [a, b, c] = [TinyLM.create(mc, 5), TinyLM.create(mc, 5), TinyLM.create(mc, 6)];
  const [wa, wb, wc] = await Promise.all([a.weights(), b.weights(), c.weights()]);
  assert.deepEqual(wa.get("blocks.1.mlp.w2")!.data, wb.get("blocks.1.mlp.w2")!.data);
  assert.notDeepEqual(wa.get("blocks.1.mlp.w2")!.data, wc.get("blocks.1.mlp.w2")!.data);
  [a, b, c].forEach((m) => m.dispose());
});

test("an untrained model predicts bytes close to uniformly", async () => {
  const { model: mc } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  const x = ids([[72, 101, 108, 108, 111, 32, 119, 111]]), y = ids([[101, 108, 108, 111, 32, 119, 111, 114]]);
  const loss = model.loss(x, y);
  assert.ok(Math.abs((await loss.data())[0] - Math.log(mc.vocabSize)) < 0.05);
  tf.dispose([x, y, loss]);
  model.dispose();
});

test("a sequence longer than the context is refused with a clear message", () => {
  const { model: mc } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  const x = ids([Array.from({ length: 17 }, () => 1)]);
  assert.throws(() => model.forward(x), /longer than the context \(blockSize 16\)/);
  x.dispose();
  model.dispose();
  assert.throws(() => model.forward(x), /disposed/);
});

test("forward with trace returns one [B, nHead, T, T] attention tensor per layer", () => {
  const { model: mc } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  tf.tidy(() => {
    const { trace } = model.forward(ids([[1, 2, 3], [4, 5, 6]]), { trace: true });
    assert.equal(trace!.attention.length, mc.nLayer);
    for (const a of trace!.attention) assert.deepEqual(a.shape, [2, mc.nHead, 3, 3]);
  });
  model.dispose();
});
