import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { Trainer, type TrainEvent } from "../../lib/train/trainer.js";
import { learningRateAt } from "../../lib/train/optim.js";
import { encodeCheckpoint, decodeCheckpoint, modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { sample } from "../../lib/eval/sample.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

async function losses(trainer: Trainer): Promise<number[]> {
  const out: number[] = [];
  for await (const e of trainer.run()) if (e.kind === "step") out.push(e.loss);
  return out;
}

test("the tensor count stays flat over 200 training steps", async () => {
  const { model: mc, train } = tinyConfigs({}, { steps: 200, evalEvery: 50 });
  const model = TinyLM.create(mc, 1);
  const before = tf.memory().numTensors;
  const trainer = new Trainer({ model, data: sampler(), train, evaluate: () => bitsPerByte(model, TEXT.subarray(0, 200)) });
  const counts: number[] = [];
  for await (const e of trainer.run()) if (e.kind === "step" && e.step % 20 === 0) counts.push(tf.memory().numTensors);
  assert.equal(new Set(counts).size, 1, `tensor counts moved: ${counts.join(", ")}`);
  trainer.dispose();
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test("training lowers the loss and the same seed gives the same losses", async () => {
  const run = async (seed: number) => {
    const { model: mc, train } = tinyConfigs({ dropout: 0.1 }, { steps: 40, seed });
    const model = TinyLM.create(mc, seed);
    const trainer = new Trainer({ model, data: sampler(), train });
    const l = await losses(trainer);
    trainer.dispose();
    model.dispose();
    return l;
  };
  const [a, b, c] = [await run(1), await run(1), await run(2)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a[a.length - 1] < a[0] - 1, `loss fell only from ${a[0]} to ${a[a.length - 1]}`);
});

test("a checkpoint round trip gives the identical next-step loss", async () => {
  const { model: mc, train } = tinyConfigs({ dropout: 0.1 }, { steps: 12 });
  const model = TinyLM.create(mc, 1);
  const first = new Trainer({ model, data: sampler(), train: { ...train, steps: 6 } });
  await losses(first);
  const bytes = encodeCheckpoint({ spec: { kind: "bytes", model: mc }, trainConfig: train, weights: await model.weights(), trainer: await first.state(), meta: {} });
  const continued = new Trainer({ model, data: sampler(), train, state: await first.state() });
  first.dispose();
  const expected = await losses(continued);
  continued.dispose();
  model.dispose();

  const ckpt = decodeCheckpoint(bytes);
  const restored = modelFromCheckpoint(ckpt);
  const resumed = new Trainer({ model: restored, data: sampler(), train: ckpt.trainConfig, state: ckpt.trainer });
  const got = await losses(resumed);
  resumed.dispose();
  restored.dispose();
  assert.equal(got.length, 6);
  assert.deepEqual(got, expected);
});

test("pause holds the run, resume continues it and stop ends it early", async () => {
  const { model: mc, train } = tinyConfigs({}, { steps: 30 });
  const model = TinyLM.create(mc, 1);
  const trainer = new Trainer({ model, data: sampler(), train });
  const kinds: TrainEvent["kind"][] = [];
  for await (const e of trainer.run()) {
    kinds.push(e.kind);
    if (e.kind === "step" && e.step === 3) {
      trainer.pause();
      setTimeout(() => trainer.resume(), 30);
    }
    if (e.kind === "step" && e.step === 8) trainer.stop();
    if (e.kind === "done") {
      assert.equal(e.step, 8);
      assert.equal(e.stopped, true);
    }
  }
  assert.deepEqual(kinds.slice(3, 5), ["paused", "resumed"]);
  assert.equal(kinds.filter((k) => k === "step").length, 8);
  trainer.dispose();
  model.dispose();
});

test("the learning rate warms up linearly, peaks, then decays along a cosine to the floor", () => {
  const c = { learningRate: 1e-3, warmupSteps: 10, steps: 110, minLrRatio: 0.1 };
  assert.ok(Math.abs(learningRateAt(0, c) - 1e-4) < 1e-12);
  assert.ok(Math.abs(learningRateAt(9, c) - 1e-3) < 1e-12);
  assert.ok(Math.abs(learningRateAt(60, c) - 5.5e-4) < 1e-9);
  assert.ok(Math.abs(learningRateAt(110, c) - 1e-4) < 1e-12);
});

test("sampling is reproducible for a seed and leaks no tensors", async () => {
  const { model: mc } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  const before = tf.memory().numTensors;
  const a = await sample(model, TEXT.subarray(0, 5), { tokens: 20, temperature: 1, topK: 10, seed: 4 });
  const b = await sample(model, TEXT.subarray(0, 5), { tokens: 20, temperature: 1, topK: 10, seed: 4 });
  assert.equal(a.length, 20);
  assert.deepEqual(a, b);
  assert.ok(a.every((v) => v < 256), "specials are never sampled");
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

test("the loss is read back every step on wasm and cpu, every few steps on GPU backends", async () => {
  const { defaultLogEvery, GPU_LOG_EVERY } = await import("../../lib/train/trainer.js");
  assert.equal(defaultLogEvery("wasm"), 1);
  assert.equal(defaultLogEvery("cpu"), 1);
  assert.equal(defaultLogEvery("webgpu"), GPU_LOG_EVERY);
  assert.equal(defaultLogEvery("webgl"), GPU_LOG_EVERY);
  assert.ok(GPU_LOG_EVERY > 1);
});

test("a diagnose hook runs at every evaluation step and each result becomes a diagnostic event", async () => {
  const { model: mc, train } = tinyConfigs({}, { steps: 25, evalEvery: 10 });
  const model = TinyLM.create(mc, 1);
  let calls = 0;
  const trainer = new Trainer({
    model,
    data: sampler(),
    train,
    evaluate: async () => 1,
    diagnose: async () => {
      calls++;
      return [{ name: "a", value: calls }, { name: "b", value: -calls, ...(calls === 2 ? { warning: "something is off" } : {}) }];
    }
  });
  const events: Extract<TrainEvent, { kind: "eval" | "diagnostic" }>[] = [];
  for await (const e of trainer.run()) if (e.kind === "eval" || e.kind === "diagnostic") events.push(e);
  assert.equal(calls, 3, "steps 10, 20 and the last (25)");
  assert.deepEqual(
    events.map((e) => (e.kind === "eval" ? `eval@${e.step}` : `${e.name}=${e.value}@${e.step}${e.warning ? ` (${e.warning})` : ""}`)),
    ["eval@10", "a=1@10", "b=-1@10", "eval@20", "a=2@20", "b=-2@20 (something is off)", "eval@25", "a=3@25", "b=-3@25"]
  );
  const noWarning = events.find((e) => e.kind === "diagnostic" && e.name === "b" && e.step === 10)!;
  assert.ok(!("warning" in noWarning), "no warning field when the hook gives none");
  trainer.dispose();
  model.dispose();
});
