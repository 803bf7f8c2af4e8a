// Training snapshots for the tokenizer-free page's equal-time comparison: one seed of
// each model at one context and budget of data/runs/tokenizer-free/austen-compare.json
// (scripts/tokenizer-free-compare.ts), re-run for the step count and warm-up that run
// recorded (its time budget was turned into steps before it started, so a fixed-step
// re-run is the same run), with snapshots (lib/train/snapshots.ts) about every tenth
// of the run. The re-run's losses (every 10 steps, 4 decimals, as the file keeps them)
// and final validation bits/byte are compared with the stored ones and the largest
// differences written beside the snapshots (test/unit/precomputed-snapshots.test.ts
// checks them again). Does not touch austen-compare.json.
//
//   node --import tsx scripts/tokenizer-free-compare-snapshots.ts [--ctx 128] [--budget 90] [--seed 1] [--only bytes,local-word]
//
// --steps N --out DIR (a quick check, not for the page): only the first N steps
// (N <= the warm-up, whose learning rate does not depend on the run's length), into DIR.
//
// Writes data/runs/tokenizer-free/compare-snapshots.json.gz (gzip: attention maps
// compress about four times).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, REPO_ROOT } from "../lib/node/data.js";
import { tf } from "../lib/tf.js";
import { Trainer } from "../lib/train/trainer.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { trainBpe } from "../lib/text/bpe.js";
import { trainEntropyModel } from "../lib/text/entropy.js";
import { BPE_VOCAB, COMPARE_MODELS, buildModel, compareModel, compareSpec, compareTrain } from "../lib/experiments/tokenizer-free.js";
import { defaultSnapshotConfig, takeSnapshot, type Snapshot } from "../lib/train/snapshots.js";
import { parseFlags } from "../lib/cli/args.js";

/** About this many snapshots per run (and one at step 0). */
const SNAPSHOTS_PER_RUN = 6;

const f = parseFlags(
  process.argv.slice(2),
  { ctx: { kind: "int", min: 1, example: 128 }, budget: { kind: "int", min: 1, example: 90 }, seed: { kind: "int", min: 0, example: 1 }, only: "string", steps: { kind: "int", min: 1, example: 10 }, out: "string" },
  "tokenizer-free-compare-snapshots"
);
const ctx = (f.ctx as number | undefined) ?? 128;
const budget = (f.budget as number | undefined) ?? 90;
const seed = (f.seed as number | undefined) ?? 1;
const only = f.only ? String(f.only).split(",") : COMPARE_MODELS.map((m) => m.id);
const firstSteps = f.steps as number | undefined;
const log = (s: string) => process.stderr.write(s + "\n");

const source = "data/runs/tokenizer-free/austen-compare.json";
const stored = JSON.parse(await readFile(path.join(REPO_ROOT, source), "utf8")) as {
  corpus: string;
  evalBytes: number;
  runs: { model: string; label: string; ctx: number; budgetSeconds: number; seed: number; steps: number; warmupSteps: number; batchSize: number; learningRate: number; valBitsPerByte: number; parameters: number; losses: { step: number; loss: number }[] }[];
};
const info = await initNode("wasm");
const corpus = await loadCorpus(stored.corpus);
const bpe = trainBpe(corpus.train, BPE_VOCAB);
const entropy = trainEntropyModel(corpus.train);
const round = (x: number) => Math.round(x * 1e4) / 1e4;
const started = Date.now();

const dir = f.out ? path.resolve(String(f.out)) : path.join(REPO_ROOT, "data", "runs", "tokenizer-free");
await mkdir(dir, { recursive: true });
const file = path.join(dir, "compare-snapshots.json.gz");
const out: Record<string, unknown>[] = [];
// In --only's order; the file is written after every run, so an interrupted job keeps what it made.
for (const m of only.map(compareModel)) {
  const run = stored.runs.find((r) => r.model === m.id && r.ctx === ctx && r.budgetSeconds === budget && r.seed === seed);
  if (!run) throw new Error(`${source} has no run of ${m.id} at context ${ctx}, budget ${budget} s, seed ${seed}`);
  const config = compareSpec(m, ctx, bpe, entropy);
  const base = compareTrain(m, ctx);
  const steps = firstSteps ?? run.steps;
  const train = { ...base, steps, warmupSteps: run.warmupSteps, seed };
  if (train.batchSize !== run.batchSize || train.learningRate !== run.learningRate) throw new Error(`${m.id}: the stored run trained with batch ${run.batchSize}, lr ${run.learningRate}; this lab's setup gives ${train.batchSize}, ${train.learningRate}`);
  const every = Math.max(1, Math.ceil(run.steps / SNAPSHOTS_PER_RUN));
  const snapshotConfig = defaultSnapshotConfig(every);
  const tensorsBefore = tf.memory().numTensors;
  const built = buildModel(config, corpus.train, seed);
  if (built.model.parameterCount() !== run.parameters) throw new Error(`${m.id}: ${built.model.parameterCount()} parameters, the stored run ${run.parameters}`);
  const trainer = new Trainer({
    model: built.model,
    data: built.data,
    train,
    logEvery: 10,
    snapshot: { every, take: (step) => takeSnapshot(built.model, step, snapshotConfig) }
  });
  const losses: [number, number][] = [];
  const snapshots: Snapshot[] = [];
  const t0 = performance.now();
  for await (const e of trainer.run()) {
    if (e.kind === "step") losses.push([e.step, round(e.loss)]);
    else if (e.kind === "snapshot") snapshots.push(e.snapshot);
  }
  const val = firstSteps ? null : round(await bitsPerByte(built.scorer, corpus.val, { maxBytes: stored.evalBytes }));
  trainer.dispose();
  built.model.dispose();
  if (tf.memory().numTensors > tensorsBefore) log(`  warning: ${tf.memory().numTensors - tensorsBefore} tensors leaked`);
  const storedLoss = new Map(run.losses.map((l) => [l.step, l.loss]));
  const missing = losses.filter(([s]) => !storedLoss.has(s));
  if (missing.length) throw new Error(`${m.id}: the re-run logged steps the stored run did not (${missing.map(([s]) => s).join(", ")})`);
  if (!firstSteps && losses.length !== run.losses.length) throw new Error(`${m.id}: the re-run logged ${losses.length} losses, the stored run ${run.losses.length}`);
  const maxLossDiff = round(Math.max(0, ...losses.map(([s, l]) => Math.abs(l - storedLoss.get(s)!))));
  const valDiff = val === null ? null : round(Math.abs(val - run.valBitsPerByte));
  log(`${m.id}: ${steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${snapshots.length} snapshots; largest loss difference ${maxLossDiff}, val ${val} (stored ${run.valBitsPerByte}, difference ${valDiff})`);
  // bytesPerPosition: a BPE-token model's loss is per token; divided by this it is per byte.
  out.push({ model: m.id, label: m.label, seed, steps, warmupSteps: run.warmupSteps, bytesPerPosition: round(built.bytesPerPosition), snapshotConfig, maxLossDiff, valBitsPerByte: val, valDiff, losses, snapshots });
  await write();
}


async function write(): Promise<void> {
  const record = {
    source,
    corpus: stored.corpus,
    ctx,
    budgetSeconds: budget,
    seed,
    snapshotsPerRun: SNAPSHOTS_PER_RUN,
    command: `node --import tsx scripts/tokenizer-free-compare-snapshots.ts ${process.argv.slice(2).join(" ")}`.trim(),
    backend: info,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    createdAt: new Date().toISOString(),
    runs: out
  };
  const json = JSON.stringify(record);
  const gz = gzipSync(json, { level: 9 });
  await writeFile(file, gz);
  log(`wrote ${path.relative(REPO_ROOT, file)} (${json.length} bytes, gzipped ${gz.length})`);
}
