import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { PooledLM, chunkBatch, pooledConfig, type PooledConfig } from "../../lib/models/pooled.js";
import { strideSpans } from "../../lib/text/boundaries.js";
import { CHUNK_VARIANCE, COLLAPSE_VARIANCE_FLOOR, collapseGuard, collapseWarning, probeRows } from "../../lib/train/collapse.js";
import { Trainer } from "../../lib/train/trainer.js";
import { TEXT, sampler, tinyConfigs } from "./fixtures.js";

await initNode();

function tinyPooled(over: Partial<Parameters<typeof pooledConfig>[0]> = {}): PooledConfig {
  const { model } = tinyConfigs();
  return pooledConfig({ strategy: "stride", stride: 4, byteWindow: 32, byteDim: 16, byteHeads: 2, byteFfn: 32, encoderLayers: 1, decoderLayers: 1, reconstructionWeight: 0, core: model, ...over });
}

/** A copy of `model` with some weights replaced. */
async function withWeights(model: PooledLM, change: (name: string, data: Float32Array, shape: number[]) => Float32Array): Promise<PooledLM> {
  const w = await model.weights();
  for (const [name, t] of w) w.set(name, { shape: t.shape, data: change(name, t.data.slice(), t.shape) });
  return PooledLM.fromWeights(model.config, w);
}

async function train(lr: number, steps: number, causalDecoder = false): Promise<PooledLM> {
  const model = PooledLM.create(tinyPooled({ causalDecoder }), 1);
  const trainer = new Trainer({ model, data: sampler(), train: tinyConfigs({}, { steps, learningRate: lr }).train });
  for await (const _ of trainer.run());
  trainer.dispose();
  return model;
}

test("probeRows spreads rows of one length evenly over the text, the same rows every time", () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  const rows = probeRows(bytes, 3, 10);
  assert.deepEqual(rows.map((r) => [r[0], r.length]), [[0, 10], [45, 10], [90, 10]]);
  assert.deepEqual(probeRows(bytes, 3, 10), rows);
  assert.deepEqual(probeRows(bytes, 3, 500).map((r) => r.length), [100], "a text no longer than a row gives one whole-text row");
  assert.deepEqual(probeRows(bytes, 8, 98).map((r) => r[0]), [0, 1, 2], "rows never start at the same byte");
  assert.throws(() => probeRows(new Uint8Array(1), 2, 10), /at least 2 bytes/);
});

test("chunkVariance is the variance across real chunks of the pooled vectors, averaged over components", async () => {
  // With byteDim = dModel and an identity projection, forwardChunks' pooled output is the pooled vector itself.
  const base = PooledLM.create(tinyPooled(), 2);
  const model = await withWeights(base, (name, data, shape) => (name === "encoder.proj" ? Float32Array.from(data, (_, i) => (Math.floor(i / shape[1]) === i % shape[1] ? 1 : 0)) : data));
  const rows = [TEXT.subarray(0, 33), TEXT.subarray(100, 118)]; // 9 + 5 real chunks, padded slots between
  const batch = chunkBatch(rows, rows.map((r) => strideSpans(r.length, 4)), 4, model.config.core.blockSize);
  const pooled = tf.tidy(() => model.forwardChunks(batch).pooled);
  const values = (await pooled.data()) as Float32Array;
  pooled.dispose();
  const E = 16;
  const real = [...batch.chunkMask.keys()].filter((i) => batch.chunkMask[i] === 1);
  assert.equal(real.length, 14);
  let expected = 0;
  for (let d = 0; d < E; d++) {
    const xs = real.map((i) => values[i * E + d]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expected += xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length / E;
  }
  const before = tf.memory().numTensors;
  const got = await model.chunkVariance(rows);
  assert.equal(tf.memory().numTensors, before, "no tensors leak");
  assert.ok(Math.abs(got - expected) < 1e-6 * Math.max(1, expected), `${got} vs ${expected}`);
  const stats = await model.chunkStatistics(rows);
  assert.equal(stats.chunks, 14);
  assert.ok(stats.meanSquare >= stats.variance, "the mean square holds the variance and the squared mean");
  assert.ok(Number.isNaN(await model.chunkVariance([TEXT.subarray(0, 3)])), "one chunk has no spread to measure");
  assert.deepEqual(await collapseGuard(model, TEXT.subarray(0, 3), { learningRate: 1e-3 })(), [], "so the guard reports nothing");
  base.dispose();
  model.dispose();
});

test("the guard fires on pooled vectors made identical (a constant encoder) and names the learning rate", async () => {
  const base = PooledLM.create(tinyPooled(), 3);
  // A zero encoder-norm gain makes every byte's normed vector 0, so every chunk pools to the same vector.
  const model = await withWeights(base, (name, data) => (name === "encoder.norm" ? data.fill(0) : data));
  const [d] = await collapseGuard(model, TEXT, { learningRate: 0.008 })();
  assert.equal(d.name, CHUNK_VARIANCE);
  assert.equal(d.value, 0);
  assert.equal(d.warning, collapseWarning(0, COLLAPSE_VARIANCE_FLOOR, 0.008));
  assert.match(d.warning!, /^the pooled vectors have collapsed \(variance 0\.00+ < threshold [0-9.e-]+\): every chunk looks the same to the core, so the model is falling back to byte frequencies; lower the learning rate \(now 0\.008\)$/);
  const [healthy] = await collapseGuard(base, TEXT, { learningRate: 0.008 })();
  assert.ok(healthy.value > COLLAPSE_VARIANCE_FLOOR && healthy.warning === undefined, `a freshly initialised model is healthy (variance ${healthy.value})`);
  base.dispose();
  model.dispose();
});

test("the guard fires on a model trained into collapse at a high learning rate and stays silent on a healthy one", async () => {
  const collapsed = await train(3e-2, 150);
  const healthy = await train(3e-3, 300);
  const [c] = await collapseGuard(collapsed, TEXT, { learningRate: 3e-2 })();
  const [h] = await collapseGuard(healthy, TEXT, { learningRate: 3e-3 })();
  assert.ok(c.warning !== undefined, `lr 3e-2: variance ${c.value} should be below ${COLLAPSE_VARIANCE_FLOOR}`);
  assert.ok(h.warning === undefined, `lr 3e-3: variance ${h.value} should be above ${COLLAPSE_VARIANCE_FLOOR}`);
  collapsed.dispose();
  healthy.dispose();
});

test("the Trainer yields the guard's diagnostic at each evaluation step, and no tensors leak", async () => {
  const atStart = tf.memory().numTensors;
  const model = PooledLM.create(tinyPooled(), 4);
  const trainer = new Trainer({ model, data: sampler(), train: tinyConfigs({}, { steps: 20, evalEvery: 10, learningRate: 3e-3 }).train, diagnose: collapseGuard(model, TEXT, { learningRate: 3e-3 }) });
  const before = tf.memory().numTensors;
  const seen: { step: number; name: string; value: number }[] = [];
  for await (const e of trainer.run()) if (e.kind === "diagnostic") seen.push({ step: e.step, name: e.name, value: e.value });
  assert.equal(tf.memory().numTensors, before, "no tensors leak across steps and diagnostics");
  assert.deepEqual(seen.map((d) => [d.step, d.name]), [[10, CHUNK_VARIANCE], [20, CHUNK_VARIANCE]]);
  assert.ok(seen.every((d) => Number.isFinite(d.value) && d.value > 0));
  trainer.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, atStart);
});
