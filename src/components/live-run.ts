// A training run in the page: owns one model and one trainer at a time, turns the
// trainer's events into plain snapshots for charts, and cleans up when stopped,
// replaced or disposed. Everything tensor-shaped stays inside lib/.
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from "../lib/train/checkpoint.js";
import { kindLabel } from "../lib/models/models.js";
import { PRESETS, presetConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from "../lib/config.js";
import { BatchSampler, corpusFromGzip, corpusFromText, type Corpus } from "../lib/text/data.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { TinyLM } from "../lib/models/model.js";
import { sample } from "../lib/eval/sample.js";
import { decodeBytes, encodeText } from "../lib/text/tokenizer.js";
import { tf } from "../lib/tf.js";
import { isGpuBackend } from "../lib/backend.js";
import { Trainer, type TrainerState } from "../lib/train/trainer.js";
import type { InterruptCheck } from "../lib/train/interrupt.js";
import { autoSnapshotEvery, defaultSnapshotConfig, isSnapshotStep, takeSnapshot, type Snapshot, type SnapshotConfig } from "../lib/train/snapshots.js";
import { CHECKPOINT_RECORD_KEY, dataIdentity, withCheckpoint } from "../lib/runs/build.js";
import { validateRunRecord, type RunDataIdentity, type RunRecord } from "../lib/runs/record.js";

export type RunStatus = "idle" | "preparing" | "running" | "paused" | "done" | "stopped" | "loaded" | "error";

export type CorpusRequest =
  | { kind: "named"; name: string; load: () => Promise<ArrayBuffer> }
  | { kind: "text"; name: string; text: string };

export interface RunRequest {
  preset: string;
  corpus: CorpusRequest;
  steps: number;
  learningRate: number;
  seed: number;
  /** Text the samples continue; defaults to the start of the validation split. */
  prompt?: string;
  /**
   * Continue the loaded checkpoint's training (its weights, optimizer and RNG state,
   * its own settings) to its planned total, as `stlm train --resume` does; preset,
   * steps, learning rate and seed are then the checkpoint's, and the corpus must be
   * the one it names.
   */
  resume?: boolean;
  /**
   * With resume: train on to this larger total of steps, as `stlm train --resume DIR
   * --extend-to N` does. The warm-up + cosine schedule is planned again over N steps, so
   * from the checkpoint's step on the learning rate follows the N-step curve; the
   * extension is recorded in the run's snapshot, its record's notes and the checkpoints
   * it saves (meta.extensions, as the CLI's config.json keeps it).
   */
  extendTo?: number;
}

/** A resumed run's plan lengthened (`--extend-to`): at which step, from which total to which. */
export interface Extension {
  atStep: number;
  fromSteps: number;
  toSteps: number;
  at: string;
}

export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
  elapsedMs: number;
}

export interface SamplePoint {
  step: number;
  prompt: string;
  text: string;
}

export interface RunSnapshot {
  status: RunStatus;
  /** What went wrong, in words for the reader (status "error"). */
  message?: string;
  label: string;
  model?: ModelConfig;
  train?: TrainConfig;
  parameterCount?: number;
  steps: StepPoint[];
  evals: { step: number; valBitsPerByte: number }[];
  samples: SamplePoint[];
  /** Training snapshots (lib/train/snapshots.ts), about 20 over a run, for the scrubber. */
  trainingSnapshots: Snapshot[];
  /** Set where the list travels separately (the worker's "training-snapshot" events): how many are current. */
  trainingSnapshotCount?: number;
  /** What the training snapshots hold (probe, prompt, interval). */
  snapshotConfig?: SnapshotConfig;
  etaMs?: number;
  /** Grows whenever the weights the page shows change enough to redraw (an evaluation, the end, a load). */
  modelVersion: number;
  /** Which training run this is: 1 for the first started on the page, and so on. */
  runNumber: number;
  /** Tensors alive in tfjs when this snapshot was taken: a count that keeps growing is a leak. */
  tensors?: number;
  /** For the run's record (lib/runs/build.ts): its preset, the data read (name and SHA-256), when it started and ended. */
  preset?: string;
  data?: RunDataIdentity;
  startedAt?: string;
  finishedAt?: string;
  /** A loaded checkpoint that holds its optimizer state: where it stopped, its planned total, the corpus it names. */
  resumable?: ResumePoint;
  /** A resumed run: the step its checkpoint was saved at. */
  resumedFrom?: number;
  /** The plan's extensions (`extendTo`), this run's last, and those of the checkpoint it resumed. */
  extensions?: Extension[];
  /**
   * A loaded checkpoint's run record (a page's download carries it in stlm.meta.runRecord),
   * with the loaded file's SHA-256 and size as its checkpoint: the runs library adds it as a row.
   */
  loadedRecord?: RunRecord;
}

export interface ResumePoint {
  step: number;
  steps: number;
  corpus?: string;
}

const SAMPLE_BYTES = 200;
/** Training snapshots a live run takes, about (lib/train/snapshots.ts). */
export const LIVE_SNAPSHOTS = 10;
/**
 * Bytes a live snapshot writes after its prompt. Each written byte is a forward pass of its own:
 * on wasm 120 of them take about as long as a training step or two, on the pure-JS cpu backend
 * about 30 s (0.26 s a byte, measured in Node), several training steps; a GPU backend pays a read-back a byte
 * (and a software renderer far more). Elsewhere than wasm a snapshot writes 40 bytes.
 */
export function liveSampleBytes(backend: string): number {
  return backend === "wasm" ? 120 : 40;
}
const NOTIFY_INTERVAL_MS = 150;

/** The longest the worker waits after a training snapshot before the next step, on a GPU backend (handOffMs). */
export const SNAPSHOT_HAND_OFF_MS = 150;

/**
 * How long the worker lets the page draw a training snapshot before it queues the next step. On a GPU
 * backend a step's kernels are dispatched in a burst of the worker's and the GPU process's CPU, which
 * on a machine with few cores (or a software GPU, whose threads take them all) took the cores from the
 * page's thread while it drew the snapshot: that frame took 80-127 ms of wall time for 27-43 ms of its own
 * CPU (scripts/main-thread-profile.ts --backend webgpu --pause --detail). So the worker waits
 * SNAPSHOT_HAND_OFF_MS, but never longer than its last step took, which keeps the cost under one step per
 * snapshot on a fast GPU (about LIVE_SNAPSHOTS a run). On wasm and cpu the worker's own threads compute the
 * step, and it does not wait. A Pause or Stop ends the wait at once.
 */
export function handOffMs(backend: string, steps: readonly { step: number; elapsedMs: number }[]): number {
  if (!isGpuBackend(backend)) return 0;
  if (steps.length === 0) return SNAPSHOT_HAND_OFF_MS;
  // The mean over the last two steps reported (a fast GPU reports every GPU_LOG_EVERY-th), or since the start.
  const [a, b] = steps.length >= 2 ? steps.slice(-2) : [{ step: 0, elapsedMs: 0 }, steps[0]];
  return Math.min(SNAPSHOT_HAND_OFF_MS, Math.max(0, (b.elapsedMs - a.elapsedMs) / Math.max(1, b.step - a.step)));
}

function emptySnapshot(modelVersion: number, runNumber: number): RunSnapshot {
  return { status: "idle", label: "", steps: [], evals: [], samples: [], trainingSnapshots: [], modelVersion, runNumber };
}

/** What the page's controls need of a run, wherever it trains (LiveRun in the worker, RemoteRun on the page). */
export interface RunHandle {
  readonly state: RunSnapshot;
  subscribe(listener: (s: RunSnapshot) => void): () => void;
  pause(): void;
  resume(): void;
  stop(): void;
  load(bytes: Uint8Array, label: string, opts?: { onlyIfIdle?: boolean }): Promise<boolean>;
  checkpointBytes(meta?: Record<string, unknown>): Promise<Uint8Array>;
}

export interface LiveRunOptions {
  /** Recorded in checkpoints this run saves. */
  backend?: string;
  /**
   * Asked between the kernels of a step, a snapshot and an evaluation: the page's
   * Pause or Stop, shared with the worker (lib/train/interrupt.ts). `clear` resets
   * it as a run begins (after the one before it ended), since the page sets "stop"
   * when Run is pressed during a run, to end that run's step at once.
   */
  interrupt?: { check: InterruptCheck; clear: () => void };
}

export class LiveRun implements RunHandle {
  private snapshot: RunSnapshot = emptySnapshot(0, 0);
  private listeners = new Set<(s: RunSnapshot) => void>();
  private trainingListeners = new Set<(snapshot: Snapshot, runNumber: number) => void>();
  private current: TinyLM | null = null;
  private currentInfo: { label: string; step?: number } | null = null;
  /** The loaded checkpoint's trainer state (optimizer, RNGs, step), kept for resume and for saving it again. */
  private loaded: { label: string; state: TrainerState; train: TrainConfig; corpus?: string } | null = null;
  /** The extensions of the current model's plan (from its checkpoint, and a resumed run's own), saved with it. */
  private extensions: Extension[] = [];
  /** The corpus the current model trains or trained on, recorded in the checkpoints it saves. */
  private corpusName: string | undefined;
  private trainer: Trainer | null = null;
  // start() and load() run one after another on this chain, so two runs never
  // share the model; each gets a token that a later start, load or stop cancels.
  private queue: Promise<unknown> = Promise.resolve();
  private token: { cancelled: boolean } = { cancelled: false };
  /** start() and load() calls queued or under way. */
  private busy = 0;
  private lastNotify = 0;
  private pendingNotify: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private pauseWaiters: (() => void)[] = [];

  constructor(private readonly options: LiveRunOptions = {}) {}

  /** The model the page should sample from and look into: the one training, or the last one. */
  get model(): TinyLM | null {
    return this.current;
  }

  /** Which model `model` is: its run's label (or the checkpoint's) and the step its weights are from. */
  get modelIdentity(): { label: string; step?: number } | null {
    if (!this.current || !this.currentInfo) return null;
    const step = this.trainer ? this.trainer.step : this.currentInfo.step;
    return { label: this.currentInfo.label, ...(step !== undefined ? { step } : {}) };
  }

  get state(): RunSnapshot {
    return this.snapshot;
  }

  /** Calls `listener` with each training snapshot as it is taken, and its run's number; returns an unsubscribe. */
  onTrainingSnapshot(listener: (snapshot: Snapshot, runNumber: number) => void): () => void {
    this.trainingListeners.add(listener);
    return () => this.trainingListeners.delete(listener);
  }

  /** Calls `listener` with every snapshot (at most every 150 ms while steps stream in); returns an unsubscribe. */
  subscribe(listener: (s: RunSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  /** Stops any run under way, then trains a fresh model on the request. */
  start(request: RunRequest): Promise<void> {
    this.assertLive();
    const token = this.takeTurn();
    return this.enqueue(() => (token.cancelled ? undefined : this.train(request, token)));
  }

  pause(): void {
    this.endHandOff();
    this.trainer?.pause();
  }

  resume(): void {
    this.trainer?.resume();
  }

  stop(): void {
    this.token.cancelled = true;
    this.endHandOff();
    this.trainer?.stop();
  }

  /** Ends a hand-off under way (a Pause or Stop is not kept waiting by it). */
  private endHandOff: () => void = () => {};
  /** Waits `ms` (or until a Pause or Stop) before the trainer goes on: see handOffMs. */
  private handOff(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.endHandOff = done;
    }).finally(() => (this.endHandOff = () => {}));
  }

  /**
   * Replaces the current model with the one a checkpoint holds (lib/train/checkpoint.ts
   * format); the page then samples from it and shows its attention. With
   * onlyIfIdle it does nothing (and returns false) once a run has started.
   */
  async load(bytes: Uint8Array, label: string, { onlyIfIdle = false }: { onlyIfIdle?: boolean } = {}): Promise<boolean> {
    this.assertLive();
    const ckpt = decodeCheckpoint(bytes, label);
    if (ckpt.spec.kind !== "bytes") {
      throw new Error(`${label} holds a ${kindLabel(ckpt.spec)} (kind "${ckpt.spec.kind}"), not a plain byte model; this page trains and samples byte models: open it with \`stlm sample\` / \`stlm eval\`, or on the page for that kind.`);
    }
    // The page loads its precomputed model while the reader may already have pressed Run.
    if (onlyIfIdle && (this.snapshot.status !== "idle" || this.busy > 0)) return false;
    const token = this.takeTurn();
    return this.enqueue(() => (token.cancelled || this.disposed ? false : this.adopt(ckpt, label, bytes)));
  }

  private adopt(ckpt: ReturnType<typeof decodeCheckpoint>, label: string, bytes: Uint8Array): boolean {
    const model = modelFromCheckpoint(ckpt);
    this.trainer?.dispose();
    this.trainer = null;
    this.current?.dispose();
    this.current = model;
    const step = ckpt.trainer?.step;
    this.currentInfo = { label, ...(step !== undefined ? { step } : {}) };
    const corpus = checkpointCorpus(ckpt.meta);
    this.corpusName = corpus;
    this.loaded = ckpt.trainer ? { label, state: ckpt.trainer, train: ckpt.trainConfig, ...(corpus ? { corpus } : {}) } : null;
    this.extensions = checkpointExtensions(ckpt.meta);
    const carried = checkpointRecord(ckpt.meta, bytes, label);
    this.update(
      {
        ...emptySnapshot(this.snapshot.modelVersion + 1, this.snapshot.runNumber),
        status: "loaded",
        label,
        message: `${step !== undefined ? `checkpoint at step ${step}` : "weights-only checkpoint"}${carried.note ? `; ${carried.note}` : ""}`,
        model: model.config,
        train: ckpt.trainConfig,
        parameterCount: model.parameterCount(),
        ...(ckpt.trainer ? { resumable: { step: ckpt.trainer.step, steps: ckpt.trainConfig.steps, ...(corpus ? { corpus } : {}) } } : {}),
        ...(this.extensions.length ? { extensions: this.extensions } : {}),
        ...(carried.record ? { loadedRecord: carried.record } : {})
      },
      true
    );
    return true;
  }

  /**
   * The current model as checkpoint bytes: weights, configs, and the trainer's
   * optimizer and RNG state when a trainer exists. A running trainer is paused
   * for the copy, so weights and optimizer state come from the same step.
   */
  async checkpointBytes(meta: Record<string, unknown> = {}): Promise<Uint8Array> {
    const model = this.current;
    const train = this.snapshot.train;
    if (!model || !train) throw new Error("There is no model yet: run training or load a checkpoint first.");
    const trainer = this.trainer;
    const wasRunning = this.snapshot.status === "running" && trainer !== null;
    if (wasRunning) {
      const paused = new Promise<void>((resolve) => this.pauseWaiters.push(resolve));
      trainer.pause();
      await paused;
    }
    try {
      return encodeCheckpoint({
        spec: model.spec,
        trainConfig: train,
        weights: await model.weights(),
        // A loaded checkpoint keeps its optimizer state when saved again (only a weights-only one has none).
        ...(trainer ? { trainer: await trainer.state() } : this.loaded ? { trainer: this.loaded.state } : {}),
        meta: {
          label: this.snapshot.label,
          savedAt: new Date().toISOString(),
          source: "browser",
          backend: this.options.backend,
          ...(this.corpusName ? { corpus: this.corpusName } : {}),
          ...(this.extensions.length ? { extensions: this.extensions } : {}),
          ...meta
        }
      });
    } finally {
      if (wasRunning) trainer.resume();
    }
  }

  /** Stops training and frees every tensor this run owns (once the step under way ends: the promise says when). */
  dispose(): Promise<void> {
    if (this.disposed) return this.queue.then(() => undefined);
    this.disposed = true;
    this.token.cancelled = true;
    this.trainer?.stop();
    const freed = this.queue.then(() => {
      this.trainer?.dispose();
      this.trainer = null;
      this.current?.dispose();
      this.current = null;
    });
    if (this.pendingNotify) clearTimeout(this.pendingNotify);
    this.listeners.clear();
    this.trainingListeners.clear();
    return freed;
  }

  /** Cancels whatever start or load came before, and returns the new one's token. */
  private takeTurn(): { cancelled: boolean } {
    this.token.cancelled = true;
    this.trainer?.stop();
    this.token = { cancelled: false };
    return this.token;
  }

  private enqueue<T>(work: () => T | Promise<T>): Promise<T> {
    this.busy += 1;
    const result = this.queue.then(work).finally(() => (this.busy -= 1));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async train(request: RunRequest, token: { cancelled: boolean }): Promise<void> {
    const resume = request.resume ? this.loaded : null;
    const extendTo = resume ? request.extendTo : undefined;
    const label = resume
      ? `${resume.label}, resumed at step ${resume.state.step}${extendTo !== undefined ? ` and extended to ${extendTo} steps` : ""}`
      : `${request.preset} on ${request.corpus.name}`;
    this.update(
      {
        ...emptySnapshot(this.snapshot.modelVersion, this.snapshot.runNumber + 1),
        status: "preparing",
        label,
        ...(resume ? { resumedFrom: resume.state.step } : { preset: request.preset }),
        ...(resume && this.extensions.length ? { extensions: this.extensions } : {}),
        startedAt: new Date().toISOString()
      },
      true
    );
    let corpus: Corpus;
    let configs: { model: ModelConfig; train: TrainConfig };
    try {
      if (request.resume) checkResumable(resume, this.current, request.corpus.name, request.extendTo);
      configs = resume ? { model: this.current!.config, train: extendTo !== undefined ? validateTrainConfig({ ...resume.train, steps: extendTo }) : resume.train } : presetConfig(request.preset, {
        train: {
          steps: request.steps,
          learningRate: request.learningRate,
          seed: request.seed,
          warmupSteps: Math.min(PRESETS[request.preset]?.train.warmupSteps ?? 0, Math.floor(request.steps / 10)),
          evalEvery: Math.max(10, Math.min(100, Math.round(request.steps / 10)))
        }
      });
      corpus =
        request.corpus.kind === "named"
          ? await corpusFromGzip(request.corpus.name, new Uint8Array(await request.corpus.load()))
          : corpusFromText(request.corpus.text, { name: request.corpus.name });
      if (corpus.val.length < 2) throw new Error(`${request.corpus.name} has no validation text to evaluate on; give a longer text.`);
    } catch (e) {
      this.fail(e, label);
      return;
    }

    if (token.cancelled || this.disposed) {
      if (this.token === token && !this.disposed) this.update({ ...this.snapshot, status: "stopped" }, true);
      return;
    }
    this.trainer?.dispose();
    this.trainer = null;
    // A resumed run trains the loaded model on; a fresh one replaces it.
    if (!resume) this.current?.dispose();
    const model = resume ? this.current! : TinyLM.create(configs.model, request.seed);
    this.current = model;
    if (resume && extendTo !== undefined) {
      this.extensions = [...this.extensions, { atStep: resume.state.step, fromSteps: resume.train.steps, toSteps: extendTo, at: new Date().toISOString() }];
      this.snapshot = { ...this.snapshot, extensions: this.extensions };
    } else if (!resume) {
      this.extensions = [];
    }
    this.loaded = null;
    this.corpusName = request.corpus.name;
    // About LIVE_SNAPSHOTS over the run: each costs the page about as much as a few training steps.
    const snapshotConfig = { ...defaultSnapshotConfig(autoSnapshotEvery(configs.train.steps, LIVE_SNAPSHOTS)), sampleBytes: liveSampleBytes(tf.getBackend()) };
    this.currentInfo = { label };
    const prompt = encodeText(request.prompt ?? defaultPrompt(corpus));
    // Each evaluation writes a sample too, inside the Trainer's evaluation, so a Pause during either abandons both and does both again on resume.
    let evalSample = "";
    const evaluate = async () => {
      const valBitsPerByte = await bitsPerByte(model, corpus.val, { maxBytes: configs.train.evalBytes });
      evalSample = decodeBytes(await sample(model, prompt, { tokens: SAMPLE_BYTES, temperature: 0.8, topK: 40, seed: configs.train.seed + trainer.step }));
      return valBitsPerByte;
    };
    // The flag may still say "stop" from the press of Run that ended the run before this one.
    this.options.interrupt?.clear();
    const trainer: Trainer = new Trainer({
      model,
      data: new BatchSampler(corpus.train),
      train: configs.train,
      ...(resume ? { state: resume.state } : {}),
      evaluate,
      ...(this.options.interrupt ? { interrupt: this.options.interrupt.check } : {}),
      snapshot: { every: snapshotConfig.every, take: (step) => takeSnapshot(model, step, snapshotConfig) }
    });
    this.trainer = trainer;
    this.update(
      { ...this.snapshot, status: "running", model: configs.model, train: configs.train, parameterCount: model.parameterCount(), snapshotConfig, data: dataIdentity(request.corpus.name, corpus) },
      true
    );

    try {
      for await (const ev of trainer.run()) {
        if (this.disposed) break;
        if (ev.kind === "step") {
          const point = { step: ev.step, loss: ev.loss, lr: ev.lr, tokensPerSecond: ev.tokensPerSecond, elapsedMs: ev.elapsedMs };
          this.snapshot.steps.push(point);
          // An evaluation or a training snapshot follows this step (a sample of up to 200 bytes, a forward pass each):
          // the page gets the step now, not after that work, so its counter is current while the worker is busy.
          const { evalEvery, steps: planned } = configs.train;
          const longWorkNext = (evalEvery > 0 && ev.step % evalEvery === 0) || ev.step === planned || isSnapshotStep(ev.step, snapshotConfig.every, planned);
          this.update({ ...this.snapshot, etaMs: ev.etaMs }, longWorkNext);
        } else if (ev.kind === "eval") {
          this.snapshot.evals.push({ step: ev.step, valBitsPerByte: ev.valBitsPerByte });
          this.snapshot.samples.push({ step: ev.step, prompt: decodeBytes(prompt), text: evalSample });
          this.update({ ...this.snapshot, modelVersion: this.snapshot.modelVersion + 1 }, true);
        } else if (ev.kind === "snapshot") {
          this.snapshot.trainingSnapshots.push(ev.snapshot);
          for (const l of this.trainingListeners) l(ev.snapshot, this.snapshot.runNumber);
          this.update({ ...this.snapshot }, true);
          await this.handOff(handOffMs(tf.getBackend(), this.snapshot.steps));
        } else if (ev.kind === "paused" || ev.kind === "resumed") {
          this.update({ ...this.snapshot, status: ev.kind === "paused" ? "paused" : "running" }, true);
          if (ev.kind === "paused") this.releasePauseWaiters();
        } else if (ev.kind === "done") {
          this.update(
            { ...this.snapshot, status: ev.stopped ? "stopped" : "done", etaMs: 0, modelVersion: this.snapshot.modelVersion + 1, finishedAt: new Date().toISOString() },
            true
          );
        }
      }
    } catch (e) {
      this.fail(e, label);
    } finally {
      this.releasePauseWaiters();
    }
  }

  private releasePauseWaiters(): void {
    for (const resolve of this.pauseWaiters.splice(0)) resolve();
  }

  private fail(e: unknown, label: string): void {
    const message = e instanceof Error ? e.message : String(e);
    this.update({ ...this.snapshot, status: "error", label, message }, true);
  }

  private update(next: RunSnapshot, now = false): void {
    this.snapshot = next;
    if (this.disposed) return;
    const wait = NOTIFY_INTERVAL_MS - (performance.now() - this.lastNotify);
    if (now || wait <= 0) {
      if (this.pendingNotify) clearTimeout(this.pendingNotify);
      this.pendingNotify = null;
      this.emit();
    } else if (!this.pendingNotify) {
      this.pendingNotify = setTimeout(() => {
        this.pendingNotify = null;
        this.emit();
      }, wait);
    }
  }

  private emit(): void {
    this.lastNotify = performance.now();
    const s = {
      ...this.snapshot,
      steps: this.snapshot.steps.slice(),
      evals: this.snapshot.evals.slice(),
      samples: this.snapshot.samples.slice(),
      trainingSnapshots: this.snapshot.trainingSnapshots.slice(),
      tensors: tf.memory().numTensors
    };
    for (const l of this.listeners) l(s);
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this run was disposed (the page cell re-ran); use the new one");
  }
}

/** The first line of the validation text (up to 48 bytes), cut at a word boundary. */
export function defaultPrompt(corpus: Corpus): string {
  const head = decodeBytes(corpus.val.subarray(0, 256)).replace(/^\s+/, "");
  const line = head.split("\n")[0];
  if (line.length <= 48) return line;
  const cut = line.slice(0, 48);
  const space = cut.lastIndexOf(" ");
  return space > 16 ? cut.slice(0, space + 1) : cut;
}

/** The model's continuation of a prompt, as text. */
export async function continueText(
  model: TinyLM,
  prompt: string,
  { tokens = SAMPLE_BYTES, temperature = 0.8, topK = 40, seed = 1 }: { tokens?: number; temperature?: number; topK?: number; seed?: number } = {}
): Promise<{ prompt: string; text: string }> {
  const bytes = encodeText(prompt).slice(-model.blockSize);
  return { prompt, text: decodeBytes(await sample(model, bytes, { tokens, temperature, topK, seed })) };
}

/** Calls notify with (nLayer, nHead) of the run's model, only when they change. */
export function observeModelShape(run: Pick<RunHandle, "subscribe">, notify: (shape: { nLayer: number; nHead: number } | null) => void): () => void {
  let key: string | undefined;
  return run.subscribe((s) => {
    const next = s.model ? `${s.model.nLayer}x${s.model.nHead}` : "none";
    if (next === key) return;
    key = next;
    notify(s.model ? { nLayer: s.model.nLayer, nHead: s.model.nHead } : null);
  });
}

/** Calls notify with the run's modelVersion, only when it changes. */
export function observeModelVersion(run: Pick<RunHandle, "subscribe">, notify: (version: number) => void): () => void {
  let last: number | undefined;
  return run.subscribe((s) => {
    if (s.modelVersion !== last) notify((last = s.modelVersion));
  });
}

/**
 * Calls notify with the run's model identity whenever the model settles on new weights:
 * a run ends or stops, or a checkpoint is loaded (not at every evaluation of a run under way).
 */
export function observeSettledModel(run: Pick<RunHandle, "subscribe">, notify: (model: { label: string; version: number }) => void): () => void {
  let last: number | undefined;
  return run.subscribe((s) => {
    const settled = s.status === "done" || s.status === "stopped" || s.status === "loaded" || s.status === "idle" || s.status === "error";
    if (settled && s.modelVersion !== last) notify({ label: s.label, version: (last = s.modelVersion) });
  });
}

/** The corpus a checkpoint's metadata names: a page's `corpus`, or `stlm train`'s `source.corpus`. */
export function checkpointCorpus(meta: Record<string, unknown>): string | undefined {
  if (typeof meta.corpus === "string") return meta.corpus;
  const source = meta.source as { corpus?: unknown } | undefined;
  return typeof source === "object" && source !== null && typeof source.corpus === "string" ? source.corpus : undefined;
}

/** The extensions a checkpoint's metadata records (a page's meta.extensions), or none. */
export function checkpointExtensions(meta: Record<string, unknown>): Extension[] {
  const list = meta.extensions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is Extension =>
      typeof e === "object" && e !== null && [e.atStep, e.fromSteps, e.toSteps].every((n) => Number.isInteger(n)) && typeof e.at === "string"
  );
}

/**
 * The run record a checkpoint carries (meta.runRecord, a page's download), checked, with
 * the loaded file as its checkpoint; or a note saying why it was not read.
 */
export function checkpointRecord(meta: Record<string, unknown>, bytes: Uint8Array, label: string): { record?: RunRecord; note?: string } {
  const raw = meta[CHECKPOINT_RECORD_KEY];
  if (raw === undefined) return {};
  try {
    return { record: withCheckpoint(validateRunRecord(raw, `the run record in ${label}`), bytes) };
  } catch (e) {
    return { note: `its run record was not read (${(e as Error).message})` };
  }
}

/** Refuses a resume that cannot continue the run exactly (or extend it), saying why and what to do. */
function checkResumable(resume: { state: TrainerState; train: TrainConfig; corpus?: string } | null, model: TinyLM | null, corpus: string, extendTo?: number): void {
  if (!resume || !model) {
    throw new Error("There is no checkpoint with optimizer state to resume: load one saved from a run (a weights-only checkpoint can be sampled and evaluated, not resumed).");
  }
  if (extendTo !== undefined) {
    if (!Number.isInteger(extendTo) || extendTo <= resume.train.steps) {
      throw new Error(`Extend to ${extendTo} steps is not longer than this checkpoint's planned ${resume.train.steps} steps: give a larger total (a whole number above ${resume.train.steps}).`);
    }
  } else if (resume.state.step >= resume.train.steps) {
    throw new Error(`This checkpoint finished all ${resume.train.steps} of its planned steps: there is nothing left to resume. Give a larger total under "Extend to" to train it further (as \`stlm train --resume DIR --extend-to N\` does).`);
  }
  if (resume.corpus !== undefined && resume.corpus !== corpus) {
    throw new Error(`This checkpoint was trained on ${resume.corpus}, and resuming it on ${corpus} would not continue the same run: choose ${resume.corpus} under Corpus, then resume.`);
  }
}
