// The sharing page's live A/B run: owns one lib/experiments/sharing.ts SharingRun at a time,
// turns its events into plain snapshots for the charts and the table, and frees
// both models when stopped, replaced or disposed.
import type { Corpus } from "../lib/text/data.js";
import { sharingExperiment, SharingRun, type ArmRecord } from "../lib/experiments/sharing.js";
import { estimateProgress, type RunProgress } from "./progress.js";
import { dataIdentity } from "../lib/runs/build.js";
import type { TrainConfig } from "../lib/config.js";
import type { RunDataIdentity } from "../lib/runs/record.js";
import type { InterruptCheck } from "../lib/train/interrupt.js";

/** What the arms' run records need beyond their curves (live-record.ts). */
export interface SharingFacts {
  train: TrainConfig;
  data: RunDataIdentity;
  startedAt: string;
}

export type ABStatus = "idle" | "preparing" | "running" | "done" | "stopped" | "error";

export interface ABSnapshot {
  status: ABStatus;
  /** What went wrong, in words for the reader (status "error"). */
  message?: string;
  experiment?: string;
  totalSteps?: number;
  arms: ArmRecord[];
  /** Steps of the slower arm, time so far and left (status "running"). */
  progress?: RunProgress;
  facts?: SharingFacts;
}

export interface ABRequest {
  experiment: string;
  steps: number;
  loadCorpus: () => Promise<Pick<Corpus, "train" | "val">>;
  /** The corpus's name, for the run records. */
  dataName?: string;
}

const NOTIFY_INTERVAL_MS = 200;

export class ABController {
  private snapshot: ABSnapshot = { status: "idle", arms: [] };
  private listeners = new Set<(s: ABSnapshot) => void>();
  private run: SharingRun | null = null;
  private running: Promise<void> | null = null;
  private lastNotify = 0;
  private disposed = false;

  /** `interrupt`: asked between the kernels of both arms' steps and evaluations (lib/train/interrupt.ts): the page's Stop, at once. */
  constructor(private readonly interrupt?: InterruptCheck) {}

  get state(): ABSnapshot {
    return this.snapshot;
  }

  /** Calls `listener` with every snapshot (at most every 200 ms while steps stream in); returns an unsubscribe. */
  subscribe(listener: (s: ABSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  /** Stops a run under way, then trains both arms of the experiment afresh. */
  async start(request: ABRequest): Promise<void> {
    await this.stopAndWait();
    if (this.disposed) return;
    this.running = this.train(request);
    return this.running;
  }

  stop(): void {
    this.run?.stop();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.run?.stop();
    const free = () => {
      this.run?.dispose();
      this.run = null;
    };
    if (this.running) this.running.then(free, free);
    else free();
    this.listeners.clear();
  }

  /** Stops a run under way and resolves once it has ended. */
  async stopAndWait(): Promise<void> {
    this.run?.stop();
    await this.running?.catch(() => undefined);
  }

  private async train({ experiment, steps, loadCorpus, dataName = "corpus" }: ABRequest): Promise<void> {
    this.publish({ status: "preparing", experiment, totalSteps: steps, arms: [] }, true);
    let run: SharingRun;
    let facts: SharingFacts | undefined;
    try {
      const corpus = await loadCorpus();
      this.run?.dispose();
      if (this.disposed) return;
      run = new SharingRun(sharingExperiment(experiment), corpus, { steps, evalEvery: Math.max(10, Math.round(steps / 5)) }, this.interrupt ? { interrupt: this.interrupt } : {});
      this.run = run;
      facts = { train: run.train, data: dataIdentity(dataName, corpus), startedAt: new Date().toISOString() };
    } catch (e) {
      this.publish({ status: "error", message: (e as Error).message, experiment, arms: [] }, true);
      return;
    }
    const copy = () => run.records.map((r) => ({ ...r, steps: r.steps.slice(), evals: r.evals.slice() }));
    const started = performance.now();
    const progress = () => estimateProgress(Math.min(...run.records.map((r) => r.steps.at(-1)?.step ?? 0)), steps, performance.now() - started);
    try {
      let stopped = false;
      this.publish({ status: "running", experiment, totalSteps: steps, arms: copy(), progress: progress(), facts }, true);
      for await (const { event } of run.events()) {
        if (this.disposed) break;
        if (event.kind === "done") stopped ||= event.stopped;
        this.publish({ status: "running", experiment, totalSteps: steps, arms: copy(), progress: progress(), facts }, event.kind === "eval");
      }
      this.publish({ status: stopped ? "stopped" : "done", experiment, totalSteps: steps, arms: copy(), facts }, true);
    } catch (e) {
      this.publish({ status: "error", message: (e as Error).message, experiment, totalSteps: steps, arms: copy() }, true);
    }
  }

  private publish(s: ABSnapshot, force = false): void {
    this.snapshot = s;
    const now = Date.now();
    if (!force && now - this.lastNotify < NOTIFY_INTERVAL_MS) return;
    this.lastNotify = now;
    for (const l of this.listeners) l(s);
  }
}
