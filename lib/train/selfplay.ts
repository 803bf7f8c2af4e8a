// Self-play training, in the shape SPAG (Cheng et al. 2024, arXiv 2404.10642)
// trains a model on an adversarial word game, at the scale of the lab:
//
//   1. imitation: games played by a scripted player (random legal moves, random
//      valid words) teach the format; the model learns their moves by cross-entropy;
//   2. self-play: the model plays against a frozen copy of itself (refreshed every
//      `refreshEvery` iterations); the rules engine scores each game; the policy
//      moves by REINFORCE with a baseline (the batch's mean reward), plus an
//      imitation term on fresh scripted games that keeps it from forgetting the
//      format and the words;
//   3. evaluation every `evalEvery` iterations against the reference players,
//      the model choosing its most likely bytes.
//
// Like lib/train/trainer.ts it knows nothing of the model beyond its parameters
// and its logits (lib/models/moves.ts), and everything else sees it through one
// stream of events. All randomness comes from one seeded Rng, whose state is
// saved with the optimizer's, so a resumed run is bit-identical to one never
// stopped (the caller saves the frozen copy's weights beside the model's).
import { RunGate } from "./run-gate.js";
import type { Scalar, Tensor } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { addN } from "../add-n.js";
import { Rng } from "../rng.js";
import type { TrainConfig } from "../config.js";
import type { TrainerState } from "./trainer.js";
import { AdamW, type AdamWState } from "./optim.js";
import { moveLogProbs, type MoveRow, type PolicyModel } from "../models/moves.js";
import type { Game, ScriptedPlayer, Seat } from "../games/game.js";
import { playGames, scoreFor, type GameRecord, type Player } from "../games/match.js";
import { expertMove } from "./expert.js";

export interface SelfPlayConfig {
  /** Iterations of imitation of the scripted player, before self-play. */
  imitationIterations: number;
  /** Iterations of self-play. */
  iterations: number;
  gamesPerIteration: number;
  /** Scripted games per imitation iteration, and per self-play iteration for the imitation term. */
  imitationGames: number;
  /** Weight of the imitation term during self-play. */
  imitationWeight: number;
  /** Self-play iterations between refreshes of the frozen copy. */
  refreshEvery: number;
  /** Iterations between evaluations (0: only at the start and the end). */
  evalEvery: number;
  /** Games against each reference player per evaluation (half on each seat). */
  evalGames: number;
  /** Learning rate of imitation. */
  learningRate: number;
  /** Learning rate of self-play (0: learningRate). */
  selfPlayLearningRate: number;
  /**
   * The self-play learning rate falls by a half cosine over the self-play
   * iterations, from selfPlayLearningRate to this fraction of it at the last one
   * (1: constant). Imitation's rate stays constant.
   */
  selfPlayLrFinal: number;
  /** Sampling temperature of the model's moves in self-play. */
  temperature: number;
  /** A move k of a player's moves before its last gets the game's reward times discount^k (1: every move the same). */
  discount: number;
  /** Also learn from the frozen copy's moves (it is the learner of at most refreshEvery iterations ago). */
  bothSeats: boolean;
  /**
   * How self-play moves the policy: "reinforce" (the games' outcomes, REINFORCE with
   * the batch-mean baseline) or "expert" (expert iteration: in every position the
   * games reached, a shallow search over the rules engine's moves picks a move and
   * the model learns to write it; lib/train/expert.ts).
   */
  update: "reinforce" | "expert";
  /** Expert iteration: plies the expert searches exactly. */
  expertDepth: number;
  /** Expert iteration: random playouts valuing a position still open at the expert's depth (0: a draw). */
  expertRollouts: number;
  /**
   * Rows (a position and the move to learn there, with its weight) kept from
   * past iterations, oldest dropped first: the aggregated data set of DAgger
   * (Ross, Gordon & Bagnell 2011). Imitation iterations add the teacher's moves
   * (weight 1), expert iterations the expert's moves (weight 1) and the
   * imitation term's (weight imitationWeight); each update learns from a
   * minibatch drawn from it. 0: no buffer, one update on the iteration's own
   * rows (REINFORCE needs that: it learns only from games of the current policy).
   */
  replayBuffer: number;
  /** Optimizer updates per iteration, each on batchSize rows drawn from the replay buffer. */
  updatesPerIteration: number;
  /** Rows per update drawn from the replay buffer (with replacement). */
  batchSize: number;
  /**
   * Self-play exploration: the probability that a move of the frozen copy is a
   * uniformly random legal move instead of its own (needs the game's legal moves; 0: never).
   */
  explore: number;
  seed: number;
}

export const UPDATE_MODES = ["reinforce", "expert"] as const;

export const DEFAULT_SELFPLAY: SelfPlayConfig = {
  imitationIterations: 40,
  iterations: 200,
  gamesPerIteration: 64,
  imitationGames: 16,
  imitationWeight: 0.5,
  refreshEvery: 10,
  evalEvery: 20,
  evalGames: 100,
  learningRate: 1e-3,
  selfPlayLearningRate: 0,
  selfPlayLrFinal: 1,
  temperature: 1,
  discount: 1,
  bothSeats: false,
  update: "reinforce",
  expertDepth: 2,
  expertRollouts: 8,
  replayBuffer: 0,
  updatesPerIteration: 1,
  batchSize: 128,
  explore: 0,
  seed: 1
};

/** Settings saved before a setting existed load with the value that behaves as the code did then. */
const ADDED_LATER: Partial<SelfPlayConfig> = {
  update: "reinforce",
  expertDepth: DEFAULT_SELFPLAY.expertDepth,
  expertRollouts: DEFAULT_SELFPLAY.expertRollouts,
  replayBuffer: 0,
  updatesPerIteration: 1,
  batchSize: DEFAULT_SELFPLAY.batchSize,
  explore: 0,
  selfPlayLrFinal: 1
};

/** A self-play config as saved (possibly before some settings existed), with the missing ones filled in. */
export function withSelfPlayDefaults(c: Partial<SelfPlayConfig>): SelfPlayConfig {
  return { ...ADDED_LATER, ...c } as SelfPlayConfig;
}

export class SelfPlayConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`Invalid self-play setting: ${field}: ${message}`);
    this.name = "SelfPlayConfigError";
  }
}

export function validateSelfPlayConfig(c: SelfPlayConfig): SelfPlayConfig {
  const known = Object.keys(DEFAULT_SELFPLAY);
  for (const k of Object.keys(c)) if (!known.includes(k)) throw new SelfPlayConfigError(k, `unknown setting; known ones are ${known.join(", ")}`);
  const int = (k: keyof SelfPlayConfig, min: number, max: number) => {
    const v = c[k] as unknown;
    if (!(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max)) throw new SelfPlayConfigError(k, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})`);
  };
  int("imitationIterations", 0, 1_000_000);
  int("iterations", 0, 1_000_000);
  if (c.imitationIterations + c.iterations < 1) throw new SelfPlayConfigError("iterations", "imitation and self-play iterations add up to at least 1");
  int("gamesPerIteration", 2, 4096);
  int("imitationGames", 0, 4096);
  int("refreshEvery", 1, 1_000_000);
  int("evalEvery", 0, 1_000_000);
  int("evalGames", 0, 100_000);
  int("seed", 0, 2 ** 32 - 1);
  const num = (k: keyof SelfPlayConfig, ok: (v: number) => boolean, rule: string) => {
    const v = c[k] as unknown;
    if (!(typeof v === "number" && Number.isFinite(v) && ok(v))) throw new SelfPlayConfigError(k, `${rule} (got ${JSON.stringify(v)})`);
  };
  num("imitationWeight", (v) => v >= 0, "must be a number >= 0");
  num("learningRate", (v) => v > 0 && v < 1, "must be a number in (0, 1)");
  num("selfPlayLearningRate", (v) => v >= 0 && v < 1, "must be a number in [0, 1) (0: the imitation rate)");
  num("temperature", (v) => v > 0 && v <= 4, "must be a number > 0 and <= 4");
  num("discount", (v) => v > 0 && v <= 1, "must be a number > 0 and <= 1");
  num("selfPlayLrFinal", (v) => v > 0 && v <= 1, "must be a number > 0 and <= 1 (1: a constant rate)");
  num("explore", (v) => v >= 0 && v <= 1, "must be a probability from 0 to 1");
  if (!(UPDATE_MODES as readonly unknown[]).includes(c.update)) throw new SelfPlayConfigError("update", `must be one of ${UPDATE_MODES.join(", ")} (got ${JSON.stringify(c.update)})`);
  int("expertDepth", 1, 9);
  int("expertRollouts", 0, 10_000);
  int("replayBuffer", 0, 1_000_000);
  int("updatesPerIteration", 1, 10_000);
  int("batchSize", 1, 4096);
  if (c.replayBuffer === 0 && c.updatesPerIteration > 1) throw new SelfPlayConfigError("updatesPerIteration", `several updates per iteration draw their rows from the replay buffer: set replayBuffer > 0, or updatesPerIteration 1 (got ${c.updatesPerIteration})`);
  if (c.replayBuffer > 0 && c.update === "reinforce" && c.iterations > 0) throw new SelfPlayConfigError("replayBuffer", "REINFORCE learns only from games of the current policy, so it cannot learn from a replay buffer: use update \"expert\", or replayBuffer 0");
  if (typeof c.bothSeats !== "boolean") throw new SelfPlayConfigError("bothSeats", `must be true or false (got ${JSON.stringify(c.bothSeats)})`);
  return c;
}

/** The TrainConfig a self-play run's checkpoint records (constant learning rate, no decay). */
export function selfPlayTrainConfig(c: SelfPlayConfig): TrainConfig {
  return {
    batchSize: c.replayBuffer > 0 ? c.batchSize : c.gamesPerIteration,
    // The checkpoint's step counts optimizer updates (see selfPlayTrainerState).
    steps: (c.imitationIterations + c.iterations) * c.updatesPerIteration,
    learningRate: c.learningRate,
    warmupSteps: 0,
    minLrRatio: 1,
    weightDecay: 0,
    beta1: 0.9,
    beta2: 0.99,
    eps: 1e-8,
    gradClip: 1,
    evalEvery: c.evalEvery,
    evalBytes: 2,
    seed: c.seed,
    dropoutSchedule: "constant"
  };
}

/** A row of the replay buffer: a position's text, the move to learn there, and its weight in the loss. */
export interface ReplayRow extends MoveRow {
  weight: number;
}

export interface SelfPlayState {
  /** Iterations done (imitation and self-play together). */
  iteration: number;
  rng: number[];
  /** The optimizer's state; its step counts updates (updatesPerIteration per iteration). */
  optimizer: AdamWState;
  elapsedMs: number;
  /** The replay buffer, oldest row first (absent or empty: none). */
  replay?: ReplayRow[];
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (h: string) => Uint8Array.from({ length: h.length / 2 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16));

/**
 * How a self-play state sits in a lab checkpoint: the trainer record's step is
 * the optimizer's (updates, as for \`stlm train\`), and the iteration and the
 * replay buffer go in the checkpoint's meta under "selfplayState" (hashed with
 * the rest of the file).
 */
export function selfPlayTrainerState(s: SelfPlayState): { trainer: TrainerState; meta: { selfplayState: { iteration: number; replay: string[] } } } {
  return {
    trainer: { step: s.optimizer.step, dataRng: s.rng, dropoutRng: s.rng, optimizer: s.optimizer, elapsedMs: s.elapsedMs },
    meta: { selfplayState: { iteration: s.iteration, replay: (s.replay ?? []).map((r) => `${hex(r.prompt)} ${hex(r.move)} ${r.weight}`) } }
  };
}

/**
 * The self-play state a checkpoint holds (selfPlayTrainerState's inverse). A
 * checkpoint saved before the replay buffer existed has no "selfplayState": its
 * step was the iteration (one update each) and it had no buffer.
 */
export function selfPlayStateFromCheckpoint(trainer: TrainerState, meta: Record<string, unknown>, config: SelfPlayConfig): SelfPlayState {
  const saved = meta.selfplayState as { iteration?: unknown; replay?: unknown } | undefined;
  const bad = (why: string) => new Error(`the checkpoint's self-play state ${why}; the file was not written by stlm selfplay or was edited`);
  let iteration = trainer.step;
  let replay: ReplayRow[] = [];
  if (saved !== undefined) {
    if (typeof saved !== "object" || saved === null || !Number.isSafeInteger(saved.iteration) || !Array.isArray(saved.replay)) throw bad("is damaged");
    iteration = saved.iteration as number;
    replay = (saved.replay as unknown[]).map((x) => {
      const parts = typeof x === "string" ? x.split(" ") : [];
      const weight = Number(parts[2]);
      if (parts.length !== 3 || !/^([0-9a-f]{2})+$/.test(parts[0]) || !/^([0-9a-f]{2})+$/.test(parts[1]) || !Number.isFinite(weight)) throw bad(`has a damaged replay row (${JSON.stringify(x)?.slice(0, 40)})`);
      return { prompt: unhex(parts[0]), move: unhex(parts[1]), weight };
    });
  }
  if (trainer.step !== iteration * config.updatesPerIteration) throw bad(`says iteration ${iteration}, which is ${iteration * config.updatesPerIteration} updates, but the optimizer took ${trainer.step}`);
  if (replay.length > config.replayBuffer) throw bad(`holds ${replay.length} replay rows, more than the buffer's ${config.replayBuffer}`);
  return { iteration, rng: trainer.dataRng, optimizer: trainer.optimizer, elapsedMs: trainer.elapsedMs ?? 0, replay };
}

/** Results of a set of games from the model's side. */
export interface GameStats {
  games: number;
  win: number;
  draw: number;
  loss: number;
  /** The model's moves the engine refused, over all the model's moves. */
  illegalRate: number;
  /** Games lost by a refused move of the model. */
  illegalGames: number;
  /** Mean legal moves per game (both players): a word chain's length in answers. */
  meanLength: number;
  /** The model's moves. */
  moves: number;
}

/** A game as the page's replay shows it: plain text and verdicts. */
export interface ReplayGame {
  start: string;
  moves: { seat: Seat; player: string; text: string; ok: boolean; verdict: string }[];
  /** From the learner's side, when it played: "win", "draw", "loss". */
  result: string;
}

export type SelfPlayEvent =
  | { kind: "iteration"; iteration: number; phase: "imitation" | "selfplay"; loss: number; meanReward: number | null; stats: GameStats; replay: ReplayGame[]; elapsedMs: number }
  | { kind: "eval"; iteration: number; opponent: string; stats: GameStats; replay: ReplayGame[] }
  | { kind: "refresh"; iteration: number }
  | { kind: "paused"; iteration: number }
  | { kind: "resumed"; iteration: number }
  | { kind: "done"; iteration: number; stopped: boolean; elapsedMs: number };

export interface SelfPlayOptions<S, M> {
  game: Game<S, M>;
  /** The learner. */
  model: PolicyModel;
  /** The frozen copy: the same parameters by name, overwritten at each refresh, never trained. */
  frozen: PolicyModel;
  /** The scripted player imitation learns from. */
  teacher: ScriptedPlayer<S, M>;
  /** The reference players evaluation plays against. */
  references: readonly { name: string; play: ScriptedPlayer<S, M> }[];
  config: SelfPlayConfig;
  state?: SelfPlayState;
  /** How the start of a game reads on the replay (default: its prompt as text). */
  describeStart?: (s: S) => string;
  /**
   * A pause inside an iteration: called with true when the loop stops at a pause
   * point (before a turn of its games, before a replay update), and with false when
   * it goes on. Without it the loop pauses between iterations only (a "paused"
   * event). With it a pause acts within a move or an update, and the iteration
   * continues where it stopped on resume, so the run stays bit-identical to one
   * never paused; a stop during an iteration's games (before its first update)
   * drops that iteration, its random draws given back, and ends the run at the
   * iteration count it had; during its updates, it ends after them. A page's live
   * run (src/components/selfplay-live.ts) passes it.
   */
  onHold?: (held: boolean, iteration: number) => void;
}

/** Thrown at a pause point when a stop drops the iteration (or evaluation) under way: see SelfPlayOptions.onHold. */
class Abandoned extends Error {
  constructor() {
    super("the self-play iteration was stopped before its first update");
    this.name = "Abandoned";
  }
}

const yieldToEventLoop: () => Promise<void> =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? () => new Promise((r) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(r))
    : () => new Promise((r) => setTimeout(r, 0));

/**
 * A turn of the event loop that a worker's message can come in (the page's Pause):
 * setImmediate in Node, a MessageChannel task elsewhere (setTimeout(0) is clamped
 * to 4 ms once nested), so a pause point that yields costs next to nothing.
 */
const yieldForMessages: () => Promise<void> =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? yieldToEventLoop
    : typeof MessageChannel === "function"
      ? () =>
          new Promise((resolve) => {
            const channel = new MessageChannel();
            channel.port1.onmessage = () => {
              channel.port1.close();
              resolve();
            };
            channel.port2.postMessage(null);
          })
      : yieldToEventLoop;

/** A pause point lets messages in at most this often (ms): the loop's awaits are mostly promise callbacks, which let none in. */
const HOLD_YIELD_MS = 20;

const decoder = new TextDecoder();

/** Win / draw / loss and refusals of `seat`'s player over games (seat per game). */
export function gameStats<S>(records: readonly GameRecord<S>[], seats: readonly Seat[]): GameStats {
  let win = 0, draw = 0, loss = 0, moves = 0, refused = 0, illegalGames = 0, legal = 0;
  records.forEach((r, i) => {
    const seat = seats[i];
    const s = scoreFor(r.outcome, seat);
    if (s > 0) win++;
    else if (s < 0) loss++;
    else draw++;
    if (r.outcome.illegal === seat) illegalGames++;
    for (const m of r.moves) {
      if (m.ok) legal++;
      if (m.seat !== seat) continue;
      moves++;
      if (!m.ok) refused++;
    }
  });
  const n = Math.max(1, records.length);
  return { games: records.length, win: win / n, draw: draw / n, loss: loss / n, illegalRate: moves ? refused / moves : 0, illegalGames, meanLength: legal / n, moves };
}

/**
 * The weighted sum of move log-probabilities whose gradient is the update:
 * REINFORCE rows weighted by -advantage / n, imitation rows by -weight / n
 * (cross-entropy). Returns the loss, a scalar the caller owns.
 */
export function policyLoss(model: PolicyModel, rows: readonly MoveRow[], weights: Float32Array): Scalar {
  return tf.tidy(() => tf.sum(tf.mul(moveLogProbs(model, rows), tf.tensor1d(weights))) as Scalar);
}

/** One optimizer step on a weighted sum of move log-probabilities (see policyLoss). */
export function policyStep(model: PolicyModel, optimizer: AdamW, rows: readonly MoveRow[], weights: Float32Array, lr: number): void {
  policyStepLoss(model, optimizer, rows, weights, lr)?.dispose();
}

/** policyStep that also returns the loss before the step (a scalar the caller owns), or null when there were no rows. */
export function policyStepLoss(model: PolicyModel, optimizer: AdamW, rows: readonly MoveRow[], weights: Float32Array, lr: number): Scalar | null {
  if (rows.length === 0) return null;
  const vars = model.params.map((p) => p.variable);
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => policyLoss(model, rows, weights), vars);
    optimizer.apply(vars.map((v) => grads[v.name]) as Tensor[], lr).dispose();
    return value;
  });
}

/**
 * The self-play learning rate at `iteration` (counted from the run's start, so
 * the first self-play one is imitationIterations): selfPlayLearningRate (or
 * learningRate) falling by a half cosine to selfPlayLrFinal times it at the last.
 */
export function selfPlayLrAt(c: SelfPlayConfig, iteration: number): number {
  const base = c.selfPlayLearningRate || c.learningRate;
  if (c.selfPlayLrFinal === 1) return base;
  const progress = Math.min(1, Math.max(0, (iteration - c.imitationIterations) / Math.max(1, c.iterations - 1)));
  return base * (c.selfPlayLrFinal + (1 - c.selfPlayLrFinal) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export class SelfPlay<S, M> {
  readonly config: SelfPlayConfig;
  private readonly opts: SelfPlayOptions<S, M>;
  private readonly optimizer: AdamW;
  private rng: Rng;
  private iterationCount = 0;
  private elapsedMs = 0;
  /** The replay buffer, oldest row first. */
  private replayRows: ReplayRow[] = [];
  private readonly gate = new RunGate();
  private running = false;
  /** Whether the iteration under way has changed a weight, the replay buffer or the optimizer (a stop then lets it end). */
  private committed = false;
  /** Milliseconds held at pause points in the iteration under way (not training time). */
  private heldMs = 0;
  /** When a pause point last let messages in (performance.now()). */
  private lastYield = 0;

  constructor(options: SelfPlayOptions<S, M>) {
    // Settings saved before expert iteration and the replay buffer existed are REINFORCE runs with one update per iteration.
    this.config = validateSelfPlayConfig(withSelfPlayDefaults(options.config));
    this.opts = options;
    const names = options.model.params.map((p) => p.name).join(",");
    if (options.frozen.params.map((p) => p.name).join(",") !== names) throw new Error("the frozen copy must have the learner's parameters, by name and order");
    this.optimizer = new AdamW(options.model.params, selfPlayTrainConfig(this.config));
    this.rng = new Rng(this.config.seed);
    if (options.state) {
      this.optimizer.load(options.state.optimizer);
      this.rng = new Rng(options.state.rng);
      this.iterationCount = options.state.iteration;
      this.elapsedMs = options.state.elapsedMs;
      this.replayRows = (options.state.replay ?? []).map((r) => ({ prompt: r.prompt.slice(), move: r.move.slice(), weight: r.weight }));
      if (this.optimizer.step !== this.iterationCount * this.config.updatesPerIteration) throw new Error(`the saved state is at iteration ${this.iterationCount} but its optimizer took ${this.optimizer.step} updates, not ${this.iterationCount * this.config.updatesPerIteration}`);
    }
  }

  get iteration(): number {
    return this.iterationCount;
  }

  get totalIterations(): number {
    return this.config.imitationIterations + this.config.iterations;
  }

  get isPaused(): boolean {
    return this.gate.paused;
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  /** Finish the iteration under way, then end the run. */
  stop(): void {
    this.gate.stop();
  }

  async state(): Promise<SelfPlayState> {
    return { iteration: this.iterationCount, rng: this.rng.state(), optimizer: await this.optimizer.state(), elapsedMs: this.elapsedMs, replay: this.replayRows.map((r) => ({ ...r })) };
  }

  /** Rows in the replay buffer now. */
  get replaySize(): number {
    return this.replayRows.length;
  }

  /** Adds rows to the replay buffer, dropping the oldest past its capacity. */
  private remember(rows: readonly MoveRow[], weight: number): void {
    for (const r of rows) this.replayRows.push({ prompt: r.prompt, move: r.move, weight });
    const over = this.replayRows.length - this.config.replayBuffer;
    if (over > 0) this.replayRows.splice(0, over);
  }

  /**
   * updatesPerIteration updates, each on batchSize rows drawn from the replay
   * buffer (uniformly, with replacement, by the run's Rng), row weight w
   * entering the loss as -w / batchSize. Returns the mean loss before each update.
   */
  private async replayUpdates(lr: number): Promise<number> {
    const c = this.config;
    const buf = this.replayRows;
    if (buf.length === 0) return NaN;
    const losses: Scalar[] = [];
    for (let k = 0; k < c.updatesPerIteration; k++) {
      await this.hold();
      const rows: ReplayRow[] = [];
      for (let j = 0; j < c.batchSize; j++) rows.push(buf[this.rng.int(buf.length)]);
      const weights = Float32Array.from(rows, (r) => -r.weight / rows.length);
      losses.push(policyStepLoss(this.opts.model, this.optimizer, rows, weights, lr)!);
      // A page running the loop on its main thread stays responsive between updates.
      if (k + 1 < c.updatesPerIteration) await yieldToEventLoop();
    }
    const total = tf.tidy(() => addN(losses));
    const v = (await total.data())[0] / losses.length;
    total.dispose();
    for (const l of losses) l.dispose();
    return v;
  }

  /** Copy the learner's weights into the frozen copy. */
  refresh(): void {
    const { model, frozen } = this.opts;
    model.params.forEach((p, i) => frozen.params[i].variable.assign(p.variable));
  }

  private learner(temperature: number): Player<S, M> {
    return { kind: "policy", name: "model", model: this.opts.model, temperature };
  }

  private replay(records: readonly GameRecord<S>[], seats: readonly (Seat | null)[], n = 4): ReplayGame[] {
    const { game, describeStart } = this.opts;
    const start = describeStart ?? ((s: S) => decoder.decode(game.prompt(s)).replace(/^\n+/, ""));
    return records.slice(-n).map((r, j) => {
      const seat = seats[records.length - Math.min(n, records.length) + j];
      return {
        start: start(r.start),
        moves: r.moves.map((m) => ({ seat: m.seat, player: m.player, text: decoder.decode(m.text), ok: m.ok, verdict: m.verdict })),
        result: seat === null ? (r.outcome.winner === null ? "draw" : `seat ${r.outcome.winner} won`) : ["loss", "draw", "win"][scoreFor(r.outcome, seat) + 1]
      };
    });
  }

  /** Games between two scripted teachers: the imitation rows (every move, from both seats). */
  private async teacherRows(games: number): Promise<MoveRow[]> {
    const teacher: Player<S, M> = { kind: "scripted", name: "teacher", play: this.opts.teacher };
    const records = await playGames(this.opts.game, Array.from({ length: games }, () => [teacher, teacher] as const), this.rng, this.pausePoints());
    return records.flatMap((r) => r.moves.filter((m) => m.ok).map((m) => ({ prompt: m.prompt, move: m.text })));
  }

  /** Games of the model (greedy) against each reference player, half on each seat, from an Rng of their own. */
  async evaluate(): Promise<{ opponent: string; stats: GameStats; replay: ReplayGame[] }[]> {
    const out = [];
    const rng = new Rng((this.config.seed ^ Math.imul(this.iterationCount + 1, 0x9e3779b1)) >>> 0);
    for (const ref of this.opts.references) {
      const other: Player<S, M> = { kind: "scripted", name: ref.name, play: ref.play };
      const me = this.learner(0);
      const seats = Array.from({ length: this.config.evalGames }, (_, i) => (i % 2) as Seat);
      const records = await playGames(this.opts.game, seats.map((s): [Player<S, M>, Player<S, M>] => (s === 0 ? [me, other] : [other, me])), rng, this.pausePoints());
      out.push({ opponent: ref.name, stats: gameStats(records, seats), replay: this.replay(records, seats) });
    }
    return out;
  }

  /** One iteration: imitation or self-play, by the iteration's number. */
  private async step(): Promise<Extract<SelfPlayEvent, { kind: "iteration" }>> {
    const c = this.config;
    const { game } = this.opts;
    const lr = c.learningRate;
    if (this.iterationCount < c.imitationIterations) {
      const teacher: Player<S, M> = { kind: "scripted", name: "teacher", play: this.opts.teacher };
      const records = await playGames(game, Array.from({ length: Math.max(1, c.imitationGames) }, () => [teacher, teacher] as const), this.rng, this.pausePoints());
      const rows = records.flatMap((r) => r.moves.filter((m) => m.ok).map((m) => ({ prompt: m.prompt, move: m.text })));
      let loss: number;
      this.committed = true;
      if (c.replayBuffer > 0) {
        this.remember(rows, 1);
        loss = await this.replayUpdates(lr);
      } else {
        const weights = new Float32Array(rows.length).fill(-1 / Math.max(1, rows.length));
        loss = await this.lossValue(rows, weights);
        policyStep(this.opts.model, this.optimizer, rows, weights, lr);
      }
      this.iterationCount++;
      return { kind: "iteration", iteration: this.iterationCount, phase: "imitation", loss, meanReward: null, stats: gameStats(records, records.map(() => 0)), replay: this.replay(records, records.map(() => null), 2), elapsedMs: this.elapsedMs };
    }
    // Self-play: the learner on seat i % 2, the frozen copy on the other.
    const me = this.learner(c.temperature);
    const them: Player<S, M> = { kind: "policy", name: "frozen copy", model: this.opts.frozen, temperature: c.temperature, explore: c.explore };
    const seats = Array.from({ length: c.gamesPerIteration }, (_, i) => (i % 2) as Seat);
    const records = await playGames(game, seats.map((s): [Player<S, M>, Player<S, M>] => (s === 0 ? [me, them] : [them, me])), this.rng, this.pausePoints());
    if (c.update === "expert") return this.expertStep(records, seats);
    const rl: { row: MoveRow; reward: number }[] = [];
    records.forEach((r, i) => {
      for (const seat of c.bothSeats ? ([0, 1] as const) : [seats[i]]) {
        const reward = scoreFor(r.outcome, seat);
        const mine = r.moves.filter((m) => m.seat === seat);
        mine.forEach((m, k) => rl.push({ row: { prompt: m.prompt, move: m.text }, reward: reward * c.discount ** (mine.length - 1 - k) }));
      }
    });
    const baseline = rl.reduce((a, x) => a + x.reward, 0) / Math.max(1, rl.length);
    const imitation = c.imitationGames > 0 && c.imitationWeight > 0 ? await this.teacherRows(c.imitationGames) : [];
    const rows = [...rl.map((x) => x.row), ...imitation];
    const weights = new Float32Array(rows.length);
    rl.forEach((x, i) => (weights[i] = -(x.reward - baseline) / rl.length));
    for (let j = 0; j < imitation.length; j++) weights[rl.length + j] = -c.imitationWeight / imitation.length;
    this.committed = true;
    // The reported loss is the imitation term's cross-entropy per move (what the model still has to learn of the format).
    const loss = imitation.length ? await this.lossValue(imitation, new Float32Array(imitation.length).fill(-1 / imitation.length)) : NaN;
    policyStep(this.opts.model, this.optimizer, rows, weights, this.selfPlayLr());
    this.iterationCount++;
    return { kind: "iteration", iteration: this.iterationCount, phase: "selfplay", loss, meanReward: baseline, stats: gameStats(records, seats), replay: this.replay(records, seats), elapsedMs: this.elapsedMs };
  }

  /**
   * Expert iteration on a batch of self-play games: every position a learning seat
   * was to move in (refused moves included) gets the expert's move, learned by
   * cross-entropy, with the imitation term beside it: in one update on these rows,
   * or, with a replay buffer, added to it and learned by updatesPerIteration
   * updates on minibatches drawn from it. The reported loss is the cross-entropy
   * of the expert's moves (with a buffer: the mean weighted loss of the
   * minibatches); meanReward is the learner's mean result.
   */
  private async expertStep(records: readonly GameRecord<S>[], seats: readonly Seat[]): Promise<Extract<SelfPlayEvent, { kind: "iteration" }>> {
    const c = this.config;
    const { game } = this.opts;
    const settings = { depth: c.expertDepth, rollouts: c.expertRollouts };
    const expert: MoveRow[] = [];
    // Positions repeat across games (every opening does): each distinct one is searched once per iteration.
    const chosen = new Map<string, Uint8Array>();
    records.forEach((r, i) => {
      let s = r.start;
      for (const m of r.moves) {
        if (c.bothSeats || m.seat === seats[i]) {
          const key = decoder.decode(m.prompt);
          let move = chosen.get(key);
          if (!move) chosen.set(key, (move = game.formatMove(expertMove(game, s, settings, this.rng))));
          expert.push({ prompt: m.prompt, move });
        }
        if (!m.ok) break;
        const v = game.judge(s, m.text);
        if (!v.ok) break;
        s = game.apply(s, v.move);
      }
    });
    const imitation = c.imitationGames > 0 && c.imitationWeight > 0 ? await this.teacherRows(c.imitationGames) : [];
    const lr = this.selfPlayLr();
    let loss: number;
    this.committed = true;
    if (c.replayBuffer > 0) {
      this.remember(expert, 1);
      this.remember(imitation, c.imitationWeight);
      loss = await this.replayUpdates(lr);
    } else {
      const rows = [...expert, ...imitation];
      const weights = new Float32Array(rows.length);
      for (let j = 0; j < expert.length; j++) weights[j] = -1 / expert.length;
      for (let j = 0; j < imitation.length; j++) weights[expert.length + j] = -c.imitationWeight / imitation.length;
      loss = await this.lossValue(expert, weights.slice(0, expert.length));
      policyStep(this.opts.model, this.optimizer, rows, weights, lr);
    }
    this.iterationCount++;
    const meanReward = records.reduce((a, r, i) => a + scoreFor(r.outcome, seats[i]), 0) / Math.max(1, records.length);
    return { kind: "iteration", iteration: this.iterationCount, phase: "selfplay", loss, meanReward, stats: gameStats(records, seats), replay: this.replay(records, seats), elapsedMs: this.elapsedMs };
  }

  /** The learning rate of the self-play iteration under way. */
  private selfPlayLr(): number {
    return selfPlayLrAt(this.config, this.iterationCount);
  }

  private async lossValue(rows: readonly MoveRow[], weights: Float32Array): Promise<number> {
    if (rows.length === 0) return NaN;
    const l = policyLoss(this.opts.model, rows, weights);
    const v = (await l.data())[0];
    l.dispose();
    return v;
  }

  async *run(): AsyncGenerator<SelfPlayEvent, void, undefined> {
    if (this.running) throw new Error("this self-play run is already running");
    this.running = true;
    const c = this.config;
    const total = this.totalIterations;
    try {
      // A stop at a pause point of an evaluation drops it (it changes nothing: its games have an Rng of their own).
      const evaluation = async () => {
        this.committed = false;
        try {
          return await this.evaluate();
        } catch (e) {
          if (e instanceof Abandoned) return null;
          throw e;
        }
      };
      if (this.iterationCount === 0) for (const e of (await evaluation()) ?? []) yield { kind: "eval", iteration: 0, ...e };
      while (this.iterationCount < total && !this.gate.stopped) {
        if (this.gate.paused) {
          yield { kind: "paused", iteration: this.iterationCount };
          await this.gate.whilePaused();
          if (this.gate.stopped) break;
          yield { kind: "resumed", iteration: this.iterationCount };
        }
        // The frozen copy is the learner as self-play starts, and again every refreshEvery self-play iterations.
        const selfPlayDone = this.iterationCount - c.imitationIterations;
        if (selfPlayDone >= 0 && selfPlayDone % c.refreshEvery === 0) {
          this.refresh();
          yield { kind: "refresh", iteration: this.iterationCount };
        }
        const t0 = performance.now();
        const rngBefore = this.rng.state();
        this.committed = false;
        this.heldMs = 0;
        let event: Awaited<ReturnType<SelfPlay<S, M>["step"]>>;
        try {
          event = await this.step();
        } catch (e) {
          if (!(e instanceof Abandoned)) throw e;
          // Stopped before the iteration changed anything but the Rng: give its draws back, and end at the count it had.
          this.rng = new Rng(rngBefore);
          break;
        }
        this.elapsedMs += performance.now() - t0 - this.heldMs;
        yield { ...event, elapsedMs: this.elapsedMs };
        const it = this.iterationCount;
        if ((c.evalEvery > 0 && it % c.evalEvery === 0) || it === total) for (const e of (await evaluation()) ?? []) yield { kind: "eval", iteration: it, ...e };
        await yieldToEventLoop();
      }
      yield { kind: "done", iteration: this.iterationCount, stopped: this.iterationCount < total, elapsedMs: this.elapsedMs };
    } finally {
      this.running = false;
    }
  }

  /** playGames's pause points (only where the run pauses inside iterations: SelfPlayOptions.onHold). */
  private pausePoints(): { between?: () => Promise<void> } {
    return this.opts.onHold ? { between: () => this.hold() } : {};
  }

  /**
   * A pause point inside an iteration (with SelfPlayOptions.onHold): waits here while
   * the run is paused, so the iteration goes on from here, unchanged, on resume. A
   * stop before the iteration has changed anything drops it (Abandoned).
   */
  private async hold(): Promise<void> {
    const onHold = this.opts.onHold;
    if (!onHold) return;
    // The loop's own awaits (read-backs) resolve as promise callbacks, in which no message arrives: let Pause and Stop in now and then.
    if (performance.now() - this.lastYield > HOLD_YIELD_MS) {
      await yieldForMessages();
      this.lastYield = performance.now();
    }
    if (this.gate.stopped && !this.committed) throw new Abandoned();
    if (!this.gate.paused) return;
    const t0 = performance.now();
    onHold(true, this.iterationCount);
    await this.gate.whilePaused();
    this.heldMs += performance.now() - t0;
    if (this.gate.stopped && !this.committed) throw new Abandoned();
    onHold(false, this.iterationCount);
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
