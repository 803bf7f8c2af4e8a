// The worker's side of the evaluate command (src/components/lab-eval.ts), in Node:
// the evaluation engine loads any checkpoint, evaluates it to the Evaluator's numbers,
// extends, refuses what it cannot do in words, and leaves no tensor behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { initNode } from "../../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../../lib/node/data.js";
import { CORPUS_NAMES } from "../../lib/text/data.js";
import { tf } from "../../lib/tf.js";
import { evalEngine } from "../../src/components/lab-eval.js";
import { validateCommand } from "../../src/components/lab-protocol.js";

await initNode();
const corpora = [];
for (const name of CORPUS_NAMES) corpora.push({ name, test: (await loadCorpus(name)).test });
const data = { corpora, minimalPairs: await loadEvalSet("minimal-pairs"), nextSentence: await loadEvalSet("next-sentence") };
const committed = JSON.parse(await readFile(path.join(REPO_ROOT, "data", "runs", "evaluate", "nano-austen.json"), "utf8"));

test("the evaluate and cancelEvaluate commands are checked field by field", () => {
  assert.equal(validateCommand({ id: 1, type: "evaluate", job: 2, evaluation: 3, size: { bytes: 2048, items: 20 } }).type, "evaluate");
  assert.throws(() => validateCommand({ id: 1, type: "evaluate", job: 2, evaluation: 3 }), /command "evaluate": size must be an object, got nothing/);
  assert.throws(() => validateCommand({ id: 1, type: "evaluate", job: 2, evaluation: "x", size: {} }), /evaluation must be an integer/);
  assert.equal(validateCommand({ id: 1, type: "cancelEvaluate", job: 2, evaluation: 3 }).type, "cancelEvaluate");
});

test("the evaluation engine evaluates a loaded checkpoint to stlm eval's committed numbers, then extends", async () => {
  const before = tf.memory().numTensors;
  const engine = evalEngine();
  const snapshots: unknown[] = [];
  engine.subscribe((s) => snapshots.push(s));
  await assert.rejects(engine.evaluate!({ bytes: 2048, items: 20 }, data, {}), /no checkpoint is loaded to evaluate/);
  await assert.rejects(engine.load!(new Uint8Array(10), "junk.safetensors", { onlyIfIdle: false }), /junk\.safetensors/);
  const bytes = new Uint8Array(await readFile(path.join(REPO_ROOT, "data", "runs", "nano-austen", "checkpoint.safetensors")));
  assert.equal(await engine.load!(bytes, "nano", { onlyIfIdle: false }), true);
  assert.deepEqual(snapshots.at(-1), { status: "loaded", label: "nano", kind: "bytes", parameters: 230080, trainCorpus: "austen" });
  // The data came with the first call and stayed.
  const small = await engine.evaluate!({ bytes: 2048, items: 20 }, undefined, {});
  assert.equal(small.report.minimalPairs.n, 20);
  assert.equal(small.tensors.after, small.tensors.before, "the evaluation left no tensor behind");
  const seen: number[] = [];
  const { report } = await engine.evaluate!({ bytes: 16384, items: 100 }, undefined, { onProgress: (p) => seen.push(p.done) });
  const cli = committed.subset.result;
  for (const name of CORPUS_NAMES) assert.ok(Math.abs(report.testBitsPerByte[name] - cli.testBitsPerByte[name]) < 1e-6, name);
  assert.deepEqual(report.minimalPairs, cli.minimalPairs);
  assert.deepEqual(report.nextSentence, cli.nextSentence);
  assert.ok(seen.length > 1);
  await engine.dispose();
  assert.equal(tf.memory().numTensors, before, "disposing the engine freed its model");
});
