// Building a run's record from what a training run knows, the same way wherever it
// trains: `stlm train` (lib/node/runrecord.ts, run.json) and a page's live run
// (src/components/runs-library.ts) both hand their facts to buildRunRecord, so a
// CLI run folder's run.json and a page's "download run" are one shape, checked by
// the same rules (lib/runs/record.ts).
//
// Pure and DOM-free: the data's hash is the lab's own SHA-256 (lib/train/sha256.ts),
// the platform is a string the caller reads (Node's version, a browser's user agent).
import { sha256 } from "../train/sha256.js";
import {
  makeRunRecord,
  RunRecordError,
  summarizeMetrics,
  type RecordParts,
  type RunDataIdentity,
  type RunGame,
  type RunRecord,
  type RunRuntime
} from "./record.js";

/** The data a run read: its name and the SHA-256 of its training then validation bytes. */
export function dataIdentity(name: string, corpus: { train: Uint8Array; val: Uint8Array }): RunDataIdentity {
  return { name, sha256: sha256([corpus.train, corpus.val]), bytes: corpus.train.length + corpus.val.length };
}

/** A game run's data that is no text: what identifies tic-tac-toe's (its record's `data.identifiedBy`). */
export const TICTACTOE_DATA = "no text: every position comes from the tic-tac-toe rules engine (lib/games/tictactoe.ts), the model's own games and its reference players, so the rules at the record's lab version and commit, with the self-play settings and seed, identify what the run trained on";

/**
 * A game run's data identity. Tic-tac-toe reads no text: its hash and size are null
 * and `identifiedBy` says what identifies it (TICTACTOE_DATA). The word chain's word
 * list is the words of a corpus's train split (lib/games/games.ts wordChainSetup):
 * named "wordchain:CORPUS", with that corpus's hash, the training then validation
 * bytes (dataIdentity), as a language-model run on the corpus records it.
 */
export function gameDataIdentity(game: string, corpus?: { name: string; train: Uint8Array; val: Uint8Array }): RunDataIdentity {
  if (game === "tictactoe") return { name: "tictactoe", sha256: null, bytes: null, identifiedBy: TICTACTOE_DATA };
  if (game !== "wordchain") throw new Error(`no data identity for the game "${game}": the lab's games are tictactoe and wordchain`);
  if (!corpus) throw new Error("the word chain's data identity needs the corpus its word list came from");
  return {
    ...dataIdentity(`wordchain:${corpus.name}`, corpus),
    identifiedBy: `the word list is the words of ${corpus.name}'s train split; the SHA-256 is of ${corpus.name}'s training then validation bytes, as a language-model run on ${corpus.name} records it`
  };
}

/** What a backend reports about itself (lib/backend.ts BackendInfo, or a worker's reply). */
export interface BackendFacts {
  name: string;
  threads: number;
  simd: boolean;
  /** Whether the lab's matrix products used FMA (relaxed SIMD); null or absent when unknown. */
  fma?: boolean | null;
}

/** A record's runtime: the backend's facts and where it ran ("node v20.19.0", a browser's user agent). */
export function runtimeOf(info: BackendFacts, platform: string): RunRuntime {
  return { backend: info.name, threads: info.threads, simd: info.simd, fma: info.fma ?? null, platform };
}

/** What buildRunRecord is given: the record's parts, with how the run ended instead of its final figures. */
export type BuildParts = Omit<RecordParts, "final"> & {
  /** Whether the run was stopped before its planned steps (false while it runs or when it finished). */
  stopped?: boolean;
  /** Final evaluations beyond the training curve (e.g. "test/austen bits/byte"). */
  evaluations?: Record<string, number>;
  /** Throughput measured over the whole run, for a run whose step rows carry none. */
  tokensPerSecond?: number;
};

/**
 * A run's record from its parts: the final figures are summarised from its metrics
 * (last loss, last validation, mean tokens/s, against the planned steps), so no two
 * callers summarise a run differently. Checked before it is returned (makeRunRecord).
 */
export function buildRunRecord(p: BuildParts): RunRecord {
  const { stopped = false, evaluations, tokensPerSecond, ...parts } = p;
  const steps = parts.steps ?? [];
  const evals = parts.evals ?? [];
  // JSON would write NaN as null and the check would then blame the shape; say what happened.
  for (const row of steps) {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === "number" && !Number.isFinite(v)) throw new RunRecordError(`${parts.label}: the ${k} at step ${row.step} is ${v} (did the run diverge?); a run record holds finite numbers only, so this run cannot be recorded`);
    }
  }
  for (const row of evals) {
    if (!Number.isFinite(row.valBitsPerByte)) throw new RunRecordError(`${parts.label}: the validation bits/byte at step ${row.step} is ${row.valBitsPerByte} (did the run diverge?); a run record holds finite numbers only, so this run cannot be recorded`);
  }
  const measured = summarizeMetrics(steps, evals, parts.train.steps, stopped);
  const summary = measured && measured.meanTokensPerSecond === null && tokensPerSecond !== undefined && Number.isFinite(tokensPerSecond) ? { ...measured, meanTokensPerSecond: Math.round(tokensPerSecond) } : measured;
  const final = summary && evaluations && Object.keys(evaluations).length ? { ...summary, evaluations } : summary;
  return makeRunRecord({ ...parts, steps, evals, final });
}

/** What buildGameRunRecord is given: the envelope's parts and the run's games (lib/experiments/selfplay.ts SelfPlayRecord's shape). */
export type GameBuildParts = Omit<RecordParts, "final" | "steps" | "evals" | "kind" | "game"> & {
  game: RunGame;
  stopped?: boolean;
  /** How long the run took, in seconds (the elapsed time of its last iteration). */
  seconds?: number;
};

/** The opponent a game's headline figure is against: the first reference player evaluated (tic-tac-toe "random", the word chain "random words"). */
export function headlineOpponent(game: RunGame): string | null {
  return game.evals[0]?.opponent ?? null;
}

/**
 * A game run's record (kind "game"): its step rows are its iterations' losses (an
 * iteration without one, REINFORCE's, has no row), its final figures the last
 * evaluation against each reference player, and, for tic-tac-toe, the exact
 * results when they were measured. Checked before it is returned (makeRunRecord).
 */
export function buildGameRunRecord(p: GameBuildParts): RunRecord {
  const { game, stopped = false, seconds, ...parts } = p;
  const config = game.config as { imitationIterations?: number; iterations?: number };
  for (const row of game.iterations) {
    if (row.loss !== null && !Number.isFinite(row.loss)) throw new RunRecordError(`${parts.label}: the loss at iteration ${row.iteration} is ${row.loss} (did the run diverge?); a run record holds finite numbers only, so this run cannot be recorded`);
  }
  const steps = game.iterations.filter((r) => r.loss !== null).map((r) => ({ step: r.iteration, loss: r.loss as number }));
  const last = game.iterations.at(-1);
  const evaluations: Record<string, number> = {};
  for (const e of game.evals) {
    evaluations[`${e.opponent}: loss rate`] = e.stats.loss;
    evaluations[`${e.opponent}: draw rate`] = e.stats.draw;
    evaluations[`${e.opponent}: win rate`] = e.stats.win;
    evaluations[`${e.opponent}: illegal moves`] = e.stats.illegalRate;
  }
  const exact = game.exact as { random?: { mean?: { loss?: number } }; perfect?: { mean?: { draw?: number } } } | undefined;
  if (typeof exact?.random?.mean?.loss === "number") evaluations["exact: loses to random"] = exact.random.mean.loss;
  if (typeof exact?.perfect?.mean?.draw === "number") evaluations["exact: draws with perfect"] = exact.perfect.mean.draw;
  if (seconds !== undefined && Number.isFinite(seconds)) evaluations.seconds = seconds;
  const lastLoss = [...steps].reverse()[0]?.loss ?? null;
  const final = last
    ? { steps: last.iteration, plannedSteps: (config.imitationIterations ?? 0) + (config.iterations ?? 0), stopped, trainLoss: lastLoss, valBitsPerByte: null, meanTokensPerSecond: null, ...(Object.keys(evaluations).length ? { evaluations } : {}) }
    : null;
  return makeRunRecord({ ...parts, kind: "game", game, steps, evals: [], final });
}

/** The record with the identity of the checkpoint file saved from it (a download or a run folder's checkpoint). */
export function withCheckpoint(record: RunRecord, checkpoint: Uint8Array): RunRecord {
  return { ...record, checkpoint: { sha256: sha256(checkpoint), bytes: checkpoint.byteLength } };
}

/** The key under which a checkpoint's metadata (`stlm.meta`) carries the record of the run it came from. */
export const CHECKPOINT_RECORD_KEY = "runRecord";
