// Run records (kind "game") for the self-play page's precomputed runs
// (data/runs/selfplay/GAME.json, scripts/selfplay-runs.ts). Apart from
// lib/runs/precomputed.ts because it reads the self-play code (lib/train/selfplay.ts),
// which the pages that import precomputed.ts have no use for.
import type { ModelSpec } from "../models/models.js";
import { selfPlayTrainConfig, withSelfPlayDefaults, type ReplayGame, type SelfPlayConfig } from "../train/selfplay.js";
import type { SelfPlayRecord } from "../experiments/selfplay.js";
import { buildGameRunRecord, gameDataIdentity } from "./build.js";
import { EPOCH, type Runtime } from "./precomputed.js";
import type { RunDataIdentity, RunGame, RunRecord } from "./record.js";

/** data/runs/selfplay/GAME.json (scripts/selfplay-runs.ts): every arm and seed of one game. */
export interface SelfPlayFile {
  game: string;
  command?: string;
  backend?: Runtime;
  createdAt?: string;
  /** Wall time of the whole file's runs, in seconds. */
  wallSeconds?: number;
  /** What the runs read (gameDataIdentity); files made before the script wrote it have none. */
  data?: RunDataIdentity;
  /** The checkpoint the word chain's runs start from, with its SHA-256 (absent in older files). */
  init?: { file: string; sha256: string };
  /** The lab's version and commit, and Node's version, that made the file (absent in older files). */
  lab?: { version: string; commit: string | null };
  platform?: string;
  /** --keep-control: the imitation-only runs were kept from an older file (made by other code, so `lab` is not theirs). */
  controlKept?: { from: string; reason: string };
  runs: SelfPlayRecord[];
}

/**
 * A self-play file's data identity and what its record should say about it: the
 * file's own `data` when it has one; else tic-tac-toe's (its rules, no text); else,
 * for the word chain, the hash of `corpus` (the corpus its name gives, read when the
 * record is built: not a hash the run recorded, which the note says); else none.
 */
function fileData(file: SelfPlayFile, corpus: { name: string; train: Uint8Array; val: Uint8Array } | undefined): { data: RunDataIdentity; note: string | null } {
  if (file.data) return { data: file.data, note: null };
  if (file.game === "tictactoe") return { data: gameDataIdentity("tictactoe"), note: null };
  if (corpus) return { data: gameDataIdentity(file.game, corpus), note: `the file predates data hashes: this hash is of ${corpus.name} as read when this record was built (the corpus the runs' word list came from), not one the runs recorded` };
  return { data: { name: `${file.game}:austen`, sha256: null, bytes: null }, note: "no data hash: the file predates it and no corpus was given to hash" };
}

/**
 * The record (kind "game") of one run of a self-play file: the game's byte model
 * (`spec`: the one its committed model has; every seed and arm of a file trains the
 * same shape), the TrainConfig its checkpoint records (selfPlayTrainConfig), its
 * iterations and evaluations as the file keeps them, and the exact results when
 * measured. Its data: tic-tac-toe reads no text, so its hash is null and
 * `data.identifiedBy` says what identifies it (the rules); the word chain's is the
 * file's `data` (austen's SHA-256: its word list is the train split's words), or for
 * a file made before the script wrote that, the hash of `corpus` when given (the
 * loader reads austen), which the record's notes say.
 */
export function selfPlayRunRecord(file: SelfPlayFile, run: SelfPlayRecord, spec: ModelSpec, { fileName = `data/runs/selfplay/${file.game}.json`, corpus }: { fileName?: string; corpus?: { name: string; train: Uint8Array; val: Uint8Array } } = {}): RunRecord {
  const config = withSelfPlayDefaults(run.config) as SelfPlayConfig;
  const game: RunGame = {
    name: run.game,
    arm: run.arm,
    config: run.config as unknown as Record<string, unknown>,
    iterations: run.iterations.map((r) => ({ iteration: r.iteration, phase: r.phase, loss: r.loss, meanReward: r.meanReward, stats: r.stats })),
    evals: run.evals.map((e) => ({ iteration: e.iteration, opponent: e.opponent, stats: e.stats })),
    ...(run.exact ? { exact: run.exact as unknown as Record<string, unknown> } : {})
  };
  const backend = file.backend;
  const { data, note } = fileData(file, corpus);
  const command = file.command ?? "scripts/selfplay-runs.ts";
  // A control run kept from an older file (--keep-control) was made by that file's code, not by the lab the file names.
  const keptRun = file.controlKept !== undefined && run.arm === "imitation only";
  const lab = keptRun ? undefined : file.lab;
  const platform = keptRun ? undefined : file.platform;
  const unknown = [...(file.data || file.game === "tictactoe" ? [] : ["data hash"]), ...(lab ? [] : ["lab version or commit"]), ...(platform ? [] : ["Node version"])];
  const kept = `read from ${fileName} (made by \`${command}\`${keptRun ? `, this run kept from ${file.controlKept!.from}` : ""})${unknown.length ? `, which keeps no ${unknown.length > 1 ? `${unknown.slice(0, -1).join(", ")}, or ${unknown.at(-1)}` : unknown[0]}` : ""}`;
  return buildGameRunRecord({
    label: `${run.game === "tictactoe" ? "tic-tac-toe" : "word chain"}: ${run.arm}, seed ${run.seed}`,
    origin: "precomputed",
    page: "/self-play",
    spec,
    train: selfPlayTrainConfig(config),
    data,
    lab: lab ?? { version: "unknown", commit: null },
    runtime: { backend: backend?.name ?? "unknown", threads: backend?.threads ?? 1, simd: backend?.simd ?? false, fma: null, platform: platform ?? "node, version not recorded" },
    startedAt: file.createdAt ?? EPOCH,
    game,
    seconds: run.seconds,
    notes: [kept, ...(note ? [note] : []), ...(file.init ? [`it starts from ${file.init.file} (SHA-256 ${file.init.sha256})`] : [])]
  });
}

/**
 * What the self-play page reads of one game's file (src/data/selfplay-runs.json.ts):
 * every run once, as its record (the charts read the evaluations, settings and exact
 * results from `record.game`), beside what a record has no place for: each run's
 * processor time, and the word chain's last two evaluation games of seed 1's
 * self-play run against its first opponent, which the page replays. The file's
 * `runs` are not sent again: their iterations are the records', and the other games
 * they keep are drawn nowhere.
 */
export interface SelfPlayPageFile {
  game: string;
  command: string | null;
  wallSeconds: number | null;
  createdAt: string | null;
  records: RunRecord[];
  /** Per record, in order: the run's processor time (scripts/selfplay-runs.ts), null where not measured. */
  cpuSeconds: (number | null)[];
  lastGames?: ReplayGame[];
}

export function selfPlayPageFile(file: SelfPlayFile, spec: ModelSpec, options: { fileName?: string; corpus?: { name: string; train: Uint8Array; val: Uint8Array } } = {}): SelfPlayPageFile {
  const first = file.runs.find((r) => r.arm === "self-play");
  const opponent = first?.evals[0]?.opponent;
  return {
    game: file.game,
    command: file.command ?? null,
    wallSeconds: file.wallSeconds ?? null,
    createdAt: file.createdAt ?? null,
    records: file.runs.map((run) => selfPlayRunRecord(file, run, spec, options)),
    cpuSeconds: file.runs.map((run) => run.cpuSeconds ?? null),
    ...(file.game === "wordchain" && first && opponent ? { lastGames: (first.replay.eval[opponent] ?? []).slice(-2) } : {})
  };
}
