// Live A/B training of tokenizer-free models in the page: every model trains
// in turn, one step each, until each has used the same seconds of training;
// validation bits per byte (on the same held-out bytes) is measured every
// evalEvery steps. Listeners get a plain snapshot (no tensors) after each event.
import { trainBpe, type Bpe } from "../lib/text/bpe.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { trainEntropyModel } from "../lib/text/entropy.js";
import { Trainer, type TrainEvent } from "../lib/train/trainer.js";
import { BPE_VOCAB, TOKENIZER_FREE_PRESETS, buildModel, tokenizerFreeConfig, type BuiltModel, type ComparisonKind } from "../lib/experiments/tokenizer-free.js";
import { estimateProgress, type RunProgress } from "./progress.js";
import { dataIdentity } from "../lib/runs/build.js";
import type { TrainConfig } from "../lib/config.js";
import type { ModelSpec } from "../lib/models/models.js";
import type { RunDataIdentity } from "../lib/runs/record.js";
import type { InterruptCheck } from "../lib/train/interrupt.js";

export interface ABModelSnapshot {
  kind: ComparisonKind;
  label: string;
  parameters: number;
  step: number;
  elapsedMs: number;
  bytesPerSecond: number;
  evals: { step: number; elapsedMs: number; valBitsPerByte: number }[];
  rates: { step: number; rate: number }[];
  done: boolean;
  /** For the model's run record (live-record.ts): every step's training loss (per position), its spec and training config. */
  losses: { step: number; loss: number }[];
  spec: ModelSpec;
  train: TrainConfig;
}

export interface ABSnapshot {
  status: "idle" | "preparing" | "running" | "done" | "stopped" | "error";
  message: string;
  models: ABModelSnapshot[];
  /** Bumped when the trained models change (for traces and boundaries). */
  version: number;
  /** Seconds trained of all the models' budgets, time so far and left (status "running"). */
  progress?: RunProgress;
  /** For the run records: when the run started and the data it read (name, SHA-256 of the training then validation bytes). */
  facts?: { startedAt: string; data: RunDataIdentity };
}

export interface ABRequest {
  kinds: ComparisonKind[];
  trainBytes: Uint8Array;
  valBytes: Uint8Array;
  secondsPerModel: number;
  evalEvery?: number;
  evalBytes?: number;
  seed?: number;
  /** The corpus's name, for the run records (default "austen", the page's). */
  dataName?: string;
}

const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));

export class ABRun {
  private snapshot: ABSnapshot = { status: "idle", message: "", models: [], version: 0 };
  private readonly listeners = new Set<(s: ABSnapshot) => void>();
  private built: BuiltModel[] = [];
  private trainers: Trainer[] = [];
  private stopRequested = false;
  private running = false;
  private disposed = false;
  private bpeCache: { source: Uint8Array; bpe: Bpe } | null = null;

  /** `interrupt`: asked between the kernels of every model's steps and evaluations (lib/train/interrupt.ts): the page's Stop, at once. */
  constructor(private readonly interrupt?: InterruptCheck) {}

  subscribe(listener: (s: ABSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  /** The trained model of a kind, when the last run had one. */
  model(kind: ComparisonKind): BuiltModel | undefined {
    return this.built.find((b) => b.kind === kind);
  }

  private emit(patch: Partial<ABSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch, models: (patch.models ?? this.snapshot.models).map((m) => ({ ...m })) };
    for (const l of this.listeners) l(this.snapshot);
  }

  /** The BPE of the first megabyte of the training bytes (trained once per text). */
  async bpeFor(trainBytes: Uint8Array): Promise<Bpe> {
    if (this.bpeCache?.source !== trainBytes) {
      await yieldToPage();
      this.bpeCache = { source: trainBytes, bpe: trainBpe(trainBytes.subarray(0, 1 << 20), BPE_VOCAB) };
    }
    return this.bpeCache.bpe;
  }

  stop(): void {
    this.stopRequested = true;
    for (const t of this.trainers) t.stop();
  }

  async start(request: ABRequest): Promise<void> {
    if (this.snapshot.status === "preparing" || this.snapshot.status === "running") throw new Error("a comparison is already running; stop it first");
    this.release();
    this.stopRequested = false;
    this.running = true;
    const { kinds, trainBytes, valBytes, secondsPerModel, evalEvery = 10, evalBytes = 4096, seed = 1 } = request;
    try {
      // The previous run's models are gone: readers of model() must look again.
      const facts = { startedAt: new Date().toISOString(), data: dataIdentity(request.dataName ?? "austen", { train: trainBytes, val: valBytes }) };
      this.emit({ status: "preparing", message: "training the BPE on the first megabyte of the training text…", models: [], version: this.snapshot.version + 1, facts });
      const needsBpe = kinds.some((k) => k === "bpe" || k === "bpe-tokens");
      const bpe = needsBpe ? await this.bpeFor(trainBytes) : undefined;
      const entropy = kinds.includes("local-entropy") ? trainEntropyModel(trainBytes.subarray(0, 1 << 20)) : undefined;
      const models: ABModelSnapshot[] = [];
      const evaluators: (() => Promise<number> | number)[] = [];
      for (const kind of kinds) {
        const preset = Object.values(TOKENIZER_FREE_PRESETS).find((p) => p.kind === kind)!;
        this.emit({ message: `building ${preset.label}…` });
        await yieldToPage();
        const built = buildModel(tokenizerFreeConfig(kind, bpe, undefined, { entropy }), trainBytes, seed);
        this.built.push(built);
        // A constant learning rate after warmup: the run ends on time, not at a step count.
        const train = { ...preset.train, steps: 1_000_000, warmupSteps: 20, minLrRatio: 1, evalEvery, evalBytes, seed };
        const evaluate = () => bitsPerByte(built.scorer, valBytes, { maxBytes: evalBytes });
        evaluators.push(evaluate);
        this.trainers.push(new Trainer({ model: built.model, data: built.data, train, evaluate, ...(this.interrupt ? { interrupt: this.interrupt } : {}) }));
        models.push({ kind, label: preset.label, parameters: built.model.parameterCount(), step: 0, elapsedMs: 0, bytesPerSecond: 0, evals: [], rates: [], done: false, losses: [], spec: built.config, train });
      }
      const budgetMs = secondsPerModel * 1000;
      const started = performance.now();
      const progress = () =>
        estimateProgress(models.reduce((sum, m) => sum + Math.min(m.elapsedMs, budgetMs), 0) / 1000, secondsPerModel * models.length, performance.now() - started, "s");
      this.emit({ status: "running", message: `each model trains for ${secondsPerModel} s, one step in turn`, models, progress: progress() });
      const runs = this.trainers.map((t) => t.run());
      let active = runs.length;
      while (active > 0) {
        for (let i = 0; i < runs.length; i++) {
          const m = models[i];
          if (m.done) continue;
          const { value, done } = await runs[i].next();
          if (done) {
            // A model stopped by its time budget between evaluations is scored once more, so the comparison's last point is the model it ends with.
            // (Not when stopped: by the message, or by the flag the page set, which the worker may read before the message.)
            if (!this.stopRequested && this.interrupt?.() !== "stop" && (m.evals.at(-1)?.step ?? -1) < m.step) {
              m.evals.push({ step: m.step, elapsedMs: m.elapsedMs, valBitsPerByte: await evaluators[i]() });
              this.emit({ models, progress: progress() });
            }
            m.done = true;
            active--;
            continue;
          }
          this.onEvent(i, value, m);
          if (m.elapsedMs >= budgetMs || this.stopRequested) this.trainers[i].stop();
          this.emit({ models, progress: progress() });
          await yieldToPage();
        }
      }
      // The page prefixes the status ("done: …"), so the message does not repeat it.
      const stopped = this.stopRequested || this.interrupt?.() === "stop";
      this.emit({ status: stopped ? "stopped" : "done", message: stopped ? "before every model had its time" : "every model had the same training time", version: this.snapshot.version + 1 });
    } catch (e) {
      this.emit({ status: "error", message: (e as Error).message });
    } finally {
      this.running = false;
      if (this.disposed) this.release();
    }
  }

  private onEvent(i: number, e: TrainEvent, m: ABModelSnapshot): void {
    const built = this.built[i];
    if (e.kind === "step") {
      m.step = e.step;
      m.elapsedMs = e.elapsedMs;
      m.bytesPerSecond = e.tokensPerSecond * built.bytesPerPosition;
      m.losses.push({ step: e.step, loss: e.loss });
      if (built.pooled?.config.strategy === "learned") m.rates.push({ step: e.step, rate: built.pooled.lastBoundaryRate });
    } else if (e.kind === "eval") {
      m.evals.push({ step: e.step, elapsedMs: e.elapsedMs, valBitsPerByte: e.valBitsPerByte });
    }
  }

  private release(): void {
    for (const t of this.trainers) t.dispose();
    for (const b of this.built) b.model.dispose();
    this.trainers = [];
    this.built = [];
  }

  /** Stops a run and frees every model (after the step under way, if one is). */
  dispose(): void {
    this.disposed = true;
    this.stop();
    if (!this.running) this.release();
    this.listeners.clear();
  }
}
