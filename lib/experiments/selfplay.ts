// The self-play page's experiments: the settings of the precomputed runs
// (scripts/selfplay-runs.ts) and of the page's live run, and the record a run
// leaves (plain JSON: what the page charts).
import type { TicTacToeExact } from "../games/tictactoe-exact.js";
import { DEFAULT_SELFPLAY, type GameStats, type ReplayGame, type SelfPlayConfig, type SelfPlayEvent } from "../train/selfplay.js";

/**
 * Tic-tac-toe from a fresh nano model (context 40): 15 iterations of imitation
 * of random legal moves, then 85 of expert iteration on self-play games (a
 * depth-2 search with 8 random playouts labels every position the games
 * reached, both seats), the frozen copy playing a uniformly random legal move
 * for half of its moves so that the learner meets the positions a weak opponent
 * makes; both phases learn from a replay buffer of the last 8,192 rows, 24
 * updates of 64 rows an iteration, the self-play learning rate falling by a half
 * cosine from 4e-3 to 2e-4. History, each measured over 3 seeds:
 * - REINFORCE on the outcomes, one update an iteration, learned the format but
 *   not the strategy (data/runs/selfplay/tictactoe.json at commit 4761c4e);
 * - expert iteration without exploration, 30 + 70 iterations of 32 games, 8
 *   updates, lost 17.4 % (15.7-20.7) of its sampled games to the random player,
 *   nearly all on the second seat (data/runs/selfplay/tictactoe.json at 5626cc2);
 * - with exploration but 8 updates an iteration, 16.0 % (8.7-24.0; not committed).
 */
export const TICTACTOE_RUN: SelfPlayConfig = {
  ...DEFAULT_SELFPLAY,
  imitationIterations: 15,
  iterations: 85,
  gamesPerIteration: 64,
  imitationGames: 4,
  imitationWeight: 0.1,
  refreshEvery: 10,
  evalEvery: 10,
  evalGames: 100,
  learningRate: 0.002,
  selfPlayLearningRate: 0.004,
  selfPlayLrFinal: 0.05,
  temperature: 1,
  bothSeats: true,
  update: "expert",
  expertDepth: 2,
  expertRollouts: 8,
  explore: 0.5,
  replayBuffer: 8192,
  updatesPerIteration: 24,
  batchSize: 64
};

/** The word chain from the nano model pretrained on austen: imitation of random valid words, then self-play. */
export const WORDCHAIN_RUN: SelfPlayConfig = {
  ...DEFAULT_SELFPLAY,
  imitationIterations: 20,
  iterations: 30,
  gamesPerIteration: 32,
  imitationGames: 16,
  imitationWeight: 0.5,
  refreshEvery: 5,
  evalEvery: 5,
  evalGames: 64,
  learningRate: 0.002,
  selfPlayLearningRate: 0.001,
  temperature: 0.7,
  discount: 0.5,
  bothSeats: true
};

/**
 * The control arm: the same run with imitation continued for every iteration
 * instead of self-play. It keeps the replay buffer, the updates per iteration and
 * the minibatch size, so it takes exactly as many optimizer updates on as many rows.
 */
export function imitationOnly(c: SelfPlayConfig): SelfPlayConfig {
  return { ...c, imitationIterations: c.imitationIterations + c.iterations, iterations: 0 };
}

export interface SelfPlayRecord {
  game: string;
  /** "self-play", or "imitation only" (the control: imitation for as many iterations). */
  arm: string;
  seed: number;
  config: SelfPlayConfig;
  /** Per iteration: phase, the imitation loss, the mean reward and the training games' results. */
  iterations: { iteration: number; phase: "imitation" | "selfplay"; loss: number | null; meanReward: number | null; stats: GameStats }[];
  evals: { iteration: number; opponent: string; stats: GameStats }[];
  /** The latest games of the last evaluation, per opponent, and of the last self-play iteration. */
  replay: { selfplay: ReplayGame[]; eval: Record<string, ReplayGame[]> };
  seconds: number;
  /** Processor time of the whole run, evaluations included (process.cpuUsage; set by scripts/selfplay-runs.ts). */
  cpuSeconds?: number;
  /**
   * Tic-tac-toe: the final model's exact results against the random and the
   * perfect player, summed over every game they can play (lib/games/tictactoe-exact.ts;
   * set by scripts/selfplay-runs.ts, not counted in cpuSeconds).
   */
  exact?: TicTacToeExact;
}

/** Folds a run's events into its record. */
export class RecordBuilder {
  readonly record: SelfPlayRecord;
  constructor(game: string, config: SelfPlayConfig, arm = "self-play") {
    this.record = { game, arm, seed: config.seed, config, iterations: [], evals: [], replay: { selfplay: [], eval: {} }, seconds: 0 };
  }
  add(e: SelfPlayEvent): void {
    const r = this.record;
    if (e.kind === "iteration") {
      r.iterations.push({ iteration: e.iteration, phase: e.phase, loss: Number.isFinite(e.loss) ? round(e.loss) : null, meanReward: e.meanReward === null ? null : round(e.meanReward), stats: roundStats(e.stats) });
      if (e.phase === "selfplay") r.replay.selfplay = e.replay;
      r.seconds = Math.round(e.elapsedMs / 100) / 10;
    } else if (e.kind === "eval") {
      r.evals.push({ iteration: e.iteration, opponent: e.opponent, stats: roundStats(e.stats) });
      r.replay.eval[e.opponent] = e.replay;
    }
  }
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
function roundStats(s: GameStats): GameStats {
  return { ...s, win: round(s.win), draw: round(s.draw), loss: round(s.loss), illegalRate: round(s.illegalRate), meanLength: round(s.meanLength) };
}

/** A run's evaluations against one opponent, averaged (a single evaluation of 100 games is a noisy number). */
export interface AveragedEval {
  /** The iterations averaged over. */
  iterations: number[];
  win: number;
  draw: number;
  loss: number;
  illegalRate: number;
}

/**
 * The mean of a run's last `n` evaluations against `opponent` at or before
 * iteration `upTo` and after iteration `after` (fewer if it has fewer; null if none).
 */
export function lastEvals(run: Pick<SelfPlayRecord, "evals">, opponent: string, upTo: number, n = 3, after = -1): AveragedEval | null {
  const evals = run.evals.filter((e) => e.opponent === opponent && e.iteration <= upTo && e.iteration > after).slice(-n);
  if (evals.length === 0) return null;
  const mean = (pick: (s: GameStats) => number) => evals.reduce((a, e) => a + pick(e.stats), 0) / evals.length;
  return { iterations: evals.map((e) => e.iteration), win: mean((s) => s.win), draw: mean((s) => s.draw), loss: mean((s) => s.loss), illegalRate: mean((s) => s.illegalRate) };
}
