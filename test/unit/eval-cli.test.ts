// stlm eval --subset: the seeded subsets the evaluation page scores, from a real
// process on the committed checkpoint, equal to an in-process Evaluator's numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { stlm } from "./stlm.js";
import { initNode } from "../../lib/node/runtime.js";
import { loadCheckpointFile } from "../../lib/node/files.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../../lib/node/data.js";
import { labModelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { Evaluator } from "../../lib/eval/evaluation.js";
import { CORPUS_NAMES } from "../../lib/text/data.js";
import { tf } from "../../lib/tf.js";

const CHECKPOINT = path.join(REPO_ROOT, "data", "runs", "nano-austen");

test("stlm eval --subset N scores the first N items in seeded order and says so, as an in-process Evaluator does", async () => {
  const r = await stlm("eval", "--checkpoint", CHECKPOINT, "--json", "--max-bytes", "1000", "--subset", "12");
  assert.equal(r.code, 0, r.stderr);
  const cli = JSON.parse(r.stdout);
  assert.deepEqual(cli.subset, { bytes: { austen: 1000, "moby-dick": 1000, sotu: 1000, bible: 1000 }, minimalPairs: 12, nextSentence: 12, order: "seeded shuffle", seed: 1 });

  await initNode();
  const model = labModelFromCheckpoint(await loadCheckpointFile(CHECKPOINT));
  const before = tf.memory().numTensors;
  const corpora = [];
  for (const name of CORPUS_NAMES) corpora.push({ name, test: (await loadCorpus(name)).test });
  const report = await new Evaluator(model.byteScorer, { corpora, minimalPairs: await loadEvalSet("minimal-pairs"), nextSentence: await loadEvalSet("next-sentence") }).evaluate({ bytes: 1000, items: 12 });
  assert.equal(tf.memory().numTensors, before, "the evaluation leaked tensors");
  model.dispose();
  for (const name of CORPUS_NAMES) assert.ok(Math.abs(report.testBitsPerByte[name] - cli.testBitsPerByte[name]) < 1e-6, name);
  assert.deepEqual(report.minimalPairs, cli.minimalPairs);
  assert.deepEqual(report.nextSentence, cli.nextSentence);
});

test("stlm eval refuses --subset with --limit, and a subset below 1, naming the flags", async () => {
  const both = await stlm("eval", "--checkpoint", CHECKPOINT, "--subset", "10", "--limit", "10");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --subset N \(the first N items in seeded order\) or --limit N \(N evenly spaced items\), not both/);
  const zero = await stlm("eval", "--checkpoint", CHECKPOINT, "--subset", "0");
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--subset/);
});
