// Training snapshots for the sharing page's precomputed A/B runs: each experiment's
// first seed (both arms) re-run with the exact configuration its file in
// data/runs/sharing/ records (scripts/sharing-runs.ts), this time with snapshots
// (lib/train/snapshots.ts) every --every steps. The re-run's losses and validation
// bits/byte are compared with the stored ones, step by step, and the largest
// differences are written beside the snapshots, so the snapshots provably belong to
// the runs the page draws (test/unit/precomputed-snapshots.test.ts checks it again).
// A re-run that departs by more than RERUN_TOLERANCE (lib/runs/precomputed-snapshots.ts)
// is written without its snapshots, with the differences, and the page says so.
//
//   node --import tsx scripts/sharing-snapshots.ts [--every 50] [--only tying,shared-ffn]
//
// --steps N --out DIR (a quick check, not for the page): re-run only the first N steps
// and compare them with the stored run's first N, writing into DIR (within the 20
// warm-up steps the learning rate does not depend on the run's length).
//
// Writes data/runs/sharing/snapshots/ID.json.gz (gzip: the attention maps of eight
// layers compress about four times); the page loads one experiment's file when the
// reader picks it.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus } from "../lib/node/data.js";
import { SHARING_EXPERIMENTS, SharingRun } from "../lib/experiments/sharing.js";
import { defaultSnapshotConfig, type Snapshot } from "../lib/train/snapshots.js";
import type { SharingFile } from "../lib/runs/precomputed.js";
import { sharingReplayRecord } from "../lib/runs/precomputed-snapshots.js";
import { parseFlags } from "../lib/cli/args.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const f = parseFlags(process.argv.slice(2), { every: { kind: "int", min: 1, example: 50 }, only: "string", steps: { kind: "int", min: 1, example: 20 }, out: "string" }, "sharing-snapshots");
const every = (f.every as number | undefined) ?? 50;
const only = f.only ? String(f.only).split(",") : null;

const backend = await initNode("wasm");
const outDir = f.out ? path.resolve(String(f.out)) : path.join(ROOT, "data", "runs", "sharing", "snapshots");
const firstSteps = f.steps as number | undefined;
await mkdir(outDir, { recursive: true });
const round = (x: number) => Math.round(x * 1e4) / 1e4;
/** The largest difference between a re-run's [step, value] rows and the stored ones; in a full re-run both must log the same steps. */
const maxDiff = (rerun: [number, number][], storedRows: [number, number][]) => {
  const byStep = new Map(storedRows.map(([s, v]) => [s, v]));
  const sameSteps = rerun.length === storedRows.length && rerun.every(([s], i) => s === storedRows[i][0]);
  if (!firstSteps && !sameSteps) throw new Error(`the re-run logged steps ${rerun.map(([s]) => s).join(",")}, the stored run ${storedRows.map(([s]) => s).join(",")}`);
  return Math.max(0, ...rerun.filter(([s]) => byStep.has(s)).map(([s, v]) => Math.abs(v - byStep.get(s)!)));
};

for (const experiment of SHARING_EXPERIMENTS) {
  if (only && !only.includes(experiment.id)) continue;
  const source = `data/runs/sharing/${experiment.id}.json`;
  const stored = JSON.parse(await readFile(path.join(ROOT, source), "utf8")) as SharingFile & { corpus: string; train: Record<string, unknown>; seeds: number[] };
  const seed = stored.seeds[0];
  const corpus = await loadCorpus(stored.corpus);
  const snapshots = defaultSnapshotConfig(every);
  const started = Date.now();
  const run = new SharingRun(experiment, corpus, { ...stored.train, seed, ...(firstSteps ? { steps: firstSteps } : {}) }, { snapshots });
  const taken: Snapshot[][] = [[], []];
  try {
    for await (const { arm, event } of run.events()) {
      if (event.kind === "snapshot") {
        taken[arm].push(event.snapshot);
        process.stderr.write(`${experiment.id} seed ${seed} [${arm}] snapshot at step ${event.step}\n`);
      }
    }
  } finally {
    run.dispose();
  }
  const arms = run.records.map((r, i) => {
    const storedArm = stored.arms[i];
    if (storedArm.label !== r.label) throw new Error(`${source}: arm ${i} is "${storedArm.label}", the experiment's is "${r.label}": remake the runs first`);
    const storedSeed = storedArm.seeds!.find((s) => s.seed === seed)!;
    const steps = r.steps.map((s) => [s.step, round(s.loss)] as [number, number]);
    const evals = r.evals.map((e) => [e.step, round(e.valBitsPerByte)] as [number, number]);
    return {
      label: r.label,
      seed,
      parameters: r.parameters,
      maxLossDiff: round(maxDiff(steps, storedSeed.steps as [number, number][])),
      maxValDiff: round(maxDiff(evals, storedSeed.evals as [number, number][])),
      steps,
      evals,
      snapshots: taken[i]
    };
  });
  // Beyond RERUN_TOLERANCE the snapshots are not the figure's runs': the file keeps the re-run's losses and says so, without them.
  const record = sharingReplayRecord({
    experiment: experiment.id,
    source,
    seed,
    totalSteps: run.train.steps,
    snapshots,
    command: `node --import tsx scripts/sharing-snapshots.ts --every ${every} --only ${experiment.id}`,
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    wallSeconds: Math.round((Date.now() - started) / 1000),
    createdAt: new Date().toISOString(),
    arms
  });
  const file = path.join(outDir, `${experiment.id}.json.gz`);
  const json = JSON.stringify(record);
  await writeFile(file, gzipSync(json, { level: 9 }));
  process.stderr.write(
    `wrote ${path.relative(ROOT, file)} (${json.length} bytes, gzipped ${gzipSync(json, { level: 9 }).length}): ` +
      (record.available === false ? "NOT SHIPPING SNAPSHOTS, the re-run departs: " : "") +
      arms.map((a) => `${a.label}: ${a.snapshots.length} snapshots, largest loss difference ${a.maxLossDiff}, val ${a.maxValDiff}`).join("; ") +
      "\n"
  );
}
