import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { TinyLM } from "../../lib/model.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from "../../lib/checkpoint.js";
import { tinyConfigs } from "./fixtures.js";

await initNode();

async function checkpointBytes() {
  const { model: mc, train } = tinyConfigs();
  const model = TinyLM.create(mc, 1);
  const bytes = encodeCheckpoint({ modelConfig: mc, trainConfig: train, weights: await model.weights(), meta: { note: "test" } });
  model.dispose();
  return { bytes, mc, train };
}

test("a checkpoint decodes to the weights and configs it was made from", async () => {
  const { bytes, mc, train } = await checkpointBytes();
  const ckpt = decodeCheckpoint(bytes);
  assert.deepEqual(ckpt.modelConfig, mc);
  assert.deepEqual(ckpt.trainConfig, train);
  assert.equal(ckpt.trainer, undefined);
  assert.equal(ckpt.meta.note, "test");
  const model = modelFromCheckpoint(ckpt);
  assert.equal(model.parameterCount(), [...ckpt.weights.values()].reduce((n, t) => n + t.data.length, 0));
  model.dispose();
});

test("a truncated checkpoint is refused with a message that says it was cut short", async () => {
  const { bytes } = await checkpointBytes();
  for (const n of [bytes.length - 1, bytes.length - 1000, 200, 20, 3]) {
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, n), "run/checkpoint.stlm"), (e: Error) => e instanceof CheckpointError && /run\/checkpoint\.stlm/.test(e.message) && /(truncated|too short)/.test(e.message));
  }
});

test("a corrupted checkpoint is refused by its checksum", async () => {
  const { bytes } = await checkpointBytes();
  const bad = bytes.slice();
  bad[bad.length - 7] ^= 0xff;
  assert.throws(() => decodeCheckpoint(bad), /corrupted/);
});

test("a file that is not a checkpoint is named as such", () => {
  assert.throws(() => decodeCheckpoint(new TextEncoder().encode("just some text, not a checkpoint")), /not an stlm checkpoint/);
});

test("weights that do not fit the config are refused naming the tensor and both shapes", async () => {
  const { bytes, mc } = await checkpointBytes();
  const ckpt = decodeCheckpoint(bytes);
  assert.throws(() => modelFromCheckpoint({ ...ckpt, modelConfig: { ...mc, ffnHidden: 48 } }), /"blocks\.0\.mlp\.w1" has shape \[16,32\] but the config expects \[16,48\]/);
  const missing = new Map(ckpt.weights);
  missing.delete("finalNorm");
  assert.throws(() => modelFromCheckpoint({ ...ckpt, weights: missing }), /lack tensor "finalNorm"/);
});
