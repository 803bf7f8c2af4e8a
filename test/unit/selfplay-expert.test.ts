import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { moveLogProbs } from "../../lib/models/moves.js";
import { Rng } from "../../lib/rng.js";
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { DEFAULT_SELFPLAY, SelfPlay, SelfPlayConfigError, selfPlayLrAt, selfPlayStateFromCheckpoint, selfPlayTrainConfig, selfPlayTrainerState, validateSelfPlayConfig, type SelfPlayConfig, type SelfPlayEvent, type SelfPlayState } from "../../lib/train/selfplay.js";
import { expertMove, expertValues } from "../../lib/train/expert.js";
import { boardFrom, perfectPlayer, randomPlayer, ticTacToe } from "../../lib/games/tictactoe.js";
import type { Game, Seat } from "../../lib/games/game.js";
import { playGames, type Player } from "../../lib/games/match.js";
import { tinyConfigs } from "./fixtures.js";

await initNode();

const enc = (s: string) => new TextEncoder().encode(s);
const tiny = () => tinyConfigs({ blockSize: 40 }).model;

// The toy game: seat 0 writes one byte; "a" wins, "b" loses, anything else is refused.
type Toy = { winner: Seat | null; over: boolean; illegal?: Seat };
const toy: Game<Toy, string> = {
  name: "toy",
  promptBytes: 2,
  maxMoveBytes: 1,
  moveEnd: null,
  initial: () => ({ winner: null, over: false }),
  toMove: (s) => (s.over ? 1 : 0),
  prompt: () => enc("?>"),
  judge: (_s, t) => (t.length === 1 && (t[0] === 0x61 || t[0] === 0x62) ? { ok: true, move: String.fromCharCode(t[0]) } : { ok: false, reason: "not a or b" }),
  formatMove: (m) => enc(m),
  apply: (_s, m) => ({ winner: m === "a" ? 0 : 1, over: true }),
  forfeit: () => ({ winner: 1, over: true, illegal: 0 }),
  outcome: (s) => (s.over ? { winner: s.winner, ...(s.illegal !== undefined ? { illegal: s.illegal } : {}) } : null),
  describeMove: (m) => m,
  legalMoves: (s) => (s.over ? [] : ["a", "b"])
};

test("the expert picks the winning move of the toy game, and takes or blocks a line in tic-tac-toe", () => {
  const rng = new Rng(1);
  assert.equal(expertMove(toy, toy.initial(rng), { depth: 1, rollouts: 0 }, rng), "a");
  assert.deepEqual(expertValues(toy, toy.initial(rng), { depth: 1, rollouts: 0 }, rng), [{ move: "a", value: 1 }, { move: "b", value: -1 }]);
  // X to move: square 3 completes the top row.
  for (let i = 0; i < 20; i++) assert.equal(expertMove(ticTacToe, boardFrom("XX.OO...."), { depth: 2, rollouts: 4 }, rng), 2);
  // O to move: square 3 blocks X's top row (anything else loses at depth 2; with no playouts the rest is worth a draw).
  for (let i = 0; i < 20; i++) assert.equal(expertMove(ticTacToe, boardFrom("XX.O....."), { depth: 2, rollouts: 0 }, rng), 2);
});

for (const [what, extra] of [
  ["", {}],
  [" (from a replay buffer, several updates per iteration)", { replayBuffer: 16, updatesPerIteration: 2, batchSize: 4 }]
] as [string, Partial<SelfPlayConfig>][])
test(`expert iteration on the toy game raises the probability of the winning move${what}`, async () => {
  const model = TinyLM.create(tiny(), 1);
  const frozen = TinyLM.create(tiny(), 1);
  const prob = async (m: string) => {
    const lp = moveLogProbs(model, [{ prompt: enc("?>"), move: enc(m) }]);
    const v = Math.exp((await lp.data())[0]);
    lp.dispose();
    return v;
  };
  const a0 = await prob("a");
  const sp = new SelfPlay({
    game: toy, model, frozen, teacher: () => "b", references: [],
    config: { ...DEFAULT_SELFPLAY, update: "expert", imitationIterations: 0, iterations: 3, gamesPerIteration: 4, imitationGames: 0, bothSeats: true, evalEvery: 0, evalGames: 0, learningRate: 1e-2, expertDepth: 1, ...extra }
  });
  for await (const e of sp.run()) void e;
  const a1 = await prob("a");
  assert.ok(a1 > a0 * 1.5, `p(a) ${a0} -> ${a1}`);
  sp.dispose();
  model.dispose();
  frozen.dispose();
});

test("an unknown update mode is refused with the allowed ones named; so are a buffer for REINFORCE and several updates without one", () => {
  assert.throws(() => validateSelfPlayConfig({ ...DEFAULT_SELFPLAY, update: "ppo" as SelfPlayConfig["update"] }), (e: unknown) => e instanceof SelfPlayConfigError && /reinforce, expert/.test((e as Error).message));
  assert.throws(() => validateSelfPlayConfig({ ...DEFAULT_SELFPLAY, replayBuffer: 100 }), (e: unknown) => e instanceof SelfPlayConfigError && /replayBuffer: REINFORCE learns only from games of the current policy/.test((e as Error).message));
  assert.throws(() => validateSelfPlayConfig({ ...DEFAULT_SELFPLAY, update: "expert", updatesPerIteration: 4 }), (e: unknown) => e instanceof SelfPlayConfigError && /updatesPerIteration: several updates per iteration draw their rows from the replay buffer/.test((e as Error).message));
  // The imitation-only control of a buffered run has no self-play iterations, so the buffer is fine there whatever the update.
  assert.doesNotThrow(() => validateSelfPlayConfig({ ...DEFAULT_SELFPLAY, iterations: 0, replayBuffer: 100, updatesPerIteration: 4 }));
});

test("an exploring player's moves are random legal ones with probability explore; a game without legal moves is refused", async () => {
  const model = TinyLM.create(tiny(), 2);
  const rng = new Rng(3);
  const refusedShare = async (explore: number) => {
    const me: Player<unknown, unknown> = { kind: "policy", name: "model", model, temperature: 1, explore };
    const other: Player<unknown, unknown> = { kind: "scripted", name: "random", play: randomPlayer as never };
    const records = await playGames(ticTacToe as Game<unknown, unknown>, Array.from({ length: 40 }, (_, i): [Player<unknown, unknown>, Player<unknown, unknown>] => (i % 2 ? [other, me] : [me, other])), rng);
    const mine = records.flatMap((r) => r.moves.filter((m) => m.player === "model"));
    return mine.filter((m) => !m.ok).length / mine.length;
  };
  // A fresh model writes almost any byte: nearly every move it writes itself is refused.
  assert.ok((await refusedShare(0)) > 0.8);
  assert.equal(await refusedShare(1), 0, "every move random and legal");
  const half = await refusedShare(0.5);
  assert.ok(half > 0.2 && half < 0.8, `about half the moves refused (${half})`);
  const { legalMoves: _drop, ...noMoves } = toy;
  const me: Player<Toy, string> = { kind: "policy", name: "model", model, temperature: 1, explore: 0.5 };
  await assert.rejects(playGames(noMoves, [[me, me]], rng), /exploration plays random legal moves, and toy does not list them/);
  model.dispose();
});

test("the self-play learning rate falls by a half cosine from its start to selfPlayLrFinal times it; 1 keeps it constant", () => {
  const c: SelfPlayConfig = { ...DEFAULT_SELFPLAY, imitationIterations: 10, iterations: 21, learningRate: 1e-3, selfPlayLearningRate: 4e-3, selfPlayLrFinal: 0.05 };
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(selfPlayLrAt(c, 10), 4e-3);
  close(selfPlayLrAt(c, 20), 4e-3 * (0.05 + 0.95 * 0.5));
  close(selfPlayLrAt(c, 30), 4e-3 * 0.05);
  const rates = Array.from({ length: 21 }, (_, k) => selfPlayLrAt(c, 10 + k));
  assert.ok(rates.every((r, k) => k === 0 || r < rates[k - 1]), "falls at every iteration");
  for (const k of [10, 20, 30]) assert.equal(selfPlayLrAt({ ...c, selfPlayLrFinal: 1 }, k), 4e-3);
  assert.equal(selfPlayLrAt({ ...c, selfPlayLearningRate: 0, selfPlayLrFinal: 1 }, 15), 1e-3, "0: the imitation rate");
  assert.throws(() => validateSelfPlayConfig({ ...c, selfPlayLrFinal: 0 }), /selfPlayLrFinal: must be a number > 0 and <= 1/);
  assert.throws(() => validateSelfPlayConfig({ ...c, explore: 1.5 }), /explore: must be a probability from 0 to 1/);
});

test("the tensor count stays flat over 50 expert iterations with a replay buffer", async () => {
  const before = tf.memory().numTensors;
  const model = TinyLM.create(tiny(), 1);
  const frozen = TinyLM.create(tiny(), 1);
  const withModels = tf.memory().numTensors;
  const sp = run({ imitationIterations: 5, iterations: 45, evalEvery: 10, replayBuffer: 64, updatesPerIteration: 2, batchSize: 8, expertRollouts: 0 }, model, frozen);
  const counts: number[] = [];
  for await (const e of sp.run()) if (e.kind === "iteration" && e.iteration % 10 === 0) counts.push(tf.memory().numTensors);
  assert.equal(counts.length, 5);
  assert.equal(new Set(counts).size, 1, `tensor counts moved: ${counts.join(", ")}`);
  sp.dispose();
  assert.equal(tf.memory().numTensors, withModels);
  model.dispose();
  frozen.dispose();
  assert.equal(tf.memory().numTensors, before);
});

function run(config: Partial<SelfPlayConfig>, model: TinyLM, frozen: TinyLM, state?: SelfPlayState) {
  return new SelfPlay({
    game: ticTacToe, model, frozen, teacher: randomPlayer,
    references: [{ name: "random", play: randomPlayer }, { name: "perfect", play: perfectPlayer }],
    config: { ...DEFAULT_SELFPLAY, update: "expert", imitationIterations: 2, iterations: 4, gamesPerIteration: 4, imitationGames: 2, refreshEvery: 3, evalEvery: 2, evalGames: 2, learningRate: 3e-3, ...config },
    state
  }) as unknown as SelfPlay<unknown, unknown>;
}

async function weightsOf(m: TinyLM): Promise<string[]> {
  return [...(await m.weights()).values()].map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString("base64"));
}

for (const [what, extra] of [
  ["", {}],
  [" with a replay buffer and several updates per iteration", { replayBuffer: 40, updatesPerIteration: 3, batchSize: 8 }],
  [" exploring, with a falling self-play rate and a buffer", { replayBuffer: 40, updatesPerIteration: 3, batchSize: 8, explore: 0.5, selfPlayLearningRate: 5e-3, selfPlayLrFinal: 0.1 }]
] as [string, Partial<SelfPlayConfig>][])
test(`an expert-iteration run${what} resumed from a checkpoint mid-way is bit-identical to one never stopped`, async () => {
  const collect = async (sp: SelfPlay<unknown, unknown>, until?: number) => {
    const events: SelfPlayEvent[] = [];
    for await (const e of sp.run()) {
      if (e.kind === "iteration" || e.kind === "eval") events.push({ ...e, ...(e.kind === "iteration" ? { elapsedMs: 0 } : {}) } as SelfPlayEvent);
      if (e.kind === "iteration" && e.iteration === until) sp.stop();
    }
    return events;
  };
  const m1 = TinyLM.create(tiny(), 4);
  const f1 = TinyLM.create(tiny(), 4);
  const a = run(extra, m1, f1);
  const all = await collect(a);
  const m2 = TinyLM.create(tiny(), 4);
  const f2 = TinyLM.create(tiny(), 4);
  const b = run(extra, m2, f2);
  const first = await collect(b, 4);
  const s = await b.state();
  const config = b.config;
  const train = selfPlayTrainConfig(config);
  const saved = selfPlayTrainerState(s);
  if (config.replayBuffer > 0) {
    assert.equal(s.replay!.length, config.replayBuffer, "the buffer is full by iteration 4");
    assert.equal(saved.trainer.step, 4 * config.updatesPerIteration, "the checkpoint's step counts updates");
  }
  const ckpt = decodeCheckpoint(encodeCheckpoint({ spec: m2.spec, trainConfig: train, weights: await m2.weights(), trainer: saved.trainer, meta: saved.meta }));
  const frozenCkpt = decodeCheckpoint(encodeCheckpoint({ spec: f2.spec, trainConfig: train, weights: await f2.weights(), meta: {} }));
  b.dispose();
  m2.dispose();
  f2.dispose();
  const m3 = modelFromCheckpoint(ckpt);
  const f3 = modelFromCheckpoint(frozenCkpt);
  const restored = selfPlayStateFromCheckpoint(ckpt.trainer!, ckpt.meta, config);
  assert.equal(restored.iteration, 4);
  assert.deepEqual(restored.replay, s.replay, "the replay buffer comes back row for row");
  const c = run(extra, m3, f3, { ...restored, elapsedMs: 0 });
  const rest = await collect(c);
  assert.deepEqual([...first, ...rest], all, "the same games, losses and evaluations");
  assert.ok(all.some((e) => e.kind === "iteration" && e.phase === "selfplay" && Number.isFinite(e.loss)), "expert iterations ran");
  assert.deepEqual(await weightsOf(m3), await weightsOf(m1), "the same weights to the bit");
  assert.deepEqual(await weightsOf(f3), await weightsOf(f1), "the same frozen copy");
  for (const x of [a, c]) x.dispose();
  for (const x of [m1, f1, m3, f3]) x.dispose();
});
