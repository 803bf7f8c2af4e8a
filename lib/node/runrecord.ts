// Run records in Node: what a run folder's run.json holds, how `stlm train` writes
// it, and how a folder written before run records existed is read as one (the
// documented default: see readRunRecord).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { BackendInfo } from "../backend.js";
import type { TrainConfig } from "../config.js";
import type { ModelSpec } from "../models/models.js";
import { buildGameRunRecord, buildRunRecord, runtimeOf, withCheckpoint } from "../runs/build.js";
import { parseRunRecord, type RunDataIdentity, type RunEvalRow, type RunGame, type RunGameStats, type RunRecord, type RunRuntime, type RunStepRow } from "../runs/record.js";
import { relaxedSimdSupported } from "../wasm/simd.js";
import { REPO_ROOT } from "./data.js";
import { checkpointPath, writeJson } from "./files.js";

export const RUN_RECORD_FILE = "run.json";

let labCache: { version: string; commit: string | null } | null = null;

/** The lab's package version and, when the code runs from a git checkout, its commit (with "+dirty" when files differ). */
export function labIdentity(): { version: string; commit: string | null } {
  if (labCache) return labCache;
  let version = "unknown";
  try {
    version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    // A lab without its package.json still trains; the record says "unknown".
  }
  let commit: string | null = null;
  try {
    const git = (args: string[]) => execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    commit = git(["rev-parse", "HEAD"]);
    if (git(["status", "--porcelain", "--untracked-files=no", "--", "lib", "bin"]) !== "") commit += "+dirty";
  } catch {
    commit = null; // not a git checkout, or no git: the version alone identifies the code
  }
  labCache = { version, commit };
  return labCache;
}

/** The data a run read (lib/runs/build.ts): its name and the SHA-256 of its training and validation bytes. */
export { dataIdentity } from "../runs/build.js";

export function nodeRuntime(info: Pick<BackendInfo, "name" | "threads" | "simd">): RunRuntime {
  return runtimeOf({ ...info, fma: info.name === "wasm" ? relaxedSimdSupported() : null }, `node ${process.version}`);
}

/** The step and evaluation rows of a metrics.jsonl (other rows, such as diagnostics, are left out). */
export function metricsRows(text: string): { steps: RunStepRow[]; evals: RunEvalRow[] } {
  const steps: RunStepRow[] = [];
  const evals: RunEvalRow[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line cut short by a kill: the record keeps the rows that are whole
    }
    if (typeof row.step !== "number") continue;
    if (typeof row.loss === "number") {
      const s: RunStepRow = { step: row.step, loss: row.loss };
      for (const k of ["lr", "tokensPerSecond", "elapsedMs"] as const) if (typeof row[k] === "number") s[k] = row[k] as number;
      steps.push(s);
    } else if (typeof row.valBitsPerByte === "number") {
      evals.push({ step: row.step, valBitsPerByte: row.valBitsPerByte });
    }
  }
  return { steps, evals };
}

/** What every run folder's record is given, whatever the run trained: who, what on what data, where, and when. */
export interface RunFolderParts {
  dir: string;
  label: string;
  spec: ModelSpec;
  train: TrainConfig;
  data: RunDataIdentity;
  runtime: RunRuntime;
  startedAt: string;
  /** Kept from the run's first run.json, so a resumed or extended run stays one record. */
  id?: string;
  finished?: { at: string; stopped: boolean };
}

/** The record's envelope from a run folder's parts: the same fields for a language-model run and a game run (origin "cli", this lab's identity). */
function envelope(p: RunFolderParts) {
  return {
    ...(p.id ? { id: p.id } : {}),
    label: p.label,
    origin: "cli" as const,
    spec: p.spec,
    train: p.train,
    data: p.data,
    lab: labIdentity(),
    runtime: p.runtime,
    startedAt: p.startedAt,
    ...(p.finished ? { finishedAt: p.finished.at } : {}),
    stopped: p.finished?.stopped ?? false
  };
}

/** A folder's metrics.jsonl as text ("" before its first row). */
async function metricsText(dir: string): Promise<string> {
  const file = path.join(dir, "metrics.jsonl");
  return existsSync(file) ? readFile(file, "utf8") : "";
}

/** Writes the record, with the folder's checkpoint's identity, as DIR/run.json. */
async function writeFolderRecord(dir: string, record: RunRecord): Promise<RunRecord> {
  const full = await withCheckpointFile(dir, record);
  await writeJson(path.join(dir, RUN_RECORD_FILE), full);
  return full;
}

export interface CliRunParts extends RunFolderParts {
  preset: string;
}

/** Writes DIR/run.json from what the folder holds now (metrics.jsonl, the checkpoint) and the run's identity. */
export async function writeCliRunRecord(p: CliRunParts): Promise<RunRecord> {
  const { steps, evals } = metricsRows(await metricsText(p.dir));
  return writeFolderRecord(p.dir, buildRunRecord({ ...envelope(p), preset: p.preset, steps, evals }));
}

/** The record with the folder's checkpoint's identity, when the folder holds one. */
async function withCheckpointFile(dir: string, record: RunRecord): Promise<RunRecord> {
  let file: string;
  try {
    file = checkpointPath(dir);
  } catch {
    return record;
  }
  return withCheckpoint(record, new Uint8Array(await readFile(file)));
}

/**
 * The record of a run folder. A folder with run.json is read from it (and checked).
 * A folder from before run records (config.json + metrics.jsonl) is read as a record
 * whose unknowns are stated in `notes`: the data hash is null, the lab version
 * "unknown" and the commit null, the runtime is config.json's backend (platform
 * "node, version not recorded"); the checkpoint hash is computed from the file.
 */
export async function readRunRecord(dir: string, { origin = "cli" as RunRecord["origin"], label }: { origin?: RunRecord["origin"]; label?: string } = {}): Promise<RunRecord> {
  const file = path.join(dir, RUN_RECORD_FILE);
  if (existsSync(file)) {
    const record = parseRunRecord(await readFile(file, "utf8"), file);
    return { ...record, origin, ...(label ? { label } : {}) };
  }
  const configFile = path.join(dir, "config.json");
  if (!existsSync(configFile)) throw new Error(`${dir} holds neither ${RUN_RECORD_FILE} nor config.json: is it a run folder written by \`stlm train --out\`?`);
  const config = JSON.parse(await readFile(configFile, "utf8")) as {
    preset?: string;
    source?: { corpus?: string; text?: string };
    model?: unknown;
    spec?: ModelSpec;
    train: TrainConfig;
    backend?: { name?: string; threads?: number; simd?: boolean };
    createdAt?: string;
  };
  const spec = config.spec ?? ({ kind: "bytes", model: config.model } as ModelSpec);
  const metricsFile = path.join(dir, "metrics.jsonl");
  const { steps, evals } = metricsRows(existsSync(metricsFile) ? await readFile(metricsFile, "utf8") : "");
  const summaryFile = path.join(dir, "summary.json");
  const summary = existsSync(summaryFile) ? (JSON.parse(await readFile(summaryFile, "utf8")) as { stopped?: boolean; finishedAt?: string }) : null;
  const dataName = config.source?.corpus ?? (config.source?.text ? `text:${path.basename(config.source.text)}` : "unknown");
  const startedAt = config.createdAt ?? statSync(configFile).mtime.toISOString();
  return withCheckpointFile(dir, buildRunRecord({
    label: label ?? `${config.preset ?? spec.kind} on ${dataName}, seed ${config.train.seed}`,
    origin,
    ...(config.preset ? { preset: config.preset } : {}),
    spec,
    train: config.train,
    data: { name: dataName, sha256: null, bytes: null },
    lab: { version: "unknown", commit: null },
    runtime: {
      backend: config.backend?.name ?? "unknown",
      threads: config.backend?.threads ?? 1,
      simd: config.backend?.simd ?? false,
      fma: null,
      platform: "node, version not recorded"
    },
    startedAt,
    ...(summary?.finishedAt ? { finishedAt: summary.finishedAt } : {}),
    steps,
    evals,
    stopped: summary?.stopped ?? false,
    notes: [`${path.basename(dir)} predates run records (no ${RUN_RECORD_FILE}): the data's hash, the lab's version and commit and the Node version were not recorded`]
  }));
}

/** A self-play run folder's metrics.jsonl as a game record's rows: iteration rows (with a phase) and evaluation rows (with an opponent). */
export function gameRows(text: string): Pick<RunGame, "iterations" | "evals"> {
  const iterations: RunGame["iterations"] = [];
  const evals: RunGame["evals"] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line cut short by a kill
    }
    if (typeof row.step !== "number") continue;
    const stats: RunGameStats = { games: Number(row.games), win: Number(row.win), draw: Number(row.draw), loss: Number(row.loss), illegalRate: Number(row.illegalRate), meanLength: Number(row.meanLength), ...(typeof row.moves === "number" ? { moves: row.moves } : {}) };
    if (typeof row.opponent === "string") evals.push({ iteration: row.step, opponent: row.opponent, stats });
    else if (row.phase === "imitation" || row.phase === "selfplay") {
      iterations.push({ iteration: row.step, phase: row.phase, loss: typeof row.imitationLoss === "number" ? row.imitationLoss : null, meanReward: typeof row.meanReward === "number" ? row.meanReward : null, stats });
    }
  }
  return { iterations, evals };
}

export interface GameRunParts extends RunFolderParts {
  game: string;
  arm?: string;
  config: Record<string, unknown>;
  exact?: Record<string, unknown>;
  seconds?: number;
}

/** Writes a self-play run folder's run.json (a game record) from its metrics.jsonl and checkpoint. */
export async function writeGameRunRecord(p: GameRunParts): Promise<RunRecord> {
  const rows = gameRows(await metricsText(p.dir));
  return writeFolderRecord(p.dir, buildGameRunRecord({
    ...envelope(p),
    game: { name: p.game, arm: p.arm ?? "self-play", config: p.config, ...rows, ...(p.exact ? { exact: p.exact } : {}) },
    ...(p.seconds !== undefined ? { seconds: p.seconds } : {})
  }));
}
