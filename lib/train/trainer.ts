// A training loop that knows nothing about the model beyond its parameters and
// its loss. Everything else (charts, evaluation, checkpoints, a progress bar)
// sees training through one stream of events: `for await (const e of trainer.run())`.
import { RunGate } from "./run-gate.js";
import type { Scalar, Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { isGpuBackend } from "../backend.js";
import { validateTrainConfig, type TrainConfig } from "../config.js";
import { AdamW, learningRateAt, type AdamWState, type NamedVariable } from "./optim.js";
import { Rng } from "../rng.js";
import { dropoutAt, parseDropoutSchedule, type DropoutSchedule } from "./dropout.js";
import { isSnapshotStep, type Snapshot } from "./snapshots.js";
import { canCompileAhead, compileAhead } from "../compile-ahead.js";
import { interruptible, interruptibleWork, StepInterrupted, type InterruptCheck } from "./interrupt.js";

export interface TrainableModel {
  readonly params: readonly NamedVariable[];
  readonly blockSize: number;
  /** The model's dropout rate: the base rate of TrainConfig.dropoutSchedule (0 when absent). */
  readonly baseDropout?: number;
  /**
   * Mean loss in nats; `rng` feeds dropout masks when training, `dropout` is this
   * step's rate (from the schedule), `step` the 0-based step being trained (for
   * losses that change over training, e.g. lib/train/distill.ts's weight).
   */
  loss(x: Tensor2D, y: Tensor2D, options: { training: boolean; rng?: Rng; dropout?: number; step?: number }): Scalar;
}

export interface BatchSource {
  /** Row-major int32 inputs and targets of shape [batchSize, blockSize]. */
  sample(rng: Rng, batchSize: number, blockSize: number): { x: Int32Array; y: Int32Array };
}

/** Everything besides the weights that a resumed run needs to continue exactly. */
export interface TrainerState {
  step: number;
  dataRng: number[];
  dropoutRng: number[];
  optimizer: AdamWState;
  /** Training time so far (steps only), so a resumed run's clock continues; 0 when unknown. */
  elapsedMs?: number;
}

export type TrainEvent =
  | { kind: "step"; step: number; loss: number; lr: number; dropout: number; gradNorm: number; tokensPerSecond: number; elapsedMs: number; etaMs: number }
  | { kind: "eval"; step: number; valBitsPerByte: number; elapsedMs: number }
  | { kind: "diagnostic"; step: number; name: string; value: number; warning?: string }
  | { kind: "snapshot"; step: number; snapshot: Snapshot }
  | { kind: "paused"; step: number }
  | { kind: "resumed"; step: number }
  | { kind: "done"; step: number; stopped: boolean; elapsedMs: number };

/** A measurement of the model that a diagnose hook returns; `warning` says what is wrong, when something is. */
export interface Diagnostic {
  name: string;
  value: number;
  warning?: string;
}

export interface TrainerOptions {
  model: TrainableModel;
  data: BatchSource;
  train: TrainConfig;
  /** Validation bits per byte of the model as it is now; called every train.evalEvery steps and at the end. */
  evaluate?: () => Promise<number>;
  /**
   * Measurements of the model (e.g. lib/train/collapse.ts's chunk variance of a pooled
   * model), called at every evaluation step (every train.evalEvery steps and at
   * the end, with or without `evaluate`); each becomes a "diagnostic" event. The
   * Trainer does not interpret them.
   */
  diagnose?: () => Promise<Diagnostic[]>;
  /**
   * Snapshots of the model (lib/train/snapshots.ts): `take(step)` is called at
   * step 0 of a fresh run, every `every` steps and at the last planned step, each
   * before that step's evaluation (so a checkpoint never runs ahead of them), and
   * becomes a "snapshot" event. Not counted in training time.
   */
  snapshot?: { every: number; take: (step: number) => Promise<Snapshot> };
  /** Continue a saved run. */
  state?: TrainerState;
  /**
   * Read the loss back every this many steps (a read-back waits for the device).
   * Default: 1 on backends that compute synchronously (wasm, cpu), where a read
   * costs nothing; GPU_LOG_EVERY on WebGL and WebGPU, whose queue would drain at
   * every read.
   */
  logEvery?: number;
  /**
   * Asked before every kernel of a step's forward and backward pass (lib/train/interrupt.ts):
   * "pause" or "stop" abandons the step under way (its tensors freed, its RNG draws
   * undone), and the run pauses or stops at the step count it had; a resumed run
   * trains that step again, so it stays bit-identical to one never paused. The
   * optimizer's update is never cut short. Also asked between steps, and before
   * every kernel of the work between steps (a training snapshot, an evaluation,
   * diagnostics): a pause there abandons that work and does it again on resume (it
   * only reads the weights, so it gives the same result), a stop skips it. The lab's
   * worker reads a flag the page shares with it (a SharedArrayBuffer), since a
   * thread busy in a step cannot receive messages.
   */
  interrupt?: InterruptCheck;
}

/** How often a read-back that waits for the device looks for a pause or stop (Trainer.readUnlessAsked). */
const READ_POLL_MS = 20;

/**
 * With the default logEvery on a GPU backend, the loss is read at every step while a step takes at
 * least this long (a software adapter: SwiftShader's nano step is about 16 s). A read's stall is
 * nothing next to such a step, and unread steps queue on the device: 8 of them kept SwiftShader
 * busy for two minutes after a Pause, and the page's frames, which the same GPU process draws, late.
 */
export const SLOW_STEP_MS = 250;

/** The default logEvery on GPU backends. */
export const GPU_LOG_EVERY = 8;

/** logEvery when none is given: see TrainerOptions.logEvery. */
export function defaultLogEvery(backend: string): number {
  return isGpuBackend(backend) ? GPU_LOG_EVERY : 1;
}

const yieldToEventLoop: () => Promise<void> =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === "function"
    ? () => new Promise((r) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(r))
    : () => new Promise((r) => setTimeout(r, 0));

export class Trainer {
  readonly config: TrainConfig;
  private readonly model: TrainableModel;
  private readonly data: BatchSource;
  private readonly evaluate?: () => Promise<number>;
  private readonly diagnose?: () => Promise<Diagnostic[]>;
  private readonly snapshot?: TrainerOptions["snapshot"];
  private readonly optimizer: AdamW;
  private readonly logEvery: number;
  /** logEvery was not given: read at every step while steps are slow (SLOW_STEP_MS). */
  private readonly adaptiveLog: boolean;
  private slowSteps = false;
  private firstRead = true;
  private readonly interrupt?: InterruptCheck;
  /** The dropout rate at every step: lib/train/dropout.ts. */
  readonly dropoutSchedule: DropoutSchedule;
  private dataRng: Rng;
  private dropoutRng: Rng;
  private stepCount: number;
  private elapsedMs = 0;
  private readonly gate = new RunGate();
  private running = false;
  /** No saved state: step 0's snapshot is this run's to take. */
  private readonly fresh: boolean;

  constructor(options: TrainerOptions) {
    this.config = validateTrainConfig({ ...options.train });
    this.model = options.model;
    this.data = options.data;
    this.evaluate = options.evaluate;
    this.diagnose = options.diagnose;
    this.snapshot = options.snapshot;
    this.logEvery = Math.max(1, options.logEvery ?? defaultLogEvery(tf.getBackend()));
    this.adaptiveLog = options.logEvery === undefined && this.logEvery > 1;
    this.interrupt = options.interrupt;
    this.optimizer = new AdamW(this.model.params, this.config);
    this.dropoutSchedule = parseDropoutSchedule(this.config.dropoutSchedule, this.model.baseDropout ?? 0, this.config.steps);
    const seed = this.config.seed;
    const root = new Rng(seed);
    this.dataRng = root.fork();
    this.dropoutRng = root.fork();
    this.stepCount = 0;
    this.fresh = options.state === undefined;
    if (options.state) {
      this.optimizer.load(options.state.optimizer);
      this.dataRng = new Rng(options.state.dataRng);
      this.dropoutRng = new Rng(options.state.dropoutRng);
      this.stepCount = options.state.step;
      this.elapsedMs = options.state.elapsedMs ?? 0;
    }
  }

  get step(): number {
    return this.stepCount;
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

  /** Finish the step under way, then end the run (a paused run ends at once). */
  stop(): void {
    this.gate.stop();
  }

  async state(): Promise<TrainerState> {
    return {
      step: this.stepCount,
      dataRng: this.dataRng.state(),
      dropoutRng: this.dropoutRng.state(),
      optimizer: await this.optimizer.state(),
      elapsedMs: this.elapsedMs
    };
  }

  /** One optimisation step; returns the loss and pre-clip gradient norm, owned by the caller. */
  trainStep(batch: { x: Int32Array; y: Int32Array }): { loss: Scalar; gradNorm: Scalar; lr: number; dropout: number } {
    const lr = learningRateAt(this.stepCount, this.config);
    const rate = dropoutAt(this.stepCount, this.dropoutSchedule);
    const result = tf.tidy(() => this.stepKernels(batch, this.dropoutRng, lr, rate, false));
    this.stepCount += 1;
    return { ...result, lr, dropout: rate };
  }

  /** The step's kernels: forward, backward and the optimizer's update (computed and not kept when `dry`). */
  private stepKernels(batch: { x: Int32Array; y: Int32Array }, rng: Rng, lr: number, rate: number, dry: boolean): { loss: Scalar; gradNorm: Scalar } {
    const { batchSize } = this.config;
    const T = this.model.blockSize;
    const step = this.stepCount;
    const vars = this.model.params.map((p) => p.variable);
    const x = tf.tensor2d(batch.x, [batchSize, T], "int32");
    const y = tf.tensor2d(batch.y, [batchSize, T], "int32");
    const gradients = () => tf.variableGrads(() => this.model.loss(x, y, { training: true, rng, dropout: rate, step }), vars);
    // Forward and backward may be abandoned between two kernels; the update below may not.
    const { value, grads } = this.interrupt && !dry ? interruptible(this.interrupt, gradients) : gradients();
    const gradNorm = this.optimizer.apply(vars.map((v) => grads[v.name]), lr, { dry });
    return { loss: value, gradNorm };
  }

  /**
   * On WebGPU, the next step's programs compiled on the GPU's worker threads (lib/compile-ahead.ts),
   * from a dry run of it that keeps nothing: its batch and dropout masks come from copies of the
   * run's generators, and the optimizer's update is computed, not applied. Elsewhere nothing.
   */
  private compileStepAhead(): Promise<number> {
    return compileAhead(() => {
      const lr = learningRateAt(this.stepCount, this.config);
      const rate = dropoutAt(this.stepCount, this.dropoutSchedule);
      const batch = this.data.sample(new Rng(this.dataRng.state()), this.config.batchSize, this.model.blockSize);
      tf.dispose(Object.values(this.stepKernels(batch, new Rng(this.dropoutRng.state()), lr, rate, true)));
    });
  }

  async *run(): AsyncGenerator<TrainEvent, void, undefined> {
    if (this.running) throw new Error("this trainer is already running");
    this.running = true;
    const { batchSize, steps, evalEvery } = this.config;
    const T = this.model.blockSize;
    try {
      // Time spent in steps (pauses and evaluations excluded). On an asynchronous
      // backend an unlogged step only queues work; the next read-back waits for it,
      // so the sum over a logging window is still right.
      let windowSteps = 0;
      let windowMs = 0;
      const snapshotDue = () => this.snapshot !== undefined && isSnapshotStep(this.stepCount, this.snapshot.every, steps);
      // Set when a stop abandoned the work after a step (its snapshot or evaluation): the run is then stopped, even at its last step.
      let abandoned = false;
      if (this.stepCount < steps && canCompileAhead()) {
        // Before the first step (and step 0's snapshot): a Pause meanwhile holds the run at once,
        // the compiles going on; a Stop ends it.
        const compiling = this.compileStepAhead();
        while ((await this.readUnlessAsked(compiling)) === null && (yield* this.holdPaused()));
      }
      if (this.fresh && this.stepCount === 0 && snapshotDue() && !this.gate.stopped) {
        const snapshot = yield* this.between(() => this.snapshot!.take(0));
        if (snapshot === null) abandoned = true;
        else yield { kind: "snapshot", step: 0, snapshot };
      }
      while (this.stepCount < steps && !this.gate.stopped) {
        this.askInterrupt(this.interrupt?.() ?? null);
        if (this.gate.stopped) break;
        if (this.gate.paused && !(yield* this.holdPaused())) break;
        const t0 = performance.now();
        // The RNG states before the step: an abandoned step gives back the draws it made.
        const before = this.interrupt ? { data: this.dataRng.state(), dropout: this.dropoutRng.state() } : null;
        let trained: ReturnType<Trainer["trainStep"]>;
        try {
          trained = this.trainStep(this.data.sample(this.dataRng, batchSize, T));
        } catch (e) {
          if (!(e instanceof StepInterrupted) || !before) throw e;
          // Nothing of the step is left (interrupt.ts and the step's tidy freed its tensors); the
          // time it ran is not training time, since the step runs again from the start.
          this.dataRng = new Rng(before.data);
          this.dropoutRng = new Rng(before.dropout);
          this.askInterrupt(e.request);
          continue;
        }
        const { loss, gradNorm, lr, dropout } = trained;
        let values: [number, number] | null = null;
        let pausedMs = 0;
        let stoppedInRead = false;
        // The first step is read too (it tells how long steps take), and every step while they are slow.
        const readNow = this.stepCount % this.logEvery === 0 || this.stepCount === steps || (this.adaptiveLog && (this.firstRead || this.slowSteps));
        if (readNow) {
          // The only read-back in the loop. On a GPU backend it waits for every step queued since the
          // last one (up to logEvery of them: minutes on a software adapter), so a Pause or Stop asked
          // meanwhile takes effect at once: the steps queued are whole (their updates were queued with
          // them), so the run pauses or stops at the step count it has, and the device finishes them.
          const read = Promise.all([loss.data(), gradNorm.data()]);
          for (;;) {
            const got = await this.readUnlessAsked(read);
            if (got !== null) {
              values = [got[0][0], got[1][0]];
              break;
            }
            const p0 = performance.now();
            const resumed = yield* this.holdPaused();
            pausedMs += performance.now() - p0;
            if (!resumed) {
              stoppedInRead = true;
              break;
            }
          }
          // A stopped run does not wait for its last read-back: the tensors go once the device has finished.
          if (stoppedInRead) void read.then(undefined, () => undefined).then(() => (loss.dispose(), gradNorm.dispose()));
        }
        if (!stoppedInRead) {
          loss.dispose();
          gradNorm.dispose();
        }
        const stepMs = performance.now() - t0 - pausedMs;
        this.elapsedMs += stepMs;
        windowMs += stepMs;
        windowSteps += 1;
        // The steps queued are the run's, but what follows them (a snapshot, an evaluation) was not done: stopped.
        if (stoppedInRead) {
          abandoned = true;
          break;
        }
        if (values) {
          const [l, g] = values;
          if (!Number.isFinite(l)) {
            throw new Error(
              `the loss became ${l} at step ${this.stepCount}: training diverged. Lower the learning rate ` +
                `(now ${this.config.learningRate}) or keep gradient clipping on, and resume from the last checkpoint.`
            );
          }
          const msPerStep = windowMs / windowSteps;
          if (this.adaptiveLog) this.slowSteps = msPerStep >= SLOW_STEP_MS;
          this.firstRead = false;
          yield {
            kind: "step",
            step: this.stepCount,
            loss: l,
            lr,
            dropout,
            gradNorm: g,
            tokensPerSecond: (batchSize * T * 1000) / Math.max(msPerStep, 1e-3),
            elapsedMs: this.elapsedMs,
            etaMs: msPerStep * (steps - this.stepCount)
          };
          windowMs = 0;
          windowSteps = 0;
        }
        if (snapshotDue()) {
          const snapshot = yield* this.between(() => this.snapshot!.take(this.stepCount));
          if (snapshot === null) abandoned = true;
          else yield { kind: "snapshot", step: this.stepCount, snapshot };
        }
        const evalStep = (evalEvery > 0 && this.stepCount % evalEvery === 0) || this.stepCount === steps;
        if (this.evaluate && evalStep) {
          const valBitsPerByte = yield* this.between(() => this.evaluate!());
          if (valBitsPerByte === null) abandoned = true;
          else yield { kind: "eval", step: this.stepCount, valBitsPerByte, elapsedMs: this.elapsedMs };
        }
        if (this.diagnose && evalStep) {
          const diagnostics = yield* this.between(() => this.diagnose!());
          if (diagnostics === null) abandoned = true;
          for (const d of diagnostics ?? []) {
            yield { kind: "diagnostic", step: this.stepCount, name: d.name, value: d.value, ...(d.warning !== undefined ? { warning: d.warning } : {}) };
          }
        }
        await yieldToEventLoop();
      }
      yield { kind: "done", step: this.stepCount, stopped: this.stepCount < steps || abandoned, elapsedMs: this.elapsedMs };
    } finally {
      this.running = false;
    }
  }

  /**
   * Work after a step (a snapshot, an evaluation, diagnostics), with the interrupt
   * check asked before each of its kernels (interrupt.ts's interruptibleWork). A
   * pause abandons it, reports the run paused at the step it has, and does it again
   * from its start on resume: it reads the weights and nothing else (its sampling
   * has a seed of its own), so it gives the same result. A stop abandons it: null.
   * Without an interrupt check the work runs as it is.
   */
  private async *between<T>(work: () => Promise<T>): AsyncGenerator<TrainEvent, T | null, undefined> {
    const check = this.interrupt;
    if (!check) return await work();
    for (;;) {
      if (this.gate.stopped) return null;
      try {
        return await interruptibleWork(check, work);
      } catch (e) {
        if (!(e instanceof StepInterrupted)) throw e;
        this.askInterrupt(e.request);
        if (!(yield* this.holdPaused())) return null;
      }
    }
  }

  /** Reports the run paused at its step count, waits for Resume and reports it resumed: true; false when it was stopped instead (before or during the pause). */
  private async *holdPaused(): AsyncGenerator<TrainEvent, boolean, undefined> {
    if (this.gate.stopped) return false;
    yield { kind: "paused", step: this.stepCount };
    await this.gate.whilePaused();
    if (this.gate.stopped) return false;
    yield { kind: "resumed", step: this.stepCount };
    return true;
  }

  /**
   * The read-back's values, or null as soon as a pause or stop is asked while it waits (the page's
   * message, or the interrupt check, polled every READ_POLL_MS). A read that is ready comes first: on
   * wasm and cpu it resolves before the first poll.
   */
  private async readUnlessAsked<T>(read: Promise<T>): Promise<T | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const asked = new Promise<null>((resolve) => {
      const poll = () => {
        this.askInterrupt(this.interrupt?.() ?? null);
        if (this.gate.paused || this.gate.stopped) resolve(null);
        else timer = setTimeout(poll, READ_POLL_MS);
      };
      timer = setTimeout(poll, READ_POLL_MS);
    });
    try {
      return await Promise.race([read, asked]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A pause or stop the interrupt check asked for becomes the gate's (the page's message follows, or has come). */
  private askInterrupt(request: "pause" | "stop" | null): void {
    if (request === "pause") this.gate.pause();
    else if (request === "stop") this.gate.stop();
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
