import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { moveLogProbs, sampleMoves } from "../../lib/models/moves.js";
import { AdamW } from "../../lib/train/optim.js";
import { Rng } from "../../lib/rng.js";
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { DEFAULT_SELFPLAY, policyStep, SelfPlay, selfPlayStateFromCheckpoint, selfPlayTrainConfig, withSelfPlayDefaults, type SelfPlayConfig, type SelfPlayEvent, type SelfPlayState } from "../../lib/train/selfplay.js";
import { perfectPlayer, randomPlayer, ticTacToe } from "../../lib/games/tictactoe.js";
import { tinyConfigs } from "./fixtures.js";

await initNode();

const enc = (s: string) => new TextEncoder().encode(s);
const tiny = () => tinyConfigs({ blockSize: 40 }).model;

// The toy game: one move, "a" wins and "b" loses; a sample of each with rewards +1 and -1.
test("a policy-gradient step on a two-move game raises the probability of the winning move", async () => {
  const model = TinyLM.create(tiny(), 1);
  const prob = async (m: string) => {
    const lp = moveLogProbs(model, [{ prompt: enc("?>"), move: enc(m) }]);
    const v = Math.exp((await lp.data())[0]);
    lp.dispose();
    return v;
  };
  const [a0, b0] = [await prob("a"), await prob("b")];
  const opt = new AdamW(model.params, selfPlayTrainConfig({ ...DEFAULT_SELFPLAY, learningRate: 1e-2 }));
  // One sample of each, rewards +1 and -1, baseline 0: weights -advantage / n.
  for (let i = 0; i < 3; i++) policyStep(model, opt, [{ prompt: enc("?>"), move: enc("a") }, { prompt: enc("?>"), move: enc("b") }], Float32Array.from([-0.5, 0.5]), 1e-2);
  const [a1, b1] = [await prob("a"), await prob("b")];
  assert.ok(a1 > a0 * 1.5, `p(a) ${a0} -> ${a1}`);
  assert.ok(b1 < b0, `p(b) ${b0} -> ${b1}`);
  opt.dispose();
  model.dispose();
});

test("moveLogProbs sums the move's bytes, unaffected by a longer move beside it", async () => {
  const model = TinyLM.create(tiny(), 2);
  const one = moveLogProbs(model, [{ prompt: enc("ab"), move: enc("cd") }]);
  const two = moveLogProbs(model, [{ prompt: enc("ab"), move: enc("cd") }, { prompt: enc("xy"), move: enc("zzzz") }]);
  const lp = model.tokenLogProbs(tf.tensor2d([[97, 98, 99]], [1, 3], "int32"), tf.tensor2d([[98, 99, 100]], [1, 3], "int32"));
  const d = await lp.data();
  const [a] = await one.data();
  const [b] = await two.data();
  assert.ok(Math.abs(a - (d[1] + d[2])) < 1e-5, `${a} vs ${d[1] + d[2]}`);
  assert.ok(Math.abs(a - b) < 1e-5);
  for (const t of [one, two, lp]) t.dispose();
  model.dispose();
});

test("sampleMoves stops each row at its end byte and is reproducible from its seed", async () => {
  const model = TinyLM.create(tiny(), 3);
  const prompts = [enc("abcd"), enc("efgh"), enc("ijkl")];
  const a = await sampleMoves(model, prompts, { maxBytes: 6, end: 0x61, temperature: 1, rng: new Rng(5) });
  const b = await sampleMoves(model, prompts, { maxBytes: 6, end: 0x61, temperature: 1, rng: new Rng(5) });
  assert.deepEqual(a, b);
  for (const m of a) {
    assert.ok(m.length >= 1 && m.length <= 6);
    const i = m.indexOf(0x61);
    assert.ok(i === -1 ? m.length === 6 : i === m.length - 1);
  }
  model.dispose();
});

function ticTacToeRun(config: Partial<SelfPlayConfig>, model: TinyLM, frozen: TinyLM, state?: SelfPlayState) {
  return new SelfPlay({
    game: ticTacToe,
    model,
    frozen,
    teacher: randomPlayer,
    references: [{ name: "random", play: randomPlayer }, { name: "perfect", play: perfectPlayer }],
    config: { ...DEFAULT_SELFPLAY, imitationIterations: 2, iterations: 4, gamesPerIteration: 4, imitationGames: 2, refreshEvery: 3, evalEvery: 0, evalGames: 2, learningRate: 3e-3, ...config },
    state
  });
}

async function weightsOf(m: TinyLM): Promise<string[]> {
  return [...(await m.weights()).values()].map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).toString("base64"));
}

test("the frozen copy does not change between refreshes, and a refresh copies the learner", async () => {
  const model = TinyLM.create(tiny(), 1);
  const frozen = TinyLM.create(tiny(), 9);
  const sp = ticTacToeRun({ imitationIterations: 1, iterations: 7 }, model, frozen);
  let frozenAt: string[] | null = null;
  let refreshes = 0;
  for await (const e of sp.run()) {
    if (e.kind === "refresh") {
      refreshes++;
      assert.deepEqual(await weightsOf(frozen), await weightsOf(model), "a refresh copies the learner");
      frozenAt = await weightsOf(frozen);
    } else if (e.kind === "iteration" && frozenAt) {
      assert.deepEqual(await weightsOf(frozen), frozenAt, `the frozen copy changed at iteration ${e.iteration}`);
      assert.notDeepEqual(await weightsOf(model), frozenAt, "the learner trains");
    }
  }
  assert.equal(refreshes, 3, "at self-play iterations 0, 3 and 6");
  sp.dispose();
  model.dispose();
  frozen.dispose();
});

test("the tensor count stays flat over 50 self-play iterations", async () => {
  const before = tf.memory().numTensors;
  const model = TinyLM.create(tiny(), 1);
  const frozen = TinyLM.create(tiny(), 1);
  const withModels = tf.memory().numTensors;
  const sp = ticTacToeRun({ imitationIterations: 5, iterations: 45, evalEvery: 10 }, model, frozen);
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

test("a run resumed mid-way from a checkpoint in the layout saved before the replay buffer existed is bit-identical to one never stopped", async () => {
  const collect = async (sp: SelfPlay<unknown, unknown>, until?: number) => {
    const events: SelfPlayEvent[] = [];
    for await (const e of sp.run()) {
      if (e.kind === "iteration" || e.kind === "eval") events.push({ ...e, ...(e.kind === "iteration" ? { elapsedMs: 0 } : {}) } as SelfPlayEvent);
      if (e.kind === "iteration" && e.iteration === until) sp.stop();
    }
    return events;
  };
  const config = { evalEvery: 2 };
  // Uninterrupted.
  const m1 = TinyLM.create(tiny(), 4);
  const f1 = TinyLM.create(tiny(), 4);
  const a = ticTacToeRun(config, m1, f1) as unknown as SelfPlay<unknown, unknown>;
  const all = await collect(a);
  // Stopped after iteration 4 (one self-play iteration after a refresh), saved, loaded, resumed.
  const m2 = TinyLM.create(tiny(), 4);
  const f2 = TinyLM.create(tiny(), 4);
  const b = ticTacToeRun(config, m2, f2) as unknown as SelfPlay<unknown, unknown>;
  const first = await collect(b, 4);
  const s = await b.state();
  const train = selfPlayTrainConfig({ ...DEFAULT_SELFPLAY, ...config });
  const ckpt = decodeCheckpoint(encodeCheckpoint({ spec: m2.spec, trainConfig: train, weights: await m2.weights(), trainer: { step: s.iteration, dataRng: s.rng, dropoutRng: s.rng, optimizer: s.optimizer, elapsedMs: s.elapsedMs }, meta: {} }));
  const frozenCkpt = decodeCheckpoint(encodeCheckpoint({ spec: f2.spec, trainConfig: train, weights: await f2.weights(), meta: {} }));
  b.dispose();
  m2.dispose();
  f2.dispose();
  const m3 = modelFromCheckpoint(ckpt);
  const f3 = modelFromCheckpoint(frozenCkpt);
  // The checkpoint is in the layout saved before the replay buffer existed (trainer step = iteration, no
  // "selfplayState" in its meta), and the settings lack the keys added since: both still load.
  const oldSettings: Partial<SelfPlayConfig> = { ...DEFAULT_SELFPLAY, imitationIterations: 2, iterations: 4, gamesPerIteration: 4, imitationGames: 2, refreshEvery: 3, evalGames: 2, learningRate: 3e-3, ...config };
  for (const k of ["update", "expertDepth", "expertRollouts", "replayBuffer", "updatesPerIteration", "batchSize"] as const) delete oldSettings[k];
  const restored = selfPlayStateFromCheckpoint(ckpt.trainer!, ckpt.meta, withSelfPlayDefaults(oldSettings));
  assert.equal(restored.iteration, 4);
  const c = new SelfPlay({
    game: ticTacToe, model: m3, frozen: f3, teacher: randomPlayer,
    references: [{ name: "random", play: randomPlayer }, { name: "perfect", play: perfectPlayer }],
    config: oldSettings as SelfPlayConfig,
    state: { ...restored, elapsedMs: 0 }
  }) as unknown as SelfPlay<unknown, unknown>;
  const rest = await collect(c);
  assert.equal(first.length + rest.length, all.length);
  assert.deepEqual([...first, ...rest], all, "the same games, losses and evaluations");
  assert.deepEqual(await weightsOf(m3), await weightsOf(m1), "the same weights to the bit");
  assert.deepEqual(await weightsOf(f3), await weightsOf(f1), "the same frozen copy");
  for (const x of [a, c]) x.dispose();
  for (const x of [m1, f1, m3, f3]) x.dispose();
});

test("the same seed plays the same games; illegal text loses for its writer", async () => {
  const run = async () => {
    const model = TinyLM.create(tiny(), 7);
    const frozen = TinyLM.create(tiny(), 7);
    const sp = ticTacToeRun({ imitationIterations: 0, iterations: 1, evalGames: 0 }, model, frozen);
    const out: SelfPlayEvent[] = [];
    for await (const e of sp.run()) if (e.kind === "iteration") out.push({ ...e, elapsedMs: 0 });
    sp.dispose();
    model.dispose();
    frozen.dispose();
    return out;
  };
  const [x, y] = [await run(), await run()];
  assert.deepEqual(x, y);
  const e = x[0] as Extract<SelfPlayEvent, { kind: "iteration" }>;
  // An untrained model writes almost any byte: most of its moves are refused, and a refused move ends its game.
  assert.ok(e.stats.illegalRate > 0.5, `illegal rate ${e.stats.illegalRate}`);
  for (const g of e.replay) {
    const bad = g.moves.findIndex((m) => !m.ok);
    if (bad >= 0) assert.equal(bad, g.moves.length - 1, "the game ends at the refused move");
  }
});
