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
