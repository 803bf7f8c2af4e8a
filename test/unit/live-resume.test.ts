// Resume in the browser, in Node: the page's LiveRun (what the training worker runs)
// saves a checkpoint mid-run with its optimizer state, a fresh LiveRun loads it and
// resumes, and the resumed steps are bit-identical to a run that never stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { LiveRun, type RunRequest, type RunSnapshot } from "../../src/components/live-run.js";
import { liveRunRecord } from "../../src/components/live-record.js";
import { modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { validateTrainConfig } from "../../lib/config.js";
import { BatchSampler, corpusFromGzip } from "../../lib/text/data.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { Trainer } from "../../lib/train/trainer.js";
import { learningRateAt } from "../../lib/train/optim.js";
import { CHECKPOINT_RECORD_KEY } from "../../lib/runs/build.js";
import { sha256 } from "../../lib/train/sha256.js";

await initNode("wasm");

const austen = () => readFile(new URL("../../data/corpora/austen.jsonl.gz", import.meta.url)).then((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
const request = (steps: number): RunRequest => ({ preset: "nano", corpus: { kind: "named", name: "austen", load: austen }, steps, learningRate: 3e-3, seed: 7 });
const STEPS = 6;

function until(run: LiveRun, done: (s: RunSnapshot) => boolean): Promise<RunSnapshot> {
  return new Promise((resolve) => {
    let off: (() => void) | null = null;
    off = run.subscribe((s) => {
      if (!done(s)) return;
      queueMicrotask(() => off?.());
      resolve(s);
    });
  });
}
const ended = (s: RunSnapshot) => s.status === "done" || s.status === "stopped" || s.status === "error";

test("a checkpoint saved mid-run keeps its optimizer state and resumes bit-identically to a run that never stopped", async () => {
  const before = tf.memory().numTensors;
  const whole = new LiveRun({ backend: "wasm" });
  void whole.start(request(STEPS));
  const w = await until(whole, ended);
  assert.equal(w.status, "done", w.message);
  const wholeWeights = await whole.model!.weights();
  await whole.dispose();

  const first = new LiveRun({ backend: "wasm" });
  void first.start(request(STEPS));
  await until(first, (s) => s.steps.length >= 2);
  first.pause();
  await until(first, (s) => s.status === "paused");
  const bytes = await first.checkpointBytes();
  await first.dispose();
  const saved = decodeCheckpoint(bytes, "the mid-run checkpoint");
  const k = saved.trainer?.step;
  assert.ok(k !== undefined && k >= 2 && k < STEPS, `the checkpoint holds the trainer state at a step inside the run (got ${k})`);
  assert.equal(saved.meta.corpus, "austen");

  const second = new LiveRun({ backend: "wasm" });
  await second.load(bytes, "mid-run.safetensors");
  assert.deepEqual(second.state.resumable, { step: k, steps: STEPS, corpus: "austen" });
  // Saving the loaded checkpoint again keeps its optimizer state.
  const again = decodeCheckpoint(await second.checkpointBytes(), "the re-saved checkpoint");
  assert.equal(again.trainer?.step, k);
  assert.deepEqual(again.trainer?.optimizer.m.get("embed")?.data, saved.trainer?.optimizer.m.get("embed")?.data);
  // Resuming on another corpus is refused, saying which one to choose.
  void second.start({ ...request(STEPS), corpus: { kind: "text", name: "notes", text: "x".repeat(4000) }, resume: true });
  const refused = await until(second, (s) => s.status === "error");
  assert.match(refused.message ?? "", /trained on austen.*choose austen under Corpus/);
  void second.start({ ...request(999), resume: true });
  const r = await until(second, (s) => s.runNumber > refused.runNumber && ended(s));
  assert.equal(r.status, "done", r.message);
  assert.equal(r.resumedFrom, k);
  assert.deepEqual(r.steps.map((s) => s.step), w.steps.slice(k).map((s) => s.step));
  assert.deepEqual(r.steps.map((s) => s.loss), w.steps.slice(k).map((s) => s.loss), "resumed losses are the uninterrupted run's, bit for bit");
  const resumedWeights = await second.model!.weights();
  for (const [name, t] of wholeWeights) assert.deepEqual(resumedWeights.get(name)?.data, t.data, `weights ${name} equal`);
  // A finished checkpoint has nothing left to resume.
  await second.load(await second.checkpointBytes(), "finished.safetensors");
  void second.start({ ...request(STEPS), resume: true });
  assert.match((await until(second, (s) => s.runNumber > r.runNumber && s.status === "error")).message ?? "", /finished all 6 of its planned steps/);
  await second.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("extend to N steps: a finished run trains on under an N-step plan, the CLI's --extend-to numbers, and resumes inside the extension bit-identically", async () => {
  const before = tf.memory().numTensors;
  const STEPS0 = 3;
  const N = 6;
  const first = new LiveRun({ backend: "wasm" });
  void first.start(request(STEPS0));
  assert.equal((await until(first, ended)).status, "done");
  const finished = await first.checkpointBytes();
  await first.dispose();

  // The CLI's path (lib/cli/train.ts --resume --extend-to): the checkpoint's model and trainer state, its config with steps = N.
  const ckpt = decodeCheckpoint(finished, "the finished checkpoint");
  const corpus = await corpusFromGzip("austen", new Uint8Array(await austen()));
  const cliModel = modelFromCheckpoint(ckpt);
  const cliTrain = validateTrainConfig({ ...ckpt.trainConfig, steps: N });
  const cli = new Trainer({ model: cliModel, data: new BatchSampler(corpus.train), train: cliTrain, state: ckpt.trainer!, evaluate: () => bitsPerByte(cliModel, corpus.val, { maxBytes: cliTrain.evalBytes }) });
  const cliLosses: number[] = [];
  for await (const ev of cli.run()) if (ev.kind === "step") cliLosses.push(ev.loss);
  cli.dispose();
  cliModel.dispose();
  assert.equal(cliLosses.length, N - STEPS0);

  const ext = new LiveRun({ backend: "wasm" });
  await ext.load(finished, "finished.safetensors");
  void ext.start({ ...request(STEPS0), resume: true, extendTo: STEPS0 });
  const refused = await until(ext, (s) => s.status === "error");
  assert.match(refused.message ?? "", /not longer than this checkpoint's planned 3 steps/);
  void ext.start({ ...request(STEPS0), resume: true, extendTo: N });
  const e = await until(ext, (s) => s.runNumber > refused.runNumber && ended(s));
  assert.equal(e.status, "done", e.message);
  assert.equal(e.train?.steps, N, "the plan is N steps now");
  assert.deepEqual(e.extensions?.map(({ atStep, fromSteps, toSteps }) => ({ atStep, fromSteps, toSteps })), [{ atStep: STEPS0, fromSteps: STEPS0, toSteps: N }]);
  assert.deepEqual(e.steps.map((s) => s.step), [4, 5, 6]);
  assert.deepEqual(e.steps.map((s) => s.loss), cliLosses, "the page's extension trains the CLI's --extend-to losses, bit for bit");
  for (const s of e.steps) assert.equal(s.lr, learningRateAt(s.step - 1, e.train!), `step ${s.step}'s learning rate is the ${N}-step schedule's`);
  assert.match(e.label, /resumed at step 3 and extended to 6 steps/);
  await ext.dispose();

  // Paused inside the extension, saved, loaded and resumed (no new total): the same steps as the extension that never stopped.
  const again = new LiveRun({ backend: "wasm" });
  await again.load(finished, "finished.safetensors");
  void again.start({ ...request(STEPS0), resume: true, extendTo: N });
  await until(again, (s) => s.steps.length >= 1 && s.resumedFrom !== undefined);
  again.pause();
  await until(again, (s) => s.status === "paused");
  const mid = await again.checkpointBytes();
  await again.dispose();
  const midCkpt = decodeCheckpoint(mid, "the mid-extension checkpoint");
  assert.equal(midCkpt.trainConfig.steps, N);
  assert.deepEqual((midCkpt.meta.extensions as { toSteps: number }[]).map((x) => x.toSteps), [N], "the checkpoint records the extension");
  const k = midCkpt.trainer!.step;
  const last = new LiveRun({ backend: "wasm" });
  await last.load(mid, "mid-extension.safetensors");
  assert.deepEqual(last.state.resumable, { step: k, steps: N, corpus: "austen" });
  void last.start({ ...request(STEPS0), resume: true });
  const r = await until(last, (s) => s.resumedFrom !== undefined && s.status !== "preparing" && ended(s));
  assert.equal(r.status, "done", r.message);
  assert.deepEqual(r.steps.map((s) => s.loss), cliLosses.slice(k - STEPS0), "resumed inside the extension: bit-identical");
  assert.equal(r.extensions?.length, 1, "the extension stays recorded");
  await last.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("a checkpoint that carries its run record hands it to the runs library, with the file's hash; a damaged one is said so", async () => {
  const run = new LiveRun({ backend: "wasm" });
  void run.start(request(2));
  const s = await until(run, ended);
  const record = liveRunRecord(s, { page: "/train", backend: { name: "wasm", threads: 1, simd: true, fma: true }, platform: "node", lab: { version: "0.1.0", commit: null } })!;
  const bytes = await run.checkpointBytes({ [CHECKPOINT_RECORD_KEY]: record });
  await run.load(bytes, "with-record.safetensors");
  assert.equal(run.state.loadedRecord?.id, record.id);
  assert.deepEqual(run.state.loadedRecord?.checkpoint, { sha256: sha256([bytes]), bytes: bytes.length });
  assert.deepEqual(run.state.loadedRecord?.metrics, record.metrics);
  await run.load(await run.checkpointBytes({ [CHECKPOINT_RECORD_KEY]: { ...record, version: 99 } }), "damaged.safetensors");
  assert.equal(run.state.loadedRecord, undefined);
  assert.match(run.state.message ?? "", /its run record was not read .*version 99/);
  await run.dispose();
});
