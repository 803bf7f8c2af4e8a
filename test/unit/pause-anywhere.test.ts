// Pause and Stop act within the work between training steps too (a training
// snapshot, an evaluation: lib/train/interrupt.ts's interruptibleWork, used by the
// Trainer), and inside a self-play iteration (lib/train/selfplay.ts's pause
// points). A run paused there and resumed is bit-identical to one never paused;
// a stop there leaves no tensor behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { Trainer, type TrainEvent } from "../../lib/train/trainer.js";
import { clearOfInterrupts, interruptibleWork, StepInterrupted, type InterruptRequest } from "../../lib/train/interrupt.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { defaultSnapshotConfig, takeSnapshot } from "../../lib/train/snapshots.js";
import { DEFAULT_SELFPLAY, SelfPlay, type SelfPlayConfig, type SelfPlayEvent } from "../../lib/train/selfplay.js";
import { perfectPlayer, randomPlayer, ticTacToe } from "../../lib/games/tictactoe.js";
import { Rng } from "../../lib/rng.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

const VAL = TEXT.subarray(0, 400);

/** Trains 6 steps with a snapshot every 2 steps and an evaluation every 3; `at` says where to interrupt (the work's name and step, after K of its kernels). */
async function trainWithWork(interrupts: { work: "snapshot" | "eval"; step: number; afterKernels: number; request: InterruptRequest }[] = []) {
  const { model: mc, train } = tinyConfigs({ dropout: 0.1 }, { steps: 6, evalEvery: 3 });
  const model = TinyLM.create(mc, 1);
  const pending = [...interrupts];
  let inWork: { work: "snapshot" | "eval"; step: number; kernels: number } | null = null;
  let trainer!: Trainer;
  const interrupt = () => {
    if (!inWork) return null;
    inWork.kernels += 1;
    const next = pending[0];
    if (!next || next.work !== inWork.work || next.step !== inWork.step || inWork.kernels <= next.afterKernels) return null;
    pending.shift();
    return next.request;
  };
  const within = async <T>(work: "snapshot" | "eval", step: number, f: () => Promise<T>): Promise<T> => {
    inWork = { work, step, kernels: 0 };
    try {
      return await f();
    } finally {
      inWork = null;
    }
  };
  const snapshots = { ...defaultSnapshotConfig(2), sampleBytes: 6 };
  trainer = new Trainer({
    model,
    data: sampler(),
    train,
    interrupt,
    evaluate: () => within("eval", trainer.step, () => bitsPerByte(model, VAL)),
    snapshot: { every: snapshots.every, take: (step) => within("snapshot", step, () => takeSnapshot(model, step, snapshots)) }
  });
  const events: TrainEvent[] = [];
  const tensorsAtPause: number[] = [];
  for await (const e of trainer.run()) {
    events.push(e);
    if (e.kind === "paused") {
      tensorsAtPause.push(tf.memory().numTensors);
      setTimeout(() => trainer.resume(), 1);
    }
  }
  const weights = await model.weights();
  const state = await trainer.state();
  trainer.dispose();
  model.dispose();
  // Times differ between runs; everything else must not.
  const timeless = events.map((e) => ("elapsedMs" in e ? { ...e, elapsedMs: 0, ...(e.kind === "step" ? { tokensPerSecond: 0, etaMs: 0 } : {}) } : e));
  return { events: timeless, weights, state, tensorsAtPause, unfired: pending.length };
}

test("a pause inside a training snapshot or an evaluation abandons it, and the resumed run does it again: bit-identical", async () => {
  const before = tf.memory().numTensors;
  const reference = await trainWithWork();
  assert.equal(tf.memory().numTensors, before, "the uninterrupted run leaked");
  const interrupted = await trainWithWork([
    { work: "snapshot", step: 0, afterKernels: 4, request: "pause" },
    { work: "eval", step: 3, afterKernels: 2, request: "pause" },
    { work: "snapshot", step: 4, afterKernels: 40, request: "pause" },
    { work: "eval", step: 6, afterKernels: 5, request: "pause" }
  ]);
  assert.equal(interrupted.unfired, 0, "every planned interrupt fired");
  assert.equal(tf.memory().numTensors, before, "the interrupted run leaked");
  const pauses = interrupted.events.filter((e) => e.kind === "paused").map((e) => e.step);
  assert.deepEqual(pauses, [0, 3, 4, 6], "paused at the step whose work was under way");
  // Apart from the pauses, the same events: the same losses, the same snapshots (attention and sample), the same evaluations.
  const work = (events: TrainEvent[]) => events.filter((e) => e.kind !== "paused" && e.kind !== "resumed");
  assert.deepEqual(work(interrupted.events), work(reference.events));
  assert.ok(reference.events.filter((e) => e.kind === "snapshot").length === 4 && reference.events.filter((e) => e.kind === "eval").length === 2);
  assert.deepEqual(interrupted.weights, reference.weights);
  assert.deepEqual(interrupted.state, { ...reference.state, elapsedMs: interrupted.state.elapsedMs });
});

test("a stop inside an evaluation ends the run at once, stopped, without that evaluation and with no tensor left", async () => {
  const before = tf.memory().numTensors;
  const run = await trainWithWork([{ work: "eval", step: 3, afterKernels: 3, request: "stop" }]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(run.events.filter((e) => e.kind === "eval").length, 0);
  const done = run.events.at(-1);
  assert.deepEqual(done, { kind: "done", step: 3, stopped: true, elapsedMs: 0 });
});

test("interruptibleWork asks its check before each kernel of async work, only while the work runs", async () => {
  let asked = 0;
  const out = await interruptibleWork(
    () => (asked++, null),
    async () => {
      const a = tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
      const v = (await a.data())[0];
      a.dispose();
      return v;
    }
  );
  assert.equal(out, 3);
  assert.ok(asked >= 1);
  const after = asked;
  tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
  assert.equal(asked, after, "the check was asked after the work ended");
  await assert.rejects(
    interruptibleWork(() => "stop", async () => tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)))),
    (e: unknown) => e instanceof StepInterrupted && e.request === "stop"
  );
});

test("other work beside a run's interrupted work is tried again once that work has stopped (clearOfInterrupts)", async () => {
  const before = tf.memory().numTensors;
  let tries = 0;
  // A run's evaluation, paused: its next kernel (after 60 ms) throws, and its window closes.
  const run = interruptibleWork(
    () => "pause",
    async () => {
      await new Promise((r) => setTimeout(r, 60));
      return tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync()[0]);
    }
  );
  const runFailed = assert.rejects(run, (e: unknown) => e instanceof StepInterrupted && e.request === "pause");
  // A page's sample meanwhile: its kernels meet the run's check, until the run's work has ended.
  const written = await clearOfInterrupts(async () => {
    tries++;
    return tf.tidy(() => tf.add(tf.scalar(2), tf.scalar(3)).dataSync()[0]);
  });
  await runFailed;
  assert.equal(written, 5);
  assert.ok(tries > 1, `tried ${tries} times`);
  assert.equal(tf.memory().numTensors, before);
});

/** Tic-tac-toe self-play with the page's pause points (onHold); the teacher's `calls` count lets the test pause or stop at a chosen move. */
async function selfPlay(config: Partial<SelfPlayConfig>, at: { move: number; request: "pause" | "stop" }[] = []) {
  const mc = tinyConfigs({ blockSize: 40 }).model;
  const model = TinyLM.create(mc, 1);
  const frozen = TinyLM.create(mc, 1);
  const pending = [...at];
  let calls = 0;
  let sp!: SelfPlay<unknown, unknown>;
  const holds: { held: boolean; iteration: number }[] = [];
  const teacher: typeof randomPlayer = (s, rng) => {
    calls += 1;
    if (pending[0]?.move === calls) {
      const { request } = pending.shift()!;
      if (request === "pause") sp.pause();
      else sp.stop();
    }
    return randomPlayer(s, rng);
  };
  sp = new SelfPlay({
    game: ticTacToe,
    model,
    frozen,
    teacher,
    references: [{ name: "random", play: randomPlayer }, { name: "perfect", play: perfectPlayer }],
    config: { ...DEFAULT_SELFPLAY, imitationIterations: 2, iterations: 3, gamesPerIteration: 4, imitationGames: 2, refreshEvery: 2, evalEvery: 2, evalGames: 2, learningRate: 3e-3, ...config },
    onHold: (held, iteration) => {
      holds.push({ held, iteration });
      if (held) setTimeout(() => sp.resume(), 1);
    }
  }) as unknown as SelfPlay<unknown, unknown>;
  const events: SelfPlayEvent[] = [];
  for await (const e of sp.run()) events.push("elapsedMs" in e ? ({ ...e, elapsedMs: 0 } as SelfPlayEvent) : e);
  const weights = await model.weights();
  const state = await sp.state();
  sp.dispose();
  model.dispose();
  frozen.dispose();
  return { events, weights, state: { ...state, elapsedMs: 0 }, holds, unfired: pending.length, calls };
}

for (const [name, config] of [
  ["REINFORCE", {}],
  ["expert iteration with a replay buffer", { update: "expert", replayBuffer: 64, updatesPerIteration: 3, batchSize: 8, expertDepth: 1 }]
] as [string, Partial<SelfPlayConfig>][]) {
  test(`self-play (${name}) paused inside an iteration holds there, and resumed is bit-identical to a run never paused`, async () => {
    const before = tf.memory().numTensors;
    const reference = await selfPlay(config);
    assert.equal(tf.memory().numTensors, before);
    // Pauses early in the first iteration's games, half-way through the teacher's moves, and in its last turn.
    assert.ok(reference.calls > 20, `the teacher moved ${reference.calls} times`);
    const moves = [3, Math.floor(reference.calls / 2), reference.calls - 2];
    const paused = await selfPlay(config, moves.map((move) => ({ move, request: "pause" as const })));
    assert.equal(paused.unfired, 0);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(paused.holds.filter((h) => h.held).length, 3, `held ${JSON.stringify(paused.holds)}`);
    assert.deepEqual(paused.events.filter((e) => e.kind === "paused"), [], "no pause waited for the iteration's end");
    assert.deepEqual(paused.events, reference.events);
    assert.deepEqual(paused.weights, reference.weights);
    assert.deepEqual(paused.state, reference.state);
  });
}

test("self-play stopped during an iteration's games ends at the iteration count it had, as if stopped before that iteration", async () => {
  const before = tf.memory().numTensors;
  // The teacher's 3rd move is in the first imitation iteration's games.
  const stopped = await selfPlay({}, [{ move: 3, request: "stop" }]);
  assert.equal(tf.memory().numTensors, before);
  const done = stopped.events.at(-1);
  assert.deepEqual(done, { kind: "done", iteration: 0, stopped: true, elapsedMs: 0 });
  assert.equal(stopped.events.filter((e) => e.kind === "iteration").length, 0);
  // Nothing of the dropped iteration is left: the weights, the Rng and the replay buffer are as before it.
  const untrained = TinyLM.create(tinyConfigs({ blockSize: 40 }).model, 1);
  assert.deepEqual(stopped.weights, await untrained.weights());
  untrained.dispose();
  assert.deepEqual(stopped.state.rng, new Rng(DEFAULT_SELFPLAY.seed).state());
  assert.deepEqual(stopped.state.replay, []);
  assert.equal(stopped.state.iteration, 0);
});
