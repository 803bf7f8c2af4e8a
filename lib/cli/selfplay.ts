// stlm selfplay: teach a byte model a game by imitation, then self-play against
// a frozen copy of itself (lib/train/selfplay.ts), into a run folder; and
// stlm play: play a game against a model in the terminal.
//
// A self-play run folder holds config.json, metrics.jsonl (one row per iteration
// and per evaluation, keyed by `step` = iteration), checkpoint.safetensors (the
// learner, its optimizer and the loop's state, at every evaluation and at the
// end; its trainer step counts optimizer updates, its meta's "selfplayState"
// holds the iteration and the replay buffer), frozen.safetensors (the frozen
// copy's weights, saved with it, so a resumed run is bit-identical), games.json
// (the latest games), summary.json and run.json (the run's record, of kind "game":
// lib/runs/record.ts; written at every evaluation and at the end).
import { exactEvaluation } from "../games/tictactoe-exact.js";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { CHECKPOINT_FILE, CheckpointError, encodeCheckpoint, modelFromCheckpoint } from "../train/checkpoint.js";
import { TinyLM } from "../models/model.js";
import { decodeBytes } from "../text/tokenizer.js";
import { sampleMoves } from "../models/moves.js";
import { Rng } from "../rng.js";
import {
  DEFAULT_SELFPLAY, SelfPlay, SelfPlayConfigError, UPDATE_MODES, selfPlayStateFromCheckpoint, selfPlayTrainConfig, selfPlayTrainerState, validateSelfPlayConfig, withSelfPlayDefaults,
  type GameStats, type ReplayGame, type SelfPlayConfig, type SelfPlayState
} from "../train/selfplay.js";
import { GAME_NAMES, isGameName, ticTacToeSetup, wordChainSetup, type GameName, type GameSetup } from "../games/games.js";
import { CORPUS_NAMES } from "../text/data.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus } from "../node/data.js";
import { appendJsonl, loadCheckpointFile, readJson, writeFileAtomic, writeJson } from "../node/files.js";
import { nodeRuntime, readRunRecord, writeGameRunRecord, type GameRunParts } from "../node/runrecord.js";
import { gameDataIdentity } from "../runs/build.js";
import { acquireRunLock, prepareNewRunFolder, truncateMetrics } from "../node/runfolder.js";
import { formatDuration, parseFlags, progressLine, SEED_FLAG, UsageError, type IntFlag } from "./args.js";
import { Interrupted } from "./train.js";
import { markOf, type TicTacToeState } from "../games/tictactoe.js";
import type { WordChainState } from "../games/wordchain.js";

export const FROZEN_FILE = "frozen.safetensors";

export const SELFPLAY_HELP = `stlm selfplay --game tictactoe|wordchain [--init CHECKPOINT] --iterations N
              --games-per-iteration G --seed S --out DIR
stlm selfplay --resume DIR

Imitation of a scripted player (random legal moves; random valid words), then
self-play against a frozen copy of the model refreshed every K iterations,
updated by REINFORCE with a baseline plus an imitation term; evaluation every
N iterations against the reference players (tic-tac-toe: random and perfect;
word chain: random valid words). Writes DIR/config.json, DIR/metrics.jsonl,
DIR/${CHECKPOINT_FILE}, DIR/${FROZEN_FILE}, DIR/games.json, DIR/summary.json,
DIR/run.json (the run record, kind "game", as pages import it).

  --game G                 tictactoe or wordchain
  --init CHECKPOINT        start from a byte model's checkpoint (a run folder or
                           file); default: a fresh nano model (context 40 for
                           tic-tac-toe, 128 for the word chain)
  --corpus C               word chain: the corpus whose train split is the
                           vocabulary (${CORPUS_NAMES.join(", ")}; default: the
                           --init checkpoint's corpus, else austen)
  --iterations N           self-play iterations (default ${DEFAULT_SELFPLAY.iterations})
  --imitation N            imitation iterations before them (default ${DEFAULT_SELFPLAY.imitationIterations})
  --games-per-iteration G  self-play games per iteration (default ${DEFAULT_SELFPLAY.gamesPerIteration})
  --imitation-games N      scripted games per imitation iteration, and per
                           self-play iteration for the imitation term
                           (default ${DEFAULT_SELFPLAY.imitationGames}; 0: no imitation term)
  --imitation-weight X     weight of that term (default ${DEFAULT_SELFPLAY.imitationWeight})
  --refresh-every K        self-play iterations between refreshes of the frozen
                           copy (default ${DEFAULT_SELFPLAY.refreshEvery})
  --eval-every N           iterations between evaluations and checkpoints
                           (default ${DEFAULT_SELFPLAY.evalEvery}; 0: only at the start and end)
  --eval-games N           games against each reference player (default ${DEFAULT_SELFPLAY.evalGames})
  --lr X                   learning rate of imitation (default ${DEFAULT_SELFPLAY.learningRate})
  --selfplay-lr X          learning rate of self-play (default: --lr)
  --selfplay-lr-final R    the self-play rate falls by a half cosine to R times
                           itself at the last iteration (default ${DEFAULT_SELFPLAY.selfPlayLrFinal}: constant)
  --explore P              each move of the frozen copy is a random legal move
                           with probability P (tic-tac-toe only; default ${DEFAULT_SELFPLAY.explore})
  --temperature X          sampling temperature in self-play (default ${DEFAULT_SELFPLAY.temperature})
  --discount X             a move k moves before its player's last gets the
                           game's reward times X^k (default ${DEFAULT_SELFPLAY.discount})
  --both-seats             learn from the frozen copy's moves too (default ${DEFAULT_SELFPLAY.bothSeats})
  --update reinforce|expert  how self-play moves the policy: REINFORCE on the
                           outcomes, or expert iteration (a shallow search over
                           the rules picks a move in every position the games
                           reached; the model imitates it; tic-tac-toe only)
                           (default ${DEFAULT_SELFPLAY.update})
  --expert-depth N         plies the expert searches exactly (default ${DEFAULT_SELFPLAY.expertDepth})
  --expert-rollouts N      random playouts valuing a position open at that depth
                           (default ${DEFAULT_SELFPLAY.expertRollouts}; 0: a draw)
  --replay-buffer N        keep the last N rows learned (the teacher's moves in
                           imitation; the expert's and the imitation term's in
                           expert iteration) and learn from minibatches drawn
                           from them (DAgger's aggregated data); not with
                           --update reinforce (default ${DEFAULT_SELFPLAY.replayBuffer}: none, one update
                           per iteration on its own rows)
  --updates-per-iteration K  optimizer updates per iteration, each on a
                           minibatch from the replay buffer (default ${DEFAULT_SELFPLAY.updatesPerIteration})
  --batch-size B           rows per minibatch from the replay buffer (default ${DEFAULT_SELFPLAY.batchSize})
  --seed S                 seed of the fresh model, the games and the sampling
  --out DIR                a new (or empty) folder for the run
  --resume DIR             continue a saved run to its planned total,
                           bit-identically to a run never stopped
  --quiet                  no progress line

Ctrl-C stops after the current iteration, saves, and exits with code 130.`;

export const PLAY_HELP = `stlm play --checkpoint DIR --game tictactoe|wordchain [--first you|model] [--corpus C]

Play against a model in the terminal. Tic-tac-toe: type a square 1-9 (the board
shows the free squares by number). Word chain: type a word that starts with
the last letter of the word before. The model answers with its most likely
bytes; the rules engine judges both of you (a text it refuses loses the game
for its writer; your own typos are asked again). Lines can come from a pipe.

  --checkpoint DIR   a run folder (stlm selfplay or stlm train) or checkpoint file
  --game G           tictactoe or wordchain
  --first W          who moves first: you (default) or model
  --corpus C         word chain vocabulary (default: the run's, else austen)`;

const count = (max: number, example: number): IntFlag => ({ kind: "int", min: 0, max, example });

interface SelfPlayRunConfig {
  game: GameName;
  corpus?: string;
  init?: string;
  selfplay: SelfPlayConfig;
  model: TinyLM["config"];
}

async function setupFor(game: GameName, corpus: string | undefined): Promise<GameSetup> {
  if (game === "tictactoe") return ticTacToeSetup();
  const c = await loadCorpus(corpus ?? "austen");
  return wordChainSetup(decodeBytes(c.train));
}

function parseGame(value: unknown, command: string): GameName {
  if (value === undefined) throw new UsageError(`stlm ${command}: --game is required: ${GAME_NAMES.join(" or ")}`);
  const g = String(value);
  if (!isGameName(g)) throw new UsageError(`stlm ${command}: --game must be ${GAME_NAMES.join(" or ")} (got "${g}")`);
  return g;
}

function parseCorpus(value: unknown, command: string): string | undefined {
  if (value === undefined) return undefined;
  const c = String(value);
  if (!(CORPUS_NAMES as readonly string[]).includes(c)) throw new UsageError(`stlm ${command}: --corpus must be one of ${CORPUS_NAMES.join(", ")} (got "${c}")`);
  return c;
}

export async function selfplayCommand(argv: string[]): Promise<void> {
  const f = parseFlags(
    argv,
    {
      game: "string",
      init: "string",
      corpus: "string",
      iterations: count(1_000_000, 200),
      imitation: count(1_000_000, 40),
      "games-per-iteration": { kind: "int", min: 2, max: 4096, example: 64 },
      "imitation-games": count(4096, 16),
      "imitation-weight": { kind: "number", min: 0, example: 0.5 },
      "refresh-every": { kind: "int", min: 1, max: 1_000_000, example: 10 },
      "eval-every": { kind: "int", min: 0, max: 1_000_000, note: "0: only at the start and the end", example: 20 },
      "eval-games": count(100_000, 100),
      lr: { kind: "number", min: 0, minExclusive: true, max: 1, maxExclusive: true, example: 0.001 },
      "selfplay-lr": { kind: "number", min: 0, max: 1, maxExclusive: true, note: "0: the --lr value", example: 0.001 },
      "selfplay-lr-final": { kind: "number", min: 0, minExclusive: true, max: 1, note: "1: a constant rate", example: 0.05 },
      explore: { kind: "number", min: 0, max: 1, example: 0.5 },
      temperature: { kind: "number", min: 0, minExclusive: true, max: 4, example: 1 },
      discount: { kind: "number", min: 0, minExclusive: true, max: 1, example: 0.8 },
      "both-seats": "boolean",
      update: "string",
      "expert-depth": { kind: "int", min: 1, max: 9, example: 2 },
      "expert-rollouts": { kind: "int", min: 0, max: 10_000, example: 8 },
      "replay-buffer": { kind: "int", min: 0, max: 1_000_000, note: "0: no buffer", example: 4096 },
      "updates-per-iteration": { kind: "int", min: 1, max: 10_000, example: 8 },
      "batch-size": { kind: "int", min: 1, max: 4096, example: 64 },
      seed: SEED_FLAG,
      out: "string",
      resume: "string",
      quiet: "boolean"
    },
    "selfplay"
  );
  let dir: string;
  let run: SelfPlayRunConfig;
  let model: TinyLM;
  let frozen: TinyLM;
  let state: SelfPlayState | undefined;
  let lock: { release(): void };
  const backendInfo = await initNode("wasm");
  if (f.resume !== undefined) {
    dir = path.resolve(String(f.resume));
    for (const k of Object.keys(f)) if (k !== "resume" && k !== "quiet") throw new UsageError(`stlm selfplay: --${k} cannot change on --resume; the run keeps the settings its checkpoint in ${dir} records`);
    if (!existsSync(path.join(dir, "config.json"))) throw new UsageError(`stlm selfplay: ${dir} has no config.json; is it a run folder written by \`stlm selfplay --out\`?`);
    lock = await acquireRunLock(dir);
    try {
      run = await readJson<SelfPlayRunConfig>(path.join(dir, "config.json"));
      const ckpt = await loadCheckpointFile(path.join(dir, CHECKPOINT_FILE));
      const saved = ckpt.meta.selfplay as SelfPlayConfig | undefined;
      if (!ckpt.trainer || !saved) throw new UsageError(`stlm selfplay: ${dir} holds no resumable self-play checkpoint (no optimizer state or self-play settings)`);
      if (JSON.stringify(saved) !== JSON.stringify(run.selfplay)) throw new UsageError(`stlm selfplay: ${path.join(dir, "config.json")} and the checkpoint disagree about the self-play settings; the checkpoint is the record: restore config.json`);
      const total = saved.imitationIterations + saved.iterations;
      try {
        state = selfPlayStateFromCheckpoint(ckpt.trainer, ckpt.meta, withSelfPlayDefaults(saved));
      } catch (e) {
        throw new CheckpointError(`${path.join(dir, CHECKPOINT_FILE)}: ${(e as Error).message}`);
      }
      if (state.iteration >= total) throw new UsageError(`stlm selfplay: the run in ${dir} already finished its ${total} iterations`);
      model = modelFromCheckpoint(ckpt);
      frozen = modelFromCheckpoint(await loadCheckpointFile(path.join(dir, FROZEN_FILE)));
      const dropped = await truncateMetrics(path.join(dir, "metrics.jsonl"), state.iteration);
      if (dropped > 0) process.stderr.write(`note: dropped ${dropped} metrics row(s) logged after iteration ${state.iteration}; they are played again now\n`);
    } catch (e) {
      lock.release();
      throw e;
    }
  } else {
    const game = parseGame(f.game, "selfplay");
    if (f.out === undefined) throw new UsageError("stlm selfplay: --out DIR is required (the folder the run is written to)");
    let corpus = parseCorpus(f.corpus, "selfplay");
    if (game === "tictactoe" && corpus !== undefined) throw new UsageError("stlm selfplay: --corpus is for the word chain's vocabulary; tic-tac-toe has none");
    const selfplay: SelfPlayConfig = { ...DEFAULT_SELFPLAY };
    const map: [string, keyof SelfPlayConfig][] = [
      ["iterations", "iterations"], ["imitation", "imitationIterations"], ["games-per-iteration", "gamesPerIteration"], ["imitation-games", "imitationGames"],
      ["imitation-weight", "imitationWeight"], ["refresh-every", "refreshEvery"], ["eval-every", "evalEvery"], ["eval-games", "evalGames"], ["lr", "learningRate"], ["selfplay-lr", "selfPlayLearningRate"],
      ["selfplay-lr-final", "selfPlayLrFinal"], ["explore", "explore"],
      ["temperature", "temperature"], ["discount", "discount"], ["seed", "seed"],
      ["expert-depth", "expertDepth"], ["expert-rollouts", "expertRollouts"],
      ["replay-buffer", "replayBuffer"], ["updates-per-iteration", "updatesPerIteration"], ["batch-size", "batchSize"]
    ];
    for (const [flag, key] of map) if (f[flag] !== undefined) (selfplay as unknown as Record<string, number>)[key] = f[flag] as number;
    if (f["both-seats"] !== undefined) selfplay.bothSeats = f["both-seats"] as boolean;
    if (f.update !== undefined) {
      if (!(UPDATE_MODES as readonly string[]).includes(String(f.update))) throw new UsageError(`stlm selfplay: --update must be one of ${UPDATE_MODES.join(", ")} (got ${JSON.stringify(f.update)})`);
      selfplay.update = f.update as SelfPlayConfig["update"];
      if (selfplay.update === "expert" && game !== "tictactoe") throw new UsageError("stlm selfplay: --update expert needs a game whose legal moves the expert can search; use it with --game tictactoe");
    }
    if (selfplay.explore > 0 && game !== "tictactoe") throw new UsageError("stlm selfplay: --explore plays random legal moves, and only tic-tac-toe lists its legal moves; use it with --game tictactoe (or --explore 0)");
    if (selfplay.replayBuffer > 0 && selfplay.update === "reinforce" && selfplay.iterations > 0) throw new UsageError("stlm selfplay: --replay-buffer needs --update expert: REINFORCE learns only from games of the current policy (or give --iterations 0: imitation only)");
    if (selfplay.updatesPerIteration > 1 && selfplay.replayBuffer === 0) throw new UsageError(`stlm selfplay: --updates-per-iteration ${selfplay.updatesPerIteration} needs --replay-buffer N: the updates draw their minibatches from it`);
    try {
      validateSelfPlayConfig(selfplay);
    } catch (e) {
      if (e instanceof SelfPlayConfigError) throw new UsageError(`stlm selfplay: ${e.message} (see --help for the flags)`);
      throw e;
    }
    let initCkpt;
    if (f.init !== undefined) {
      initCkpt = await loadCheckpointFile(String(f.init));
      if (initCkpt.spec.kind !== "bytes") throw new UsageError(`stlm selfplay: --init needs a plain byte model's checkpoint; ${f.init} holds a ${initCkpt.spec.kind} model`);
      const src = initCkpt.meta.source as { corpus?: string } | undefined;
      if (game === "wordchain" && corpus === undefined && typeof src?.corpus === "string") corpus = src.corpus;
    }
    if (game === "wordchain") corpus ??= "austen";
    const setup = await setupFor(game, corpus);
    const need = setup.game.promptBytes + setup.game.maxMoveBytes - 1;
    model = initCkpt ? modelFromCheckpoint(initCkpt) : TinyLM.create(setup.model, selfplay.seed);
    if (model.blockSize < need) {
      model.dispose();
      throw new UsageError(`stlm selfplay: ${game} needs a context of ${need} bytes (a prompt and a move); the --init model has ${initCkpt!.spec.kind === "bytes" ? model.config.blockSize : "?"}`);
    }
    frozen = TinyLM.fromWeights(model.config, await model.weights());
    dir = await prepareNewRunFolder(String(f.out));
    lock = await acquireRunLock(dir);
    run = { game, ...(corpus ? { corpus } : {}), ...(f.init !== undefined ? { init: path.resolve(String(f.init)) } : {}), selfplay, model: model.config };
    await writeJson(path.join(dir, "config.json"), { ...run, createdAt: new Date().toISOString() });
  }
  try {
    await selfplay(f, dir, run, model, frozen, state, await gameRecordParts(dir, run, model, backendInfo, state === undefined));
  } finally {
    model.dispose();
    frozen.dispose();
    lock.release();
  }
}

/** The identity of a self-play run's record: kept from its run.json on --resume, so a resumed run stays one record. */
async function gameRecordParts(dir: string, run: SelfPlayRunConfig, model: TinyLM, info: Parameters<typeof nodeRuntime>[0], fresh: boolean): Promise<Omit<GameRunParts, "exact" | "seconds" | "finished">> {
  // Tic-tac-toe reads no text (its positions come from the rules engine); the word chain's vocabulary is a corpus's train split.
  const data = gameDataIdentity(run.game, run.game === "wordchain" ? await loadCorpus(run.corpus ?? "austen") : undefined);
  const previous = fresh ? null : await readRunRecord(dir).catch(() => null);
  const config = withSelfPlayDefaults(run.selfplay);
  return {
    dir,
    label: `${run.game}, ${config.iterations > 0 ? "self-play" : "imitation only"}, seed ${config.seed}`,
    game: run.game,
    arm: config.iterations > 0 ? "self-play" : "imitation only",
    config: run.selfplay as unknown as Record<string, unknown>,
    spec: model.spec,
    train: selfPlayTrainConfig(config),
    data,
    runtime: nodeRuntime(info),
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    ...(previous?.id ? { id: previous.id } : {})
  };
}

function statsRow(s: GameStats) {
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { games: s.games, win: r(s.win), draw: r(s.draw), loss: r(s.loss), illegalRate: r(s.illegalRate), meanLength: r(s.meanLength), moves: s.moves };
}

async function selfplay(f: Record<string, unknown>, dir: string, run: SelfPlayRunConfig, model: TinyLM, frozen: TinyLM, state: SelfPlayState | undefined, recordParts: Omit<GameRunParts, "exact" | "seconds" | "finished">): Promise<void> {
  const setup = await setupFor(run.game, run.corpus);
  const log = (s: string) => process.stderr.write(s);
  const sp = new SelfPlay({ game: setup.game, model, frozen, teacher: setup.teacher, references: setup.references, config: run.selfplay, state });
  const total = sp.totalIterations;
  const lastRef = setup.references[setup.references.length - 1].name;
  const save = async () => {
    const s = await sp.state();
    // sp.config: the saved settings with any added since filled in; meta keeps them as saved (config.json's copy).
    const trainConfig = selfPlayTrainConfig(sp.config);
    const { trainer, meta: loop } = selfPlayTrainerState(s);
    const meta = { game: run.game, ...(run.corpus ? { corpus: run.corpus } : {}), selfplay: run.selfplay, savedAt: new Date().toISOString() };
    // The frozen copy first: a checkpoint never points at a frozen copy newer than itself.
    await writeFileAtomic(path.join(dir, FROZEN_FILE), encodeCheckpoint({ spec: frozen.spec, trainConfig, weights: await frozen.weights(), meta }));
    await writeFileAtomic(
      path.join(dir, CHECKPOINT_FILE),
      encodeCheckpoint({ spec: model.spec, trainConfig, weights: await model.weights(), trainer, meta: { ...meta, ...loop } })
    );
  };
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) {
      log("\nquitting without saving; the last saved checkpoint is intact\n");
      process.exit(130);
    }
    interrupted = true;
    log("\nstopping after this iteration and saving (Ctrl-C again to quit without saving)\n");
    sp.stop();
  };
  process.on("SIGINT", onSigint);
  log(`${run.game}: ${model.parameterCount().toLocaleString("en-US")} parameters, ${run.selfplay.imitationIterations} imitation + ${run.selfplay.iterations} self-play iterations of ${run.selfplay.gamesPerIteration} games\n`);
  const tty = process.stderr.isTTY && !f.quiet;
  const evals = new Map<string, GameStats>();
  let lastPrinted = -1;
  let latest: { iteration: number; selfplay: ReplayGame[]; eval: Record<string, ReplayGame[]> } = { iteration: 0, selfplay: [], eval: {} };
  try {
    for await (const e of sp.run()) {
      if (e.kind === "iteration") {
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.iteration, phase: e.phase, imitationLoss: Number.isNaN(e.loss) ? null : Math.round(e.loss * 1e5) / 1e5, meanReward: e.meanReward === null ? null : Math.round(e.meanReward * 1e4) / 1e4, ...statsRow(e.stats), elapsedMs: Math.round(e.elapsedMs) });
        latest = { ...latest, iteration: e.iteration, selfplay: e.replay };
        const s = e.stats;
        const ev = [...evals].map(([name, st]) => `vs ${name} W${pct(st.win)} D${pct(st.draw)} L${pct(st.loss)} illegal ${pct(st.illegalRate)}`);
        const line = progressLine(e.iteration, total, [
          e.phase,
          e.phase === "selfplay" ? `W${pct(s.win)} D${pct(s.draw)} L${pct(s.loss)} illegal ${pct(s.illegalRate)}` : `loss ${e.loss.toFixed(3)}`,
          ...ev,
          `ETA ${formatDuration((e.elapsedMs / Math.max(1, e.iteration - (state?.iteration ?? 0))) * (total - e.iteration))}`
        ]);
        if (tty) log(`\r${line}`);
        else if (!f.quiet && (e.iteration - lastPrinted >= 10 || e.iteration === total)) {
          log(line + "\n");
          lastPrinted = e.iteration;
        }
      } else if (e.kind === "eval") {
        evals.set(e.opponent, e.stats);
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.iteration, opponent: e.opponent, ...statsRow(e.stats) });
        latest = { ...latest, eval: { ...latest.eval, [e.opponent]: e.replay } };
        if (e.opponent === lastRef) {
          await writeJson(path.join(dir, "games.json"), latest);
          if (e.iteration > 0) await save();
          await writeGameRunRecord(recordParts);
        }
      } else if (e.kind === "done") {
        await save();
        await writeJson(path.join(dir, "games.json"), latest);
        // Tic-tac-toe: the final model over every game the reference players can play, not a sample.
        const exact = run.game === "tictactoe" ? await exactEvaluation(model) : null;
        await writeJson(path.join(dir, "summary.json"), {
          game: run.game,
          parameters: model.parameterCount(),
          iterations: e.iteration,
          plannedIterations: total,
          stopped: e.stopped,
          eval: Object.fromEntries([...evals].map(([k, v]) => [k, statsRow(v)])),
          ...(exact ? { exact } : {}),
          seconds: Math.round(e.elapsedMs / 100) / 10,
          finishedAt: new Date().toISOString()
        });
        await writeGameRunRecord({ ...recordParts, ...(exact ? { exact: exact as unknown as Record<string, unknown> } : {}), seconds: Math.round(e.elapsedMs / 100) / 10, finished: { at: new Date().toISOString(), stopped: e.stopped } });
        if (tty) log("\n");
        log(`${e.stopped ? "stopped" : "done"} at iteration ${e.iteration}: ${[...evals].map(([k, v]) => `vs ${k} W${pct(v.win)} D${pct(v.draw)} L${pct(v.loss)} illegal ${pct(v.illegalRate)}`).join("; ")}; run saved in ${dir}\n`);
        if (exact) log(`over every game (exact): loses ${pct(exact.random.mean.loss)} to random (X ${pct(exact.random.X.loss)}, O ${pct(exact.random.O.loss)}), draws ${pct(exact.perfect.mean.draw)} with perfect; refused in ${exact.illegalPositions} of ${exact.positions} positions\n`);
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
    sp.dispose();
  }
  if (interrupted && sp.iteration < total) throw new Interrupted(`stopped by Ctrl-C at iteration ${sp.iteration} of ${total}; the checkpoint is saved: continue with \`stlm selfplay --resume ${dir}\``);
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

// ---------------------------------------------------------------------------
// stlm play

function ticTacToeBoard(s: TicTacToeState): string {
  const c = s.cells.map((v, i) => v || String(i + 1));
  return [0, 3, 6].map((r) => ` ${c[r]} | ${c[r + 1]} | ${c[r + 2]}`).join("\n---+---+---\n");
}

export async function playCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { checkpoint: "string", game: "string", first: "string", corpus: "string" }, "play");
  if (f.checkpoint === undefined) throw new UsageError("stlm play: --checkpoint DIR is required (a run folder or checkpoint file)");
  const gameName = parseGame(f.game, "play");
  const first = (f.first as string | undefined) ?? "you";
  if (first !== "you" && first !== "model") throw new UsageError(`stlm play: --first must be you or model (got "${first}")`);
  let corpus = parseCorpus(f.corpus, "play");
  const runConfig = path.join(String(f.checkpoint), "config.json");
  if (corpus === undefined && existsSync(runConfig)) {
    const c = await readJson<{ corpus?: string; source?: { corpus?: string } }>(runConfig);
    corpus = parseCorpus(c.corpus ?? c.source?.corpus, "play");
  }
  await initNode("wasm");
  const ckpt = await loadCheckpointFile(String(f.checkpoint));
  if (ckpt.spec.kind !== "bytes") throw new CheckpointError(`stlm play needs a plain byte model; this checkpoint holds a ${ckpt.spec.kind} model`);
  const model = modelFromCheckpoint(ckpt);
  const setup = await setupFor(gameName, corpus);
  const game = setup.game;
  if (model.blockSize < game.promptBytes + game.maxMoveBytes - 1) throw new UsageError(`stlm play: ${gameName} needs a context of ${game.promptBytes + game.maxMoveBytes - 1} bytes; this model has ${model.blockSize}`);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const lines = rl[Symbol.asyncIterator]();
  const out = (s: string) => process.stdout.write(s);
  const ask = async (q: string): Promise<string | null> => {
    out(q);
    const r = await lines.next();
    return r.done ? null : r.value;
  };
  const human = first === "you" ? 0 : 1;
  const rng = new Rng(1);
  let s = game.initial(rng);
  const show = () => {
    if (gameName === "tictactoe") out(`\n${ticTacToeBoard(s as TicTacToeState)}\n`);
    else out(`\nchain: ${(s as WordChainState).words.join(", ")}\n`);
  };
  try {
    out(gameName === "tictactoe" ? `You are ${markOf(human as 0 | 1)}. Type a square 1-9.\n` : `Answer with a word that starts with the last letter of the word before. The first word is the host's.\n`);
    while (game.outcome(s) === null) {
      show();
      if (game.toMove(s) === human) {
        const line = await ask(gameName === "tictactoe" ? "your square: " : "your word: ");
        if (line === null) {
          out("\nno more input: you resign.\n");
          return;
        }
        const v = game.judge(s, new TextEncoder().encode(line.trim() + (game.moveEnd !== null ? String.fromCharCode(game.moveEnd) : "")));
        if (!v.ok) {
          out(`the rules engine refuses it: ${v.reason}; try again\n`);
          continue;
        }
        s = game.apply(s, v.move);
      } else {
        const [text] = await sampleMoves(model, [game.prompt(s)], { maxBytes: game.maxMoveBytes, end: game.moveEnd, temperature: 0, rng });
        const v = game.judge(s, text);
        out(`model writes ${JSON.stringify(new TextDecoder().decode(text))}: ${v.ok ? "legal" : `refused (${v.reason}): the model loses`}\n`);
        s = v.ok ? game.apply(s, v.move) : game.forfeit(s);
      }
    }
    show();
    const o = game.outcome(s)!;
    out(o.winner === null ? "a draw\n" : o.winner === human ? "you win\n" : "the model wins\n");
  } finally {
    rl.close();
    model.dispose();
  }
}
