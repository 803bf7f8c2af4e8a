import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { PooledLM, pooledConfig } from "../../lib/models/pooled.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { slotBitsPerByte, slotIndex, slotMeans } from "../../lib/eval/slots.js";
import { TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

test("slotMeans averages each slot's bits and skips unscored bytes", () => {
  const got = slotMeans([1, 2, 3, 4, 5, 9], [0, 1, 0, 1, 2, -1]);
  assert.deepEqual(got, [
    { slot: 0, bitsPerByte: 2, bytes: 2 },
    { slot: 1, bitsPerByte: 3, bytes: 2 },
    { slot: 2, bitsPerByte: 5, bytes: 1 }
  ]);
  assert.throws(() => slotMeans([1], [0, 1]), /one entry per byte/);
});

test("slotIndex gives each byte its position inside its chunk", () => {
  assert.deepEqual(Array.from(slotIndex([[0, 3], [3, 4], [4, 8]], 7)), [0, 1, 2, 0, 0, 1, 2]);
});

test("per-slot bits/byte of a pooled model average (byte-weighted) to its bits/byte", async () => {
  const { model } = tinyConfigs();
  for (const strategy of ["stride", "word"] as const) {
    const m = PooledLM.create(pooledConfig({ strategy, stride: 4, byteWindow: 32, byteDim: 16, byteHeads: 2, byteFfn: 32, encoderLayers: 1, decoderLayers: 1, reconstructionWeight: 0, core: model }), 3);
    const before = tf.memory().numTensors;
    const { bitsPerByte: overall, slots } = await slotBitsPerByte(m, TEXT, { maxBytes: 300, batchSize: 4 });
    assert.equal(tf.memory().numTensors, before, "no tensors leak");
    const reference = await bitsPerByte(m, TEXT, { maxBytes: 300 });
    assert.ok(Math.abs(overall - reference) < 1e-4, `${strategy}: ${overall} vs bitsPerByte ${reference}`);
    const bytes = slots.reduce((n, s) => n + s.bytes, 0);
    assert.equal(bytes, 299, "every byte but the first is scored once");
    const weighted = slots.reduce((a, s) => a + s.bitsPerByte * s.bytes, 0) / bytes;
    assert.ok(Math.abs(weighted - overall) < 1e-9);
    if (strategy === "stride") assert.equal(slots.length, 4, "stride 4: slots 0..3");
    m.dispose();
  }
});
