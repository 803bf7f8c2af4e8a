// A training step abandoned between two kernels (lib/train/interrupt.ts) leaves no
// tensor and no engine state behind, and the run, resumed, is bit-identical to one
// never interrupted: the same losses, weights and optimizer moments.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { Trainer, type TrainEvent } from "../../lib/train/trainer.js";
import { interruptible, kernelsDispatched, StepInterrupted, type InterruptRequest } from "../../lib/train/interrupt.js";
import { Rng } from "../../lib/rng.js";
import { sampler, tinyConfigs } from "./fixtures.js";

await initNode();

interface EngineState {
  gradientDepth: number;
  kernelDepth: number;
  activeTape: unknown[] | null;
  scopeStack: unknown[];
}
const engineState = () => {
  const s = (tf.engine() as unknown as { state: EngineState }).state;
  return { gradientDepth: s.gradientDepth, kernelDepth: s.kernelDepth, tape: s.activeTape === null, scopes: s.scopeStack.length };
};

const config = () => tinyConfigs({ dropout: 0.1 }, { steps: 8 });

async function trainAll(interrupts: { step: number; afterKernels: number; request: InterruptRequest }[] = []) {
  const { model: mc, train } = config();
  const model = TinyLM.create(mc, 1);
  const pending = [...interrupts];
  let trainer!: Trainer;
  const interrupt = () => {
    const next = pending[0];
    if (!next || trainer.step !== next.step || kernelsDispatched() <= next.afterKernels) return null;
    pending.shift();
    return next.request;
  };
  trainer = new Trainer({ model, data: sampler(), train, interrupt });
  const losses: number[] = [];
  const events: TrainEvent[] = [];
  const tensorsAtStep = new Map<number, number>();
  const tensorsAtPause: { step: number; tensors: number; engine: ReturnType<typeof engineState> }[] = [];
  for await (const e of trainer.run()) {
    events.push(e);
    if (e.kind === "step") {
      losses.push(e.loss);
      tensorsAtStep.set(e.step, tf.memory().numTensors);
    }
    if (e.kind === "paused") {
      tensorsAtPause.push({ step: e.step, tensors: tf.memory().numTensors, engine: engineState() });
      setTimeout(() => trainer.resume(), 1);
    }
  }
  const weights = await model.weights();
  const state = await trainer.state();
  trainer.dispose();
  model.dispose();
  return { losses, events, weights, state, tensorsAtStep, tensorsAtPause, unfired: pending.length };
}

/** Kernels the interrupt check is asked about in one step's gradients: the forward's, and forward and backward's. */
function kernelCounts(): { forward: number; total: number } {
  const { model: mc, train } = config();
  const model = TinyLM.create(mc, 1);
  const vars = model.params.map((p) => p.variable);
  const batch = sampler().sample(new Rng(3), train.batchSize, mc.blockSize);
  let forward = 0;
  let total = 0;
  tf.tidy(() => {
    const x = tf.tensor2d(batch.x, [train.batchSize, mc.blockSize], "int32");
    const y = tf.tensor2d(batch.y, [train.batchSize, mc.blockSize], "int32");
    interruptible(
      () => ((total = kernelsDispatched()), null),
      () =>
        tf.variableGrads(() => {
          const loss = model.loss(x, y, { training: true, rng: new Rng(5), dropout: 0.1 });
          forward = kernelsDispatched();
          return loss;
        }, vars)
    );
  });
  model.dispose();
  return { forward, total };
}

test("a step abandoned mid-forward and mid-backward leaves nothing behind, and the resumed run is bit-identical", async () => {
  const { forward, total } = kernelCounts();
  assert.ok(forward > 10 && total > forward + 10, `a step ran ${forward} forward kernels of ${total}`);
  const before = tf.memory().numTensors;
  const reference = await trainAll();
  assert.equal(tf.memory().numTensors, before, "the uninterrupted run leaked");
  const midBackward = forward + Math.floor((total - forward) / 2);
  const interrupted = await trainAll([
    { step: 0, afterKernels: 3, request: "pause" },
    { step: 2, afterKernels: midBackward, request: "pause" },
    { step: 5, afterKernels: Math.floor(forward / 2), request: "pause" },
    { step: 5, afterKernels: total - 2, request: "pause" }
  ]);
  assert.equal(tf.memory().numTensors, before, "the interrupted run leaked");
  assert.equal(interrupted.unfired, 0, "every planned interrupt fired");
  // Paused at the step count it had: the abandoned step is not counted.
  assert.deepEqual(
    interrupted.tensorsAtPause.map((p) => p.step),
    [0, 2, 5, 5]
  );
  for (const p of interrupted.tensorsAtPause) {
    assert.deepEqual(p.engine, { gradientDepth: 0, kernelDepth: 0, tape: true, scopes: 0 }, `the engine's state after an interrupt at step ${p.step}`);
    // After step N's event, the model, the optimizer and the caches hold the same tensors as when paused in step N + 1.
    if (p.step > 0) assert.equal(p.tensors, interrupted.tensorsAtStep.get(p.step), `tensors when paused in step ${p.step + 1}`);
  }
  assert.deepEqual(
    interrupted.events.filter((e) => e.kind === "paused" || e.kind === "resumed").map((e) => e.kind),
    ["paused", "resumed", "paused", "resumed", "paused", "resumed", "paused", "resumed"]
  );
  assert.equal(interrupted.losses.length, 8);
  assert.deepEqual(interrupted.losses, reference.losses);
  assert.deepEqual(interrupted.weights, reference.weights);
  assert.deepEqual(interrupted.state.optimizer, reference.state.optimizer);
  assert.deepEqual(interrupted.state.dataRng, reference.state.dataRng);
  assert.deepEqual(interrupted.state.dropoutRng, reference.state.dropoutRng);
});

test("a stop asked mid-step ends the run at the step count it had, with no tensor left", async () => {
  const { forward } = kernelCounts();
  const before = tf.memory().numTensors;
  const run = await trainAll([{ step: 3, afterKernels: forward + 5, request: "stop" }]);
  assert.equal(tf.memory().numTensors, before);
  const done = run.events.at(-1);
  assert.deepEqual(done && { kind: done.kind, step: done.kind === "done" ? done.step : -1, stopped: done.kind === "done" && done.stopped }, { kind: "done", step: 3, stopped: true });
  assert.equal(run.losses.length, 3);
});

test("an interrupt outside a step's gradients is not asked, and other errors pass through untouched", () => {
  let asked = 0;
  const out = interruptible(
    () => (asked++, null),
    () => tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])
  );
  assert.equal(out, 3);
  assert.ok(asked >= 1);
  const after = asked;
  tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)));
  assert.equal(asked, after, "the check was asked outside interruptible");
  assert.throws(
    () => interruptible(() => "pause", () => tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)))),
    (e: unknown) => e instanceof StepInterrupted && e.request === "pause"
  );
  assert.throws(() => interruptible(() => null, () => { throw new RangeError("boom"); }), RangeError);
});

/**
 * A read-back that waits, as a GPU backend's does: each Tensor.data() resolves `ms` after its values are ready
 * (the values are the tensor's own). `pending()` says how many such reads have not resolved yet.
 */
async function withSlowReads<T>(ms: number, f: (pending: () => number) => Promise<T>): Promise<T> {
  const proto = tf.Tensor.prototype as unknown as { data: (...args: unknown[]) => Promise<unknown> };
  const original = proto.data;
  let waiting = 0;
  proto.data = async function (this: unknown, ...args: unknown[]) {
    const values = await original.apply(this, args);
    waiting += 1;
    await new Promise((r) => setTimeout(r, ms));
    waiting -= 1;
    return values;
  };
  try {
    return await f(() => waiting);
  } finally {
    proto.data = original;
  }
}

/** 8 steps read back every 4th (as a GPU backend reads every GPU_LOG_EVERY); `asked` answers the interrupt check. */
async function trainSlowReads(asked: () => InterruptRequest | null, onEvent: (e: TrainEvent, trainer: Trainer) => void = () => {}) {
  const { model: mc, train } = config();
  const model = TinyLM.create(mc, 1);
  const trainer = new Trainer({ model, data: sampler(), train, logEvery: 4, interrupt: asked });
  const events: TrainEvent[] = [];
  for await (const e of trainer.run()) {
    events.push(e);
    onEvent(e, trainer);
  }
  return { events, model, trainer };
}
const losses = (events: TrainEvent[]) => events.flatMap((e) => (e.kind === "step" ? [e.loss] : []));

test("a pause asked while a read-back waits for the device takes effect before the read ends, and the run stays bit-identical", async () => {
  const before = tf.memory().numTensors;
  const reference = await trainSlowReads(() => null);
  const referenceWeights = await reference.model.weights();
  const referenceOptimizer = (await reference.trainer.state()).optimizer;
  reference.trainer.dispose();
  reference.model.dispose();
  let readsPendingAtPause = -1;
  const run = await withSlowReads(400, async (pending) => {
    let request: InterruptRequest | null = null;
    let armed = false;
    return trainSlowReads(
      () => {
        // The first read-back (after step 4) has started: ask for a pause 50 ms into its 400.
        if (!armed && pending() > 0) {
          armed = true;
          setTimeout(() => (request = "pause"), 50);
        }
        return request;
      },
      (e, trainer) => {
        if (e.kind !== "paused") return;
        readsPendingAtPause = pending();
        request = null;
        setTimeout(() => trainer.resume(), 600);
      }
    );
  });
  assert.equal(readsPendingAtPause, 2, "the run paused while its read-back (loss and gradient norm) still waited");
  assert.deepEqual(
    run.events.map((e) => `${e.kind} ${e.step}`),
    ["paused 4", "resumed 4", "step 4", "step 8", "done 8"]
  );
  assert.deepEqual(losses(run.events), losses(reference.events));
  assert.deepEqual(await run.model.weights(), referenceWeights);
  assert.deepEqual((await run.trainer.state()).optimizer, referenceOptimizer);
  run.trainer.dispose();
  run.model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("a stop asked while a read-back waits ends the run at once at the steps queued, and its tensors go when the read ends", async () => {
  const before = tf.memory().numTensors;
  let pendingAtDone = -1;
  const run = await withSlowReads(400, async (pending) => {
    let request: InterruptRequest | null = null;
    let armed = false;
    const run = await trainSlowReads(
      () => {
        if (!armed && pending() > 0) {
          armed = true;
          setTimeout(() => (request = "stop"), 50);
        }
        return request;
      },
      (e) => {
        if (e.kind === "done") pendingAtDone = pending();
      }
    );
    // The read the stop left behind ends, and frees the step's loss and gradient norm.
    await new Promise((r) => setTimeout(r, 500));
    return run;
  });
  assert.deepEqual(
    run.events.map((e) => (e.kind === "done" ? `done ${e.step} ${e.stopped}` : e.kind)),
    ["done 4 true"]
  );
  assert.equal(pendingAtDone, 2, "the run ended while its read-back still waited");
  run.trainer.dispose();
  run.model.dispose();
  assert.equal(tf.memory().numTensors, before, "the stopped step's loss and gradient norm were freed once their read ended");
});
