import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { chooseBackend, differenceFromCpu, VERIFY_TOLERANCE } from "../../lib/backend.js";
import { tf } from "../../lib/tf.js";

test("chooseBackend picks wasm with SIMD in Node, single-threaded", async () => {
  await initNode();
  const info = await chooseBackend({ prefer: "auto" });
  assert.deepEqual(info, { name: "wasm", requested: "auto", threads: 1, simd: true });
  assert.equal(tf.getBackend(), "wasm");
});

test("asking for a GPU backend in Node falls back to wasm and says why", async () => {
  await initNode();
  const info = await chooseBackend({ prefer: "webgpu" });
  assert.equal(info.name, "wasm");
  assert.equal(info.requested, "webgpu");
  assert.match(info.fallbackReason ?? "", /webgpu: no GPU backend in Node/);
  await chooseBackend({ prefer: "wasm" });
});

test("chooseBackend gives the pure-JS cpu backend when asked", async () => {
  await initNode();
  const info = await chooseBackend({ prefer: "cpu" });
  assert.deepEqual(info, { name: "cpu", requested: "cpu", threads: 1, simd: false });
  await chooseBackend({ prefer: "wasm" });
});

test("an unknown backend name is refused with the choices", async () => {
  await initNode();
  await assert.rejects(chooseBackend({ prefer: "tpu" as never }), /Unknown backend "tpu"; choose one of: auto, webgpu, webgl, wasm, cpu/);
});

test("the check computation agrees between wasm and cpu within the tolerance, and leaves no tensors", async () => {
  await initNode();
  const before = tf.memory().numTensors;
  const diff = await differenceFromCpu("wasm");
  assert.ok(diff <= VERIFY_TOLERANCE, `wasm differs from cpu by ${diff}`);
  assert.ok(diff < 1e-5, `wasm and cpu should agree to float32 rounding, got ${diff}`);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.getBackend(), "wasm");
});
