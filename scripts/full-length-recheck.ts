// "Re-run and check" over a figure's whole length, in Node: runs of the precomputed
// figures trained again through the one re-run path (lib/runs/rerun.ts, what the
// pages' worker runs) from their run records (lib/runs/precomputed.ts, or a run
// folder's run.json), every step compared with the file's stored loss under the
// pages' rule (lib/runs/agreement.ts: 1e-4 relative on wasm with the same lab, plus
// half a unit of the file's last stored decimal). Per run it writes the verdict, the
// steps compared, the largest relative and absolute difference and where, and the
// first departing step if any, into data/runs/agreement/full-length.json; runs
// already in that file and not re-run now are kept, so calls for different figures
// add up (each entry names the command that made it).
//
//   nice -n 10 node --import tsx scripts/full-length-recheck.ts --figures sharing,objectives,nano-austen
//       [--sharing shared-ffn,interior-lora] [--sizes nano,micro] [--budgets steps,time] [--seeds 1] [--out FILE]
//
// sharing: every arm of each experiment named by --sharing (data/runs/sharing/ID.json),
// at each seed of --seeds, for the file's 250 steps. objectives: every arm of each size
// of data/runs/objectives/compare.json at each seed, for each budget of --budgets (an
// equal-time run that is its equal-steps run is checked once; a run whose file keeps
// only some steps' losses is compared at those). nano-austen: the
// training page's run (data/runs/nano-austen/run.json, 500 steps).
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../lib/cli/args.js";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus } from "../lib/node/data.js";
import { labIdentity, readRunRecord } from "../lib/node/runrecord.js";
import { tf } from "../lib/tf.js";
import { objectiveRunFigure, sharingArmRecord, FIGURE_LOSS_DECIMALS, type ObjectivesFile, type SharingFile } from "../lib/runs/precomputed.js";
import { rerunTrainer, type FigureRun } from "../lib/runs/rerun.js";
import { agreementRule, compareLosses, describeAgreement } from "../lib/runs/agreement.js";
import type { RunStepRow } from "../lib/runs/record.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const f = parseFlags(
  process.argv.slice(2),
  { figures: "string", sharing: "string", sizes: "string", budgets: "string", seeds: "string", out: "string" },
  "full-length-recheck"
);
const list = (v: unknown, d: string) => String(v ?? d).split(",").filter(Boolean);
const figures = list(f.figures, "sharing,objectives");
for (const x of figures) if (!["sharing", "objectives", "nano-austen"].includes(x)) throw new Error(`--figures takes sharing, objectives and nano-austen, separated by commas (got "${x}")`);
const seeds = list(f.seeds, "1").map(Number);
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error(`--seeds takes whole numbers separated by commas (got ${f.seeds})`);
const sharingIds = list(f.sharing, "shared-ffn,interior-lora");
const sizes = list(f.sizes, "nano,micro");
const budgets = list(f.budgets, "steps,time") as ("steps" | "time")[];
const outFile = path.resolve(String(f.out ?? path.join(ROOT, "data", "runs", "agreement", "full-length.json")));
const command = `nice -n 10 node --import tsx scripts/full-length-recheck.ts ${process.argv.slice(2).join(" ")}`.trim();

const backend = await initNode("wasm");
const lab = labIdentity();
const corpus = await loadCorpus("austen");
const json = async <T>(p: string) => JSON.parse(await readFile(path.join(ROOT, p), "utf8")) as T;
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, d = 6) => Number(x.toPrecision(d));

interface Entry {
  figure: string;
  file: string;
  label: string;
  steps: number;
  /** Steps whose loss the file stores (every step, every 5th, or only the last): the steps compared. */
  storedSteps: number;
  verdict: string;
  compared: number;
  largestRelative: number | null;
  largestAt: number | null;
  largestAbsolute: number;
  departure: { step: number; reference: number; rerun: number; relative: number } | null;
  exact: boolean;
  equalToStoredDigits: boolean;
  allowed: string;
  summary: string;
  wallSeconds: number;
  command: string;
  /** The lab's git commit that ran the check. */
  commit: string | null;
  checkedAt: string;
}

/** Trains a figure's run again over its whole length and compares every stored step. */
async function check(figure: string, file: string, run: FigureRun): Promise<Entry> {
  const started = Date.now();
  const before = tf.memory().numTensors;
  const rerun = rerunTrainer(run, corpus.train, null);
  const got: RunStepRow[] = [];
  try {
    for await (const e of rerun.trainer.run()) if (e.kind === "step") got.push({ step: e.step, loss: e.loss });
  } finally {
    rerun.dispose();
  }
  if (tf.memory().numTensors !== before) throw new Error(`${run.label}: the re-run left ${tf.memory().numTensors - before} tensors`);
  const reference = run.record.metrics.steps;
  const rule = agreementRule({ backend: run.record.runtime.backend, labVersion: run.record.lab.version }, { backend: backend.name, labVersion: lab.version });
  const a = compareLosses(reference, got, rule, { lossDecimals: run.lossDecimals });
  const byStep = new Map(got.map((r) => [r.step, r.loss]));
  const largestAbsolute = Math.max(0, ...reference.filter((r) => byStep.has(r.step)).map((r) => Math.abs(byStep.get(r.step)! - r.loss)));
  const entry: Entry = {
    figure,
    file,
    label: run.label,
    steps: run.record.train.steps,
    storedSteps: reference.length,
    verdict: a.verdict,
    compared: a.compared,
    largestRelative: a.largest ? round(a.largest.relative, 3) : null,
    largestAt: a.largest?.step ?? null,
    largestAbsolute: round(largestAbsolute, 3),
    departure: a.departure ? { step: a.departure.step, reference: a.departure.reference, rerun: round(a.departure.rerun, 8), relative: round(a.departure.relative, 3) } : null,
    exact: a.exact,
    equalToStoredDigits: a.equalToStoredDigits,
    allowed: `${rule.tolerance} relative + ${a.rounding} (the file's rounding)`,
    summary: describeAgreement(a),
    wallSeconds: Math.round((Date.now() - started) / 1000),
    command,
    commit: lab.commit,
    checkedAt: new Date().toISOString()
  };
  if (a.compared !== reference.length) throw new Error(`${run.label}: compared ${a.compared} of the ${reference.length} stored steps (missing ${a.missing.join(", ")})`);
  log(`${figure} ${run.label}: ${entry.summary} (${entry.wallSeconds} s)`);
  return entry;
}

const previous: { runs: Entry[] } = existsSync(outFile) ? JSON.parse(await readFile(outFile, "utf8")) : { runs: [] };
const entries = new Map(previous.runs.map((e) => [`${e.figure}|${e.label}`, e]));
const save = async () => {
  const runs = [...entries.values()];
  const record = {
    about: "Runs of precomputed figures trained again over their whole length in Node through lib/runs/rerun.ts, every stored step compared with lib/runs/agreement.ts's rule (largestRelative: the largest |re-run − stored| / |stored|; departure: the first step beyond the rule, null if none).",
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    lab,
    node: process.version,
    commands: [...new Set(runs.map((e) => e.command))],
    runs
  };
  await mkdir(path.dirname(outFile), { recursive: true });
  await writeFile(outFile, JSON.stringify(record, null, 1) + "\n");
};
const add = async (e: Entry) => {
  entries.set(`${e.figure}|${e.label}`, e);
  await save();
};

if (figures.includes("sharing")) {
  for (const id of sharingIds) {
    const file = `data/runs/sharing/${id}.json`;
    const s = await json<SharingFile>(file);
    for (const seed of seeds) {
      for (let arm = 0; arm < s.arms.length; arm++) {
        const record = sharingArmRecord(s, arm, seed, file);
        await add(await check("sharing", file, { label: `${id}: ${s.arms[arm].label}, seed ${seed}`, record, lossDecimals: FIGURE_LOSS_DECIMALS }));
      }
    }
  }
}

if (figures.includes("objectives")) {
  const file = "data/runs/objectives/compare.json";
  const o = await json<ObjectivesFile>(file);
  const seen = new Set<string>();
  for (const size of sizes) for (const budget of budgets) for (const seed of seeds) for (const arm of o.arms) {
    const r = o.runs.find((x) => x.size === size && x.arm === arm.id && x.seed === seed && x.budget === budget);
    if (!r) continue;
    const key = `${size} ${arm.id} ${seed} ${r.steps}`;
    // An equal-time run of as many steps as the equal-steps run is that run (the file copies it): checked with the steps budget.
    const same = o.runs.find((x) => x.size === size && x.arm === arm.id && x.seed === seed && x.budget === "steps");
    if (seen.has(key) || (budget === "time" && same?.steps === r.steps)) continue;
    seen.add(key);
    const fig = objectiveRunFigure(o, size, arm.id, seed, budget, file);
    await add(await check("objectives", file, fig));
  }
}

if (figures.includes("nano-austen")) {
  const dir = "data/runs/nano-austen";
  const record = await readRunRecord(path.join(ROOT, dir), { origin: "precomputed" });
  await add(await check("nano-austen", `${dir}/run.json`, { label: record.label, record }));
}

const runs = [...entries.values()];
log(`wrote ${path.relative(ROOT, outFile)}: ${runs.length} runs, ${runs.filter((e) => e.verdict === "agrees").length} agree, ${runs.filter((e) => e.verdict === "departs").length} depart`);
