import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { compareBackends } from "../../lib/eval/verify.js";
import { tf } from "../../lib/tf.js";

await initNode();

test("one training step on the cpu backend agrees with the same step on wasm", async () => {
  const before = tf.memory().numTensors;
  const r = await compareBackends("cpu", { reference: "wasm" });
  assert.equal(r.candidate.name, "cpu");
  assert.equal(r.reference.name, "wasm");
  assert.ok(r.agrees, `loss differs by ${r.lossRelDiff}, gradients by ${r.gradRelDiff}`);
  assert.ok(r.gradRelDiff > 0, "two backends' float sums differ a little; exactly equal gradients would mean one backend ran twice");
  assert.ok(Math.abs(r.loss - Math.log(258)) < 0.1, "an untrained model's loss is about ln 258");
  assert.equal(tf.memory().numTensors, before);
  await initNode("wasm");
});

test("asking to compare with a backend that is not there says so", async () => {
  await assert.rejects(compareBackends("webgpu"), /webgpu backend is not available here/);
  await initNode("wasm");
});
