// The sharing page's precomputed A/B runs: both arms of each experiment in
// lib/experiments/sharing.ts trained in Node on a corpus, once per seed, one JSON file
// per experiment in data/runs/sharing/ (each arm's runs under "seeds", with the first
// seed's curves also at the arm's top level for the page's live-run comparison).
//
//   node --import tsx scripts/sharing-runs.ts [--corpus austen] [--steps 250] [--seeds 1,2,3] [--only tying,shared-ffn] [--snapshot-every 50] [--out DIR]
//
// --snapshot-every N: the first seed's runs also take training snapshots (lib/train/snapshots.ts)
// every N steps, written to DIR/snapshots/ID.json.gz in scripts/sharing-snapshots.ts's format
// (there the re-run of an older file; here the figure's own run, so every difference is 0).
// --out DIR: write there instead of data/runs/sharing (a quick check).
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus } from "../lib/node/data.js";
import { SHARING_EXPERIMENTS, SHARING_TRAIN, SharingRun } from "../lib/experiments/sharing.js";
import { parseFlags } from "../lib/cli/args.js";
import { gzipSync } from "node:zlib";
import { defaultSnapshotConfig, type Snapshot } from "../lib/train/snapshots.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const f = parseFlags(process.argv.slice(2), { corpus: "string", steps: "number", only: "string", seeds: "string", "snapshot-every": { kind: "int", min: 1, example: 50 }, out: "string" }, "sharing-runs");
const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds takes whole numbers separated by commas (got ${f.seeds})`);
const corpusName = (f.corpus as string | undefined) ?? "austen";
const steps = (f.steps as number | undefined) ?? SHARING_TRAIN.steps!;
const only = f.only ? String(f.only).split(",") : null;

const backend = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
const outDir = f.out ? path.resolve(String(f.out)) : path.join(ROOT, "data", "runs", "sharing");
const snapshotEvery = f["snapshot-every"] as number | undefined;
await mkdir(outDir, { recursive: true });
const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

for (const experiment of SHARING_EXPERIMENTS) {
  if (only && !only.includes(experiment.id)) continue;
  const started = Date.now();
  const perSeed: { seed: number; records: SharingRun["records"] }[] = [];
  const snapshotConfig = snapshotEvery ? defaultSnapshotConfig(snapshotEvery) : undefined;
  const snapshots: Snapshot[][] = [[], []];
  for (const seed of seeds) {
    const run = new SharingRun(experiment, corpus, { steps, seed }, seed === seeds[0] && snapshotConfig ? { snapshots: snapshotConfig } : {});
    try {
      for await (const { arm, event } of run.events()) {
        if (event.kind === "snapshot") snapshots[arm].push(event.snapshot);
        if (event.kind === "eval") process.stderr.write(`${experiment.id} seed ${seed} [${arm}] step ${event.step}: val ${event.valBitsPerByte.toFixed(3)} bits/byte\n`);
      }
    } finally {
      run.dispose();
    }
    perSeed.push({ seed, records: run.records });
  }
  const file = path.join(outDir, `${experiment.id}.json`);
  const armRun = (r: SharingRun["records"][number], seed: number) => ({
    seed,
    tokensPerSecond: Math.round(r.tokensPerSecond),
    trainingSeconds: round(r.trainingSeconds, 1),
    finalValBitsPerByte: r.evals.at(-1)?.valBitsPerByte ?? null,
    steps: r.steps.map((s) => [s.step, round(s.loss)]),
    evals: r.evals.map((e) => [e.step, round(e.valBitsPerByte)])
  });
  const record = {
    experiment: experiment.id,
    title: experiment.title,
    corpus: corpusName,
    train: { ...SHARING_TRAIN, steps, seed: seeds[0] },
    seeds,
    command: `node --import tsx scripts/sharing-runs.ts --corpus ${corpusName} --steps ${steps} --seeds ${seeds.join(",")} --only ${experiment.id}`,
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    wallSeconds: Math.round((Date.now() - started) / 1000),
    createdAt: new Date().toISOString(),
    arms: perSeed[0].records.map((r, i) => ({
      label: r.label,
      model: r.model,
      parameters: r.parameters,
      // The first seed's run, as the page's live comparison draws it ...
      ...armRun(r, seeds[0]),
      // ... and every seed's.
      seeds: perSeed.map((p) => armRun(p.records[i], p.seed))
    }))
  };
  await writeFile(file, JSON.stringify(record) + "\n");
  if (snapshotConfig) {
    // The first seed's snapshots, beside the runs they belong to (the page's replay).
    const snapshotFile = path.join(outDir, "snapshots", `${experiment.id}.json.gz`);
    await mkdir(path.dirname(snapshotFile), { recursive: true });
    const first = record.arms.map((a) => a.seeds[0]);
    const snapshotRecord = {
      experiment: experiment.id,
      source: `data/runs/sharing/${experiment.id}.json`,
      seed: seeds[0],
      totalSteps: steps,
      snapshots: snapshotConfig,
      command: `${record.command} --snapshot-every ${snapshotEvery}`,
      backend: record.backend,
      createdAt: record.createdAt,
      arms: record.arms.map((a, i) => ({ label: a.label, seed: seeds[0], parameters: a.parameters, maxLossDiff: 0, maxValDiff: 0, steps: first[i].steps, evals: first[i].evals, snapshots: snapshots[i] }))
    };
    await writeFile(snapshotFile, gzipSync(JSON.stringify(snapshotRecord), { level: 9 }));
    process.stderr.write(`wrote ${path.relative(ROOT, snapshotFile)}: ${snapshots.map((s) => s.length).join(" and ")} snapshots\n`);
  }
  process.stderr.write(`wrote ${path.relative(ROOT, file)}: ${record.arms.map((a) => `${a.label} ${a.seeds.map((s) => s.finalValBitsPerByte?.toFixed(3)).join("/")} bpb, ${a.parameters} params`).join("; ")}\n`);
}
