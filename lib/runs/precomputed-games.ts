// Run records (kind "game") for the self-play page's precomputed runs
// (data/runs/selfplay/GAME.json, scripts/selfplay-runs.ts). Apart from
// lib/runs/precomputed.ts because it reads the self-play code (lib/train/selfplay.ts),
// which the pages that import precomputed.ts have no use for.
import type { ModelSpec } from "../models/models.js";
import { selfPlayTrainConfig, withSelfPlayDefaults, type SelfPlayConfig } from "../train/selfplay.js";
import type { SelfPlayRecord } from "../experiments/selfplay.js";
import { buildGameRunRecord } from "./build.js";
import { EPOCH, notKept, type Runtime } from "./precomputed.js";
import type { RunGame, RunRecord } from "./record.js";

/** data/runs/selfplay/GAME.json (scripts/selfplay-runs.ts): every arm and seed of one game. */
export interface SelfPlayFile {
  game: string;
  command?: string;
  backend?: Runtime;
  createdAt?: string;
  runs: SelfPlayRecord[];
}

/**
 * The record (kind "game") of one run of a self-play file: the game's byte model
 * (`spec`: the one its committed model has; every seed and arm of a file trains the
 * same shape), the TrainConfig its checkpoint records (selfPlayTrainConfig), its
 * iterations and evaluations as the file keeps them, and the exact results when
 * measured. Tic-tac-toe reads no text, so its data has no hash; the word chain's
 * vocabulary is the austen train split, not hashed by the script.
 */
export function selfPlayRunRecord(file: SelfPlayFile, run: SelfPlayRecord, spec: ModelSpec, fileName = `data/runs/selfplay/${file.game}.json`): RunRecord {
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
  return buildGameRunRecord({
    label: `${run.game === "tictactoe" ? "tic-tac-toe" : "word chain"}: ${run.arm}, seed ${run.seed}`,
    origin: "precomputed",
    page: "/self-play",
    spec,
    train: selfPlayTrainConfig(config),
    data: { name: run.game === "wordchain" ? "wordchain:austen" : run.game, sha256: null, bytes: null },
    lab: { version: "unknown", commit: null },
    runtime: { backend: backend?.name ?? "unknown", threads: backend?.threads ?? 1, simd: backend?.simd ?? false, fma: null, platform: "node, version not recorded" },
    startedAt: file.createdAt ?? EPOCH,
    game,
    seconds: run.seconds,
    notes: [notKept(fileName, file.command ?? "scripts/selfplay-runs.ts")]
  });
}
