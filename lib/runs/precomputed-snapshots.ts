// Training snapshots for precomputed multi-seed comparisons, shipped beside the
// files that draw the figures: the sharing page's A/B runs
// (data/runs/sharing/snapshots/ID.json.gz, scripts/sharing-snapshots.ts) and the
// tokenizer-free comparison (data/runs/tokenizer-free/compare-snapshots.json.gz,
// scripts/tokenizer-free-compare-snapshots.ts). Each is a re-run of runs the figure's
// file records (same config, seed and steps) with snapshots on; it keeps the
// re-run's own losses and the largest difference from the stored ones.
//
// The checks here tie a snapshot file to its figure's file: the arm or model names,
// the seed, the step count, the snapshot steps, the shapes of the maps, finite
// numbers, and the re-run's losses against the stored ones (recomputed, not read).
// The data loaders run them at build time and test/unit/precomputed-snapshots.test.ts
// runs them on the committed files.
import { checkSnapshot, isSnapshotStep, type Snapshot, type SnapshotConfig } from "../train/snapshots.js";
import type { SharingFile } from "./precomputed.js";
import type { ModelConfig } from "../config.js";

/** The largest loss (nats per position) or bits/byte difference a re-run may have from the stored run and still be called the same run. */
export const RERUN_TOLERANCE = 0.01;

type Pair = [number, number];

export interface SharingArmSnapshots {
  label: string;
  seed: number;
  parameters: number;
  /** Largest |re-run − stored| over the steps' losses and over the evaluations (4 decimals each). */
  maxLossDiff: number;
  maxValDiff: number;
  /** The re-run's [step, loss] at every step and [step, val bits/byte] at each evaluation (4 decimals). */
  steps: Pair[];
  evals: Pair[];
  snapshots: Snapshot[];
}

export interface SharingSnapshotsFile {
  /** false: the re-run departed from the figure's run by more than RERUN_TOLERANCE, so no snapshots are shipped; `reason` says by how much. */
  available?: false;
  reason?: string;
  experiment: string;
  /** The figure's file, e.g. data/runs/sharing/tying.json. */
  source: string;
  seed: number;
  totalSteps: number;
  snapshots: SnapshotConfig;
  command: string;
  createdAt: string;
  arms: SharingArmSnapshots[];
}

export interface CompareRunSnapshots {
  model: string;
  label: string;
  seed: number;
  steps: number;
  warmupSteps: number;
  /** Bytes one trained position stands for (1, or a BPE token's mean bytes): loss / bytesPerPosition is per byte. */
  bytesPerPosition: number;
  snapshotConfig: SnapshotConfig;
  maxLossDiff: number;
  valBitsPerByte: number;
  valDiff: number;
  /** The re-run's [step, loss] every 10 steps and at the last (4 decimals), as the comparison file keeps them. */
  losses: Pair[];
  snapshots: Snapshot[];
}

export interface CompareSnapshotsFile {
  source: string;
  corpus: string;
  ctx: number;
  budgetSeconds: number;
  seed: number;
  command: string;
  createdAt: string;
  runs: CompareRunSnapshots[];
}

/** The part of a comparison file (scripts/tokenizer-free-compare.ts) the checks read. */
export interface CompareFile {
  runs: { model: string; label: string; ctx: number; budgetSeconds: number; seed: number; steps: number; warmupSteps: number; valBitsPerByte: number; losses: { step: number; loss: number }[] }[];
}

const fail = (where: string, what: string): never => {
  throw new Error(`${where}: ${what}`);
};

/** The steps a run of `total` steps snapshots at every `every`. */
export function snapshotSteps(every: number, total: number): number[] {
  const out: number[] = [];
  for (let s = 0; s <= total; s++) if (isSnapshotStep(s, every, total)) out.push(s);
  return out;
}

/** The largest |a − b| over the steps both have; throws when the steps differ. */
function largestDiff(rerun: Pair[], stored: Pair[], where: string): number {
  if (rerun.length !== stored.length || rerun.some(([s], i) => s !== stored[i][0])) fail(where, `the re-run's steps (${rerun.length}) are not the stored run's (${stored.length})`);
  let max = 0;
  rerun.forEach(([, v], i) => {
    if (!Number.isFinite(v)) fail(where, `the re-run's value at step ${rerun[i][0]} is ${v}`);
    max = Math.max(max, Math.abs(v - stored[i][1]));
  });
  return max;
}

/** Snapshot rows: checked (format, shape), at exactly `steps`, every weight a whole number 0..255, every number finite. */
function checkRows(rows: unknown, steps: number[], where: string, model?: { nLayer: number; nHead: number }): Snapshot[] {
  if (!Array.isArray(rows)) return fail(where, `"snapshots" must be a list`);
  const out = rows.map((r, i) => checkSnapshot(r, `${where}, snapshot ${i}`));
  const got = out.map((s) => s.step);
  if (got.join(",") !== steps.join(",")) fail(where, `snapshots at steps ${got.join(", ")}, expected ${steps.join(", ")}`);
  for (const s of out) {
    const at = `${where}, step ${s.step}`;
    if (model && (s.layers !== model.nLayer || s.heads !== model.nHead)) fail(at, `${s.layers} layers of ${s.heads} heads; the model has ${model.nLayer} of ${model.nHead}`);
    for (const layer of s.attention) for (const map of layer) for (const w of map) if (!Number.isInteger(w) || w < 0 || w > 255) fail(at, `an attention weight ${w} is not a whole number 0..255`);
    if (s.boundaryProbs?.some((p) => !Number.isFinite(p) || p < 0 || p > 1)) fail(at, "a boundary probability is not a number in 0..1");
    if (s.chunks?.some(([a, b]) => !(Number.isInteger(a) && Number.isInteger(b) && b >= a))) fail(at, "a chunk is not a span of whole numbers");
  }
  return out;
}

/**
 * A sharing re-run as it is written: with its snapshots when every arm stayed within
 * RERUN_TOLERANCE of the figure's run, else without them (available: false) and a
 * reason giving the differences, its losses kept so the departure can be checked.
 */
export function sharingReplayRecord(file: Omit<SharingSnapshotsFile, "available" | "reason">): SharingSnapshotsFile {
  const departing = file.arms.filter((a) => a.maxLossDiff > RERUN_TOLERANCE || a.maxValDiff > RERUN_TOLERANCE);
  if (departing.length === 0) return file;
  return {
    available: false,
    reason:
      `Seed ${file.seed}'s re-run with snapshots departs from the figure's run by more than ${RERUN_TOLERANCE}: ` +
      departing.map((a) => `${a.label} by up to ${a.maxLossDiff.toFixed(4)} nats per byte in a step's training loss and ${a.maxValDiff.toFixed(4)} in validation bits per byte`).join("; ") +
      `. So these snapshots would not be of the runs drawn above, and none are shown; remaking the runs with snapshots on (node --import tsx scripts/sharing-runs.ts --only ${file.experiment} --snapshot-every ${file.snapshots.every}) gives both.`,
    ...file,
    arms: file.arms.map((a) => ({ ...a, snapshots: [] }))
  };
}

/** A sharing snapshot file, checked against the figure's file it names; returns it typed. */
export function checkSharingSnapshots(raw: unknown, figure: SharingFile & { seeds?: number[] }, where = "sharing snapshots"): SharingSnapshotsFile {
  const file = raw as SharingSnapshotsFile;
  if (!file || typeof file !== "object" || !Array.isArray(file.arms)) fail(where, "not a snapshot file (no arms)");
  if (file.experiment !== figure.experiment) fail(where, `is for experiment "${file.experiment}", the figure's file for "${figure.experiment}"`);
  const total = figure.train.steps;
  if (file.totalSteps !== total) fail(where, `${file.totalSteps} steps; the figure's runs trained ${total}`);
  if (!(file.snapshots?.every > 0)) fail(where, `"snapshots.every" must be a whole number of steps`);
  if (file.arms.length !== figure.arms.length) fail(where, `${file.arms.length} arms; the figure has ${figure.arms.length}`);
  const steps = snapshotSteps(file.snapshots.every, total!);
  file.arms.forEach((a, i) => {
    const arm = figure.arms[i];
    const at = `${where}, arm ${i} ("${a.label}")`;
    if (a.label !== arm.label) fail(at, `the figure's arm ${i} is "${arm.label}"`);
    if (a.seed !== file.seed) fail(at, `seed ${a.seed}, the file's ${file.seed}`);
    const run = arm.seeds?.find((s) => s.seed === a.seed);
    if (!run) return fail(at, `the figure has no run with seed ${a.seed}`);
    const maxLoss = largestDiff(a.steps, run.steps as Pair[], `${at}, losses`);
    const maxVal = largestDiff(a.evals, run.evals as Pair[], `${at}, evaluations`);
    if (Math.abs(maxLoss - a.maxLossDiff) > 1e-6 || Math.abs(maxVal - a.maxValDiff) > 1e-6) fail(at, `records differences ${a.maxLossDiff}/${a.maxValDiff} from the stored run; they are ${maxLoss}/${maxVal}`);
    const departs = maxLoss > RERUN_TOLERANCE || maxVal > RERUN_TOLERANCE;
    if (departs && file.available !== false) fail(at, `the re-run departs from the stored run by up to ${maxLoss.toFixed(4)} (loss) and ${maxVal.toFixed(4)} (val bits/byte), more than ${RERUN_TOLERANCE}`);
    if (file.available === false) {
      if (a.snapshots.length) fail(at, "a file marked unavailable ships no snapshots");
      return;
    }
    const model: ModelConfig = arm.model;
    checkRows(a.snapshots, steps, at, model);
  });
  if (file.available === false) {
    if (typeof file.reason !== "string" || !file.reason) fail(where, "a file marked unavailable says why (reason)");
    if (!file.arms.some((a) => a.maxLossDiff > RERUN_TOLERANCE || a.maxValDiff > RERUN_TOLERANCE)) fail(where, `is marked unavailable, but every arm's re-run is within ${RERUN_TOLERANCE} of the stored run`);
  }
  return file;
}

/** A comparison snapshot file, checked against the comparison file it names; returns it typed. */
export function checkCompareSnapshots(raw: unknown, figure: CompareFile, where = "comparison snapshots"): CompareSnapshotsFile {
  const file = raw as CompareSnapshotsFile;
  if (!file || typeof file !== "object" || !Array.isArray(file.runs) || file.runs.length === 0) fail(where, "not a snapshot file (no runs)");
  for (const r of file.runs) {
    const at = `${where}, ${r.model}`;
    const run = figure.runs.find((x) => x.model === r.model && x.ctx === file.ctx && x.budgetSeconds === file.budgetSeconds && x.seed === r.seed);
    if (!run) return fail(at, `the comparison has no run of ${r.model} at context ${file.ctx}, ${file.budgetSeconds} s, seed ${r.seed}`);
    if (r.label !== run.label) fail(at, `label "${r.label}", the comparison's "${run.label}"`);
    if (r.seed !== file.seed) fail(at, `seed ${r.seed}, the file's ${file.seed}`);
    if (r.steps !== run.steps || r.warmupSteps !== run.warmupSteps) fail(at, `${r.steps} steps (warm-up ${r.warmupSteps}); the comparison's run trained ${run.steps} (${run.warmupSteps})`);
    const maxLoss = largestDiff(r.losses, run.losses.map((l) => [l.step, l.loss]), `${at}, losses`);
    const valDiff = Math.abs(r.valBitsPerByte - run.valBitsPerByte);
    if (!Number.isFinite(r.valBitsPerByte)) fail(at, `val bits/byte is ${r.valBitsPerByte}`);
    if (Math.abs(maxLoss - r.maxLossDiff) > 1e-6 || Math.abs(valDiff - r.valDiff) > 1e-6) fail(at, `records differences ${r.maxLossDiff}/${r.valDiff} from the stored run; they are ${maxLoss}/${valDiff}`);
    if (maxLoss > RERUN_TOLERANCE || valDiff > RERUN_TOLERANCE) fail(at, `the re-run departs from the stored run by up to ${maxLoss.toFixed(4)} (loss) and ${valDiff.toFixed(4)} (val bits/byte), more than ${RERUN_TOLERANCE}`);
    if (!(r.bytesPerPosition >= 1 && Number.isFinite(r.bytesPerPosition))) fail(at, `"bytesPerPosition" must be a number >= 1 (got ${r.bytesPerPosition})`);
    if (!(r.snapshotConfig?.every > 0)) fail(at, `"snapshotConfig.every" must be a whole number of steps`);
    checkRows(r.snapshots, snapshotSteps(r.snapshotConfig.every, r.steps), at);
  }
  return file;
}
