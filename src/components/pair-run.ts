// A live A/B run of two (or more) training runs in the page, used by the dropout and
// distillation pages: the arms train at once (each Trainer yields to the page after
// every step, so their steps interleave), and listeners get plain snapshots (no
// tensors) at most every 200 ms. Stop ends every arm after its current step; each
// arm's runner owns and disposes its models.
import type { Trainer, TrainEvent } from "../lib/train/trainer.js";
import type { TrainConfig } from "../lib/config.js";
import type { ModelSpec } from "../lib/models/models.js";
import type { RunDataIdentity } from "../lib/runs/record.js";

/** What an arm's run record (live-record.ts) needs beyond its curve: what was trained, on what data. */
export interface ArmFacts {
  preset: string;
  spec: ModelSpec;
  train: TrainConfig;
  data: RunDataIdentity;
  /** What the settings do not say (a distillation arm's teacher and loss). */
  notes?: string[];
}

export interface PairHooks {
  onEvent(e: TrainEvent): void;
  onTrainer(t: Trainer): void;
  /** A named measurement at a step (e.g. training-text bits/byte), drawn beside the validation curve. */
  onPoint(p: { step: number; name: string; value: number }): void;
}

export interface PairArm {
  label: string;
  totalSteps: number;
  facts?: ArmFacts;
  run(hooks: PairHooks): Promise<unknown>;
}

export interface PairArmSnapshot {
  label: string;
  totalSteps: number;
  step: number;
  losses: { step: number; loss: number; dropout: number; tokensPerSecond?: number }[];
  evals: { step: number; valBitsPerByte: number }[];
  points: { step: number; name: string; value: number }[];
  tokensPerSecond: number;
  done: boolean;
  facts?: ArmFacts;
  startedAt?: string;
}

export interface PairSnapshot {
  status: "idle" | "running" | "done" | "stopped" | "error";
  message: string;
  arms: PairArmSnapshot[];
  /** Estimated time left, from the slowest arm's pace. */
  etaMs: number;
}

const NOTIFY_MS = 200;

export class PairRun {
  private snapshot: PairSnapshot = { status: "idle", message: "", arms: [], etaMs: 0 };
  private readonly listeners = new Set<(s: PairSnapshot) => void>();
  private trainers: Trainer[] = [];
  private running: Promise<void> | null = null;
  private lastNotify = 0;
  private stopRequested = false;
  private disposed = false;
  /** The arms' live records, which the events update; snapshots are copies of them. */
  private live: PairArmSnapshot[] = [];

  get state(): PairSnapshot {
    return this.snapshot;
  }

  subscribe(listener: (s: PairSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  /** Stops a run under way, then trains the arms afresh. */
  async start(arms: PairArm[]): Promise<void> {
    await this.stopAndWait();
    if (this.disposed) return;
    this.running = this.train(arms);
    return this.running;
  }

  stop(): void {
    this.stopRequested = true;
    for (const t of this.trainers) t.stop();
  }

  async stopAndWait(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
    this.running = null;
  }

  dispose(): void {
    this.disposed = true;
    this.stop();
    this.listeners.clear();
  }

  private emit(force = false): void {
    const now = performance.now();
    if (!force && now - this.lastNotify < NOTIFY_MS) return;
    this.lastNotify = now;
    this.snapshot = { ...this.snapshot, arms: this.live.map((a) => ({ ...a, losses: [...a.losses], evals: [...a.evals], points: [...a.points] })) };
    for (const l of this.listeners) l(this.snapshot);
  }

  private async train(arms: PairArm[]): Promise<void> {
    this.stopRequested = false;
    this.trainers = [];
    const started = performance.now();
    const startedAt = new Date().toISOString();
    const snaps: PairArmSnapshot[] = arms.map((a) => ({ label: a.label, totalSteps: a.totalSteps, step: 0, losses: [], evals: [], points: [], tokensPerSecond: 0, done: false, startedAt, ...(a.facts ? { facts: a.facts } : {}) }));
    this.live = snaps;
    this.snapshot = { status: "running", message: "starting…", arms: [], etaMs: 0 };
    this.emit(true);
    const eta = () => {
      const elapsed = performance.now() - started;
      return Math.max(0, ...snaps.map((a) => (a.step > 0 ? (elapsed / a.step) * (a.totalSteps - a.step) : 0)));
    };
    // A stop the trainers heard first (the page's flag: lib/train/interrupt.ts) ends them as stopped before the stop message arrives.
    let trainerStopped = false;
    try {
      await Promise.all(
        arms.map((arm, i) =>
          arm.run({
            onTrainer: (t) => {
              this.trainers.push(t);
              if (this.stopRequested) t.stop();
            },
            onPoint: (p) => snaps[i].points.push(p),
            onEvent: (e) => {
              const a = snaps[i];
              if (e.kind === "step") {
                a.step = e.step;
                a.losses.push({ step: e.step, loss: e.loss, dropout: e.dropout, tokensPerSecond: e.tokensPerSecond });
                a.tokensPerSecond = e.tokensPerSecond;
              } else if (e.kind === "eval") a.evals.push({ step: e.step, valBitsPerByte: e.valBitsPerByte });
              else if (e.kind === "done") {
                a.done = true;
                trainerStopped ||= e.stopped;
              }
              const etaMs = eta();
              this.snapshot = { ...this.snapshot, etaMs, message: snaps.map((s) => `${s.label}: step ${s.step} of ${s.totalSteps}`).join(" · ") };
              this.emit(e.kind !== "step");
            }
          })
        )
      );
      const stopped = this.stopRequested || trainerStopped;
      this.snapshot = { ...this.snapshot, status: stopped ? "stopped" : "done", etaMs: 0, message: stopped ? "stopped" : `finished in ${((performance.now() - started) / 1000).toFixed(0)} s` };
    } catch (e) {
      this.stop();
      this.snapshot = { ...this.snapshot, status: "error", message: `the run failed: ${(e as Error).message}` };
    } finally {
      this.trainers = [];
      this.emit(true);
    }
  }
}
