// The sharing page's A/B files read as run records: the config each arm trained with,
// checked by training the record's first steps again in Node and comparing them with
// the file's losses (the same check the page's "Re-run and check" makes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { createModel, trainingBatches } from "../../lib/models/models.js";
import { Trainer } from "../../lib/train/trainer.js";
import { corpusFromGzip } from "../../lib/text/data.js";
import { sharingArmRecord, type SharingFile } from "../../lib/runs/precomputed.js";
import { agreementRule, compareLosses } from "../../lib/runs/agreement.js";
import { validateRunRecord } from "../../lib/runs/record.js";

await initNode("wasm");
const file = JSON.parse(await readFile(new URL("../../data/runs/sharing/tying.json", import.meta.url), "utf8")) as SharingFile;

test("a sharing arm's record holds its model, the experiment's settings at its seed, every step's loss, and says what the file did not keep", () => {
  const r = sharingArmRecord(file, 1, 2);
  assert.equal(validateRunRecord(JSON.parse(JSON.stringify(r))).id, r.id);
  assert.equal(r.spec.kind, "bytes");
  assert.deepEqual(r.spec.kind === "bytes" && r.spec.model, file.arms[1].model);
  assert.equal(r.train.seed, 2);
  assert.equal(r.train.steps, file.train.steps);
  assert.equal(r.train.warmupSteps, file.train.warmupSteps);
  assert.equal(r.train.batchSize, file.train.batchSize);
  assert.equal(r.metrics.steps.length, file.train.steps);
  assert.equal(r.lab.version, "unknown");
  assert.match(r.notes?.[0] ?? "", /keeps no data hash/);
  assert.throws(() => sharingArmRecord(file, 0, 9), /no run with seed 9/);
});

test("training a sharing arm's record again reproduces the file's first steps", async () => {
  const r = sharingArmRecord(file, 1, 2);
  const corpus = await corpusFromGzip("austen", new Uint8Array(await readFile(new URL("../../data/corpora/austen.jsonl.gz", import.meta.url))));
  const before = tf.memory().numTensors;
  const model = createModel(r.spec, r.train.seed);
  const trainer = new Trainer({ model, data: trainingBatches(model, corpus.train).data, train: r.train });
  const steps: { step: number; loss: number }[] = [];
  for await (const e of trainer.run()) {
    if (e.kind !== "step") continue;
    steps.push({ step: e.step, loss: e.loss });
    if (e.step >= 4) break;
  }
  trainer.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
  const a = compareLosses(r.metrics.steps, steps, agreementRule({ backend: "wasm", labVersion: "unknown" }, { backend: "wasm", labVersion: "0.1.0" }));
  assert.equal(a.verdict, "agrees", JSON.stringify(a.departure));
  assert.equal(a.compared, 4);
  assert.equal(a.equalToStoredDigits, true, "equal to the 4 decimals the file keeps");
});
