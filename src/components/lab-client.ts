// The page's side of the training worker: starts lab-worker.ts as a module worker,
// sends lab-protocol.ts commands and routes the worker's replies and events.
// RemoteEngine and RemoteRun are the page-side twins of the run classes that live in
// the worker: the same subscribe / state / start / pause / resume / stop shape, the
// same plain snapshots, so the charts and controls do not know where the model runs.
import type { BackendPreference } from "../lib/backend.js";
import {
  applyPatch,
  errorMessage,
  INTERRUPT_FLAG,
  interruptFlag,
  validateEvent,
  type Command,
  type CommandReplies,
  type CommandType,
  type ChunkCuts,
  type DisagreementsReply,
  type DrawnAttention,
  type EngineKind,
  type ModelIdentity,
  type SpeculativeReply,
  type SampleOptions,
  type WrittenText,
  type BenchProgress,
  type BenchReply,
  type BenchRequest
} from "./lab-protocol.js";
import type { RunRequest, RunSnapshot } from "./live-run.js";
import type { Snapshot } from "../lib/train/snapshots.js";
import type { EvalData, EvalProgress, EvalSize } from "../lib/eval/evaluation.js";
import type { EvalReply } from "./lab-protocol.js";
import type { TrainRequest } from "./lab-engines.js";

/** How often a run's snapshot may redraw the page (the worker sends them every 150 ms or so). */
const PAGE_UPDATE_MS = 250;

/**
 * Engines whose start ends the run under way, waits for it, and clears the flag
 * (lab-engines.ts): for them a start pressed during a run sets the flag to "stop",
 * so the old run's step ends at once instead of at its end. (The training page's
 * RemoteRun does the same; the tokenizer-free run refuses a start during a run, and
 * self-play's stop needs no flag: it acts at its next turn or update.)
 */
const STOPS_AT_RESTART: ReadonlySet<EngineKind> = new Set<EngineKind>(["sharing", "objectives", "pair"]);

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type CommandBody<T extends CommandType> = Omit<Extract<Command, { type: T }>, "id">;

export type BackendReply = CommandReplies["setBackend"];

export class LabWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly jobs = new Map<number, (snapshot: unknown) => void>();
  /** Each job's last snapshot, which the next patch applies to. */
  private readonly snapshots = new Map<number, unknown>();
  private readonly trainingJobs = new Map<number, (runNumber: number, snapshot: Snapshot) => void>();
  private readonly evalListeners = new Map<string, (p: EvalProgress) => void>();
  private readonly benchListeners = new Map<number, (p: BenchProgress) => void>();
  private readonly busyListeners = new Set<(tasks: string[]) => void>();
  private readonly errorListeners = new Set<(message: string) => void>();
  /** Each job's Pause/Stop flag shared with the worker (lab-protocol.ts), where the page is cross-origin isolated. */
  private readonly flags = new Map<number, Int32Array>();
  private busyTasks: string[] = [];
  private nextId = 1;
  private nextJob = 1;
  private failure: string | null = null;
  private disposed = false;

  constructor() {
    // import.meta.resolve of a local module makes Framework build it (and what it imports) into dist/.
    this.worker = new Worker(import.meta.resolve("./lab-worker.js"), { type: "module", name: "stlm-training" });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(errorMessage(e));
    };
    this.worker.onmessageerror = (e) => this.fail(errorMessage(e));
  }

  /** Sends a command; resolves with its reply, or rejects with the worker's message. */
  request<T extends CommandType>(body: CommandBody<T> & { type: T }, transfer: Transferable[] = []): Promise<CommandReplies[T]> {
    if (this.disposed) return Promise.reject(new Error("the training worker was closed (the page re-ran or was left)"));
    if (this.failure) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    return new Promise<CommandReplies[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  /** Chooses the worker's backend; every run the worker holds ends first. */
  setBackend(prefer: BackendPreference): Promise<BackendReply> {
    return this.request({ type: "setBackend", prefer });
  }

  /** The bench page's benchmark, in the worker (the pool the pages train on); `onProgress` hears each timed step. */
  async bench(request: BenchRequest, onProgress: (p: BenchProgress) => void = () => {}): Promise<BenchReply> {
    const id = this.nextId; // the id request() gives this command
    this.benchListeners.set(id, onProgress);
    try {
      return await this.request({ type: "bench", request });
    } finally {
      this.benchListeners.delete(id);
    }
  }

  /** Trains nano at 1 thread and at every thread the worker has, and compares every bit. */
  checkThreads(steps = 4): Promise<CommandReplies["checkThreads"]> {
    return this.request({ type: "checkThreads", steps });
  }

  /** One training step on the worker's backend against a reference backend. */
  checkBackend(reference: "wasm" | "cpu"): Promise<CommandReplies["checkBackend"]> {
    return this.request({ type: "checkBackend", reference });
  }

  /** A new run of `kind` in the worker. */
  engine<S, R = unknown>(kind: EngineKind, initial: S, options: Record<string, unknown> = {}): RemoteEngine<S, R> {
    const engine = new RemoteEngine<S, R>(this, this.createJob(kind, options), initial);
    engine.stopsAtRestart = STOPS_AT_RESTART.has(kind);
    return engine;
  }

  /** The evaluation page's engine: a checkpoint to evaluate. */
  evaluation<S>(initial: S): RemoteEvaluation<S> {
    return new RemoteEvaluation<S>(this, this.createJob("eval", {}), initial);
  }

  /** The training page's run. */
  run(options: { backend?: string } = {}): RemoteRun {
    return new RemoteRun(this, this.createJob("train", options));
  }

  /** Calls `listener` with what the worker is busy with (empty when idle); returns an unsubscribe. */
  observeBusy(listener: (tasks: string[]) => void): () => void {
    this.busyListeners.add(listener);
    listener(this.busyTasks);
    return () => this.busyListeners.delete(listener);
  }

  /** Calls `listener` with errors no command was waiting for (the worker failed to start, say). */
  observeErrors(listener: (message: string) => void): () => void {
    this.errorListeners.add(listener);
    if (this.failure) listener(this.failure);
    return () => this.errorListeners.delete(listener);
  }

  /** @internal */
  listen(job: number, listener: (snapshot: unknown) => void): void {
    this.jobs.set(job, listener);
  }

  /** @internal Routes an evaluation's progress events. */
  listenEval(job: number, evaluation: number, listener: ((p: EvalProgress) => void) | null): void {
    if (listener) this.evalListeners.set(`${job}:${evaluation}`, listener);
    else this.evalListeners.delete(`${job}:${evaluation}`);
  }

  /** @internal */
  listenTraining(job: number, listener: (runNumber: number, snapshot: Snapshot) => void): void {
    this.trainingJobs.set(job, listener);
  }

  /** @internal The job's Pause/Stop flag, or null where the page is not cross-origin isolated (Pause then waits for the step under way). */
  interruptFlag(job: number): Int32Array | null {
    return this.flags.get(job) ?? null;
  }

  /** @internal */
  forget(job: number): void {
    this.flags.delete(job);
    this.jobs.delete(job);
    this.snapshots.delete(job);
    this.trainingJobs.delete(job);
  }

  /** Ends the worker and everything in it (models, trainers, GPU contexts, the wasm heap). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error("the training worker was closed"));
    this.pending.clear();
    this.jobs.clear();
    this.snapshots.clear();
    this.trainingJobs.clear();
    this.busyListeners.clear();
    this.errorListeners.clear();
  }

  private createJob(kind: EngineKind, options: Record<string, unknown>): number {
    const job = this.nextJob++;
    const flag = interruptFlag();
    if (flag) this.flags.set(job, flag);
    this.request({ type: "create", job, engine: kind, options, ...(flag ? { interrupt: flag.buffer as SharedArrayBuffer } : {}) }).catch((e: Error) => this.report(e.message));
    return job;
  }

  private receive(data: unknown): void {
    let event;
    try {
      event = validateEvent(data);
    } catch (e) {
      this.report(errorMessage(e));
      return;
    }
    if (event.type === "reply") {
      const p = this.pending.get(event.id);
      if (!p) return;
      this.pending.delete(event.id);
      if (event.ok) p.resolve(event.value);
      else p.reject(new Error(event.error));
    } else if (event.type === "snapshot") {
      let snapshot: unknown;
      try {
        snapshot = applyPatch(event.patch, this.snapshots.get(event.job));
      } catch (e) {
        this.report(errorMessage(e));
        return;
      }
      this.snapshots.set(event.job, snapshot);
      this.jobs.get(event.job)?.(snapshot);
    } else if (event.type === "training-snapshot") {
      this.trainingJobs.get(event.job)?.(event.runNumber, event.snapshot);
    } else if (event.type === "evalProgress") {
      this.evalListeners.get(`${event.job}:${event.evaluation}`)?.(event.progress);
    } else if (event.type === "benchProgress") {
      this.benchListeners.get(event.id)?.(event.progress);
    } else if (event.type === "busy") {
      this.busyTasks = event.tasks;
      for (const l of this.busyListeners) l(event.tasks);
    } else if (event.type === "error") {
      this.report(event.message);
    }
  }

  private report(message: string): void {
    for (const l of this.errorListeners) l(message);
  }

  private fail(message: string): void {
    this.failure = message;
    for (const p of this.pending.values()) p.reject(new Error(message));
    this.pending.clear();
    this.report(message);
  }
}

/** A run in the worker, seen from the page: its latest snapshot and the commands every run takes. */
export class RemoteEngine<S, R = unknown> {
  protected snapshot: S;
  private readonly listeners = new Set<(s: S) => void>();
  protected disposed = false;
  private nextEvaluation = 1;
  private evalDataSent = false;

  private lastDelivered = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** @internal Whether a start during a run sets the flag to "stop" (STOPS_AT_RESTART). */
  stopsAtRestart = false;

  constructor(
    protected readonly lab: LabWorker,
    protected readonly job: number,
    initial: S,
    /** Snapshots reach listeners at most this often (a change of status goes at once): each redraws charts on the page's thread. */
    private readonly minIntervalMs = PAGE_UPDATE_MS
  ) {
    this.snapshot = initial;
    lab.listen(job, (s) => {
      const statusChanged = (s as { status?: unknown }).status !== (this.snapshot as { status?: unknown }).status;
      this.snapshot = this.receive(s);
      this.schedule(statusChanged);
    });
  }

  /** A snapshot as it arrived, made whole (RemoteRun adds its training snapshots). */
  protected receive(s: unknown): S {
    return s as S;
  }

  protected schedule(now: boolean): void {
    const wait = this.minIntervalMs - (performance.now() - this.lastDelivered);
    if (now || wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.deliver();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.deliver();
      }, wait);
    }
  }

  private deliver(): void {
    if (this.disposed) return;
    this.lastDelivered = performance.now();
    for (const l of this.listeners) l(this.snapshot);
  }

  get state(): S {
    return this.snapshot;
  }

  subscribe(listener: (s: S) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  /**
   * Whether Pause and Stop cut a step under way short: true where the page is
   * cross-origin isolated (the flag it shares with the worker exists); elsewhere
   * the worker hears them once the step under way has finished.
   */
  get pausesAtOnce(): boolean {
    return this.lab.interruptFlag(this.job) !== null;
  }

  /** Writes the shared flag that the worker's training step reads between kernels (where there is one). */
  protected signal(value: number): void {
    const flag = this.lab.interruptFlag(this.job);
    if (flag) Atomics.store(flag, 0, value);
  }

  /** Starts a run; resolves when it ends. */
  start(request: R, transfer: Transferable[] = []): Promise<void> {
    this.signal(this.stopsAtRestart && this.live ? INTERRUPT_FLAG.stop : INTERRUPT_FLAG.none);
    return this.lab.request({ type: "start", job: this.job, request }, transfer).then(() => undefined);
  }

  pause(): void {
    // What the page shows at the press is the worker's latest: only the step under way can follow it (none where the flag exists).
    this.schedule(true);
    // Where the flag exists, the step under way stops at its next kernel; the message makes the pause the run's.
    this.signal(INTERRUPT_FLAG.pause);
    void this.lab.request({ type: "pause", job: this.job }).catch(() => undefined);
  }

  resume(): void {
    this.signal(INTERRUPT_FLAG.none);
    void this.lab.request({ type: "resume", job: this.job }).catch(() => undefined);
  }

  /** Whether the page's latest snapshot shows a run under way (preparing, running or paused). */
  protected get live(): boolean {
    const status = (this.snapshot as { status?: unknown }).status;
    return status === "running" || status === "paused" || status === "preparing";
  }

  stop(): void {
    // As with pause: what the page shows at the press is the worker's latest.
    this.schedule(true);
    this.signal(INTERRUPT_FLAG.stop);
    void this.lab.request({ type: "stop", job: this.job }).catch(() => undefined);
  }

  /**
   * Evaluates the run's model in the worker (lib/eval/evaluation.ts) on a subset,
   * with progress; aborting `signal` cancels it between two batches. The data go
   * with the first evaluation of this run and stay in the worker.
   */
  async evaluate(size: EvalSize, data: EvalData, { onProgress, signal }: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal } = {}): Promise<EvalReply> {
    signal?.throwIfAborted();
    const evaluation = this.nextEvaluation++;
    // Where the flag exists, Cancel ends the batch under way at its next kernel (lab-eval.ts); the message makes it the evaluation's.
    const cancel = () => {
      this.signal(INTERRUPT_FLAG.stop);
      void this.lab.request({ type: "cancelEvaluate", job: this.job, evaluation }).catch(() => undefined);
    };
    this.signal(INTERRUPT_FLAG.none);
    this.lab.listenEval(this.job, evaluation, onProgress ?? null);
    signal?.addEventListener("abort", cancel);
    try {
      const reply = this.lab.request({ type: "evaluate", job: this.job, evaluation, size, ...(this.evalDataSent ? {} : { data }) });
      this.evalDataSent = true;
      return await reply;
    } catch (e) {
      // The worker's message for a cancel is its own; the signal's reason says who cancelled.
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
      throw e;
    } finally {
      signal?.removeEventListener("abort", cancel);
      this.lab.listenEval(this.job, evaluation, null);
    }
  }

  /** Keeps a checkpoint's model in the run under `slot` (built and checked in the worker), for the commands below. */
  loadModel(slot: string, bytes: Uint8Array, label: string): Promise<ModelIdentity> {
    return this.lab.request({ type: "loadModel", job: this.job, slot, bytes, label });
  }

  /** The objectives run's multi-byte model sampled plainly and self-speculatively. */
  speculative(prompt: string, options: SampleOptions = {}): Promise<SpeculativeReply> {
    return this.lab.request({ type: "speculative", job: this.job, prompt, options });
  }

  /** The distillation run's KL(teacher ‖ student) at each byte of `text`; null without both models or two bytes. */
  disagreements(text: string): Promise<DisagreementsReply | null> {
    return this.lab.request({ type: "disagreements", job: this.job, text });
  }

  /** The named model's greedy move for a game's prompt, as the bytes it wrote. */
  move(model: string, prompt: Uint8Array, maxBytes: number, end: number | null): Promise<Uint8Array> {
    return this.lab.request({ type: "move", job: this.job, model, prompt, maxBytes, ...(end === null ? {} : { end }) });
  }

  /** A text's BPE, entropy and learned chunks; `train` goes with the first call. */
  chunks(bytes: Uint8Array, train?: Uint8Array): Promise<ChunkCuts> {
    return this.lab.request({ type: "chunks", job: this.job, bytes, ...(train ? { train } : {}) });
  }

  /** A method of the run that only this kind has. */
  call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.lab.request({ type: "call", job: this.job, method, args }) as Promise<T>;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.listeners.clear();
    this.lab.forget(this.job);
    void this.lab.request({ type: "dispose", job: this.job }).catch(() => undefined);
  }
}

const IDLE_RUN: RunSnapshot = { status: "idle", label: "", steps: [], evals: [], samples: [], trainingSnapshots: [], modelVersion: 0, runNumber: 0 };

/** The training page's run (LiveRun in the worker): training, checkpoints, writing and attention. */
export class RemoteRun extends RemoteEngine<RunSnapshot, TrainRequest> {
  // Presses of Run reach the worker in the order they were made, whatever each corpus takes to load.
  private starts: Promise<unknown> = Promise.resolve();

  /** The run's training snapshots, each received once ("training-snapshot" events); the run snapshot says how many are current. */
  private training: { runNumber: number; list: Snapshot[] } = { runNumber: -1, list: [] };

  constructor(lab: LabWorker, job: number) {
    super(lab, job, IDLE_RUN);
    lab.listenTraining(job, (runNumber, snapshot) => {
      if (runNumber !== this.training.runNumber) this.training = { runNumber, list: [] };
      this.training.list.push(snapshot);
    });
  }

  protected override receive(s: unknown): RunSnapshot {
    const run = s as RunSnapshot;
    if (run.trainingSnapshotCount === undefined) return run;
    const list = run.runNumber === this.training?.runNumber ? this.training.list.slice(0, run.trainingSnapshotCount) : [];
    return { ...run, trainingSnapshots: list };
  }

  /**
   * Stops any run under way, then trains a fresh model on the request (the corpus is read here, trained on there).
   * A run under way ends at its next kernel where the flag exists (Restart): the flag says "stop" from the press,
   * and the worker clears it as the new run begins, once the old one has ended (LiveRun's interrupt.clear).
   */
  override start(request: RunRequest | TrainRequest): Promise<void> {
    if (this.live) this.signal(INTERRUPT_FLAG.stop);
    const corpus = request.corpus;
    const bytes = corpus.kind === "named" && "load" in corpus ? corpus.load() : null;
    // Each start is posted once the one before it has been posted (not finished: a later start cancels it).
    const posted = this.starts.then(async () => {
      const source: TrainRequest["corpus"] =
        corpus.kind === "text" ? corpus : { kind: "named", name: corpus.name, bytes: "bytes" in corpus ? corpus.bytes : await bytes! };
      return { finished: this.post({ ...request, corpus: source }) };
    });
    this.starts = posted.catch(() => undefined);
    return posted.then((p) => p.finished);
  }

  /** The start command, leaving the flag to the worker (it may say "stop" for the run this one replaces). */
  private post(request: TrainRequest): Promise<void> {
    return this.lab.request({ type: "start", job: this.job, request }).then(() => undefined);
  }

  /** Replaces the model with a checkpoint's (checked and built in the worker); false when onlyIfIdle found a run. */
  load(bytes: Uint8Array, label: string, { onlyIfIdle = false }: { onlyIfIdle?: boolean } = {}): Promise<boolean> {
    return this.lab.request({ type: "load", job: this.job, bytes, label, onlyIfIdle });
  }

  /** The current model as checkpoint bytes (a running trainer pauses for the copy). */
  checkpointBytes(meta: Record<string, unknown> = {}): Promise<Uint8Array> {
    return this.lab.request({ type: "checkpoint", job: this.job, meta });
  }

  /** The current model's continuation of a prompt, and which model wrote it; null when there is no model yet. */
  write(prompt: string, options: SampleOptions = {}): Promise<WrittenText | null> {
    return this.lab.request({ type: "sample", job: this.job, prompt, options });
  }

  /** The current model's attention over a text, and which model it is; null when there is no model yet. */
  attention(text: string): Promise<DrawnAttention | null> {
    return this.lab.request({ type: "attention", job: this.job, text });
  }
}

/** The evaluation page's engine in the worker (lab-eval.ts): one checkpoint's model, of any kind. */
export class RemoteEvaluation<S = unknown> extends RemoteEngine<S> {
  /** Builds the model a checkpoint holds (checked in the worker); rejects with what is wrong with it. */
  load(bytes: Uint8Array, label: string): Promise<boolean> {
    return this.lab.request({ type: "load", job: this.job, bytes, label });
  }
}
