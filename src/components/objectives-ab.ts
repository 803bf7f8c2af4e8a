// The objectives page's live A/B run: next-byte training against another objective
// on the nano preset, one step of each in turn on the same batches, validation
// bits/byte of head 1 on the same held-out bytes. Owns both models and trainers;
// plain snapshots out, everything freed when stopped, replaced or disposed.
import type { Corpus } from "../lib/text/data.js";
import type { LabModel, ModelSpec } from "../lib/models/models.js";
import type { TrainConfig } from "../lib/config.js";
import { dataIdentity } from "../lib/runs/build.js";
import type { RunDataIdentity } from "../lib/runs/record.js";
import type { Trainer } from "../lib/train/trainer.js";
import type { InterruptCheck } from "../lib/train/interrupt.js";
import { OBJECTIVE_ARMS, objectiveRun, objectiveSpec, objectiveTrain } from "../lib/experiments/objectives.js";
import { estimateProgress, type RunProgress } from "./progress.js";

export type ObjectivesABStatus = "idle" | "preparing" | "running" | "done" | "stopped" | "error";

export interface ObjectivesArmSnapshot {
  label: string;
  parameters: number;
  steps: { step: number; loss: number }[];
  evals: { step: number; valBitsPerByte: number }[];
  msPerStep: number;
  /** The arm's model (for its run record). */
  spec?: ModelSpec;
}

/** What the arms' run records need beyond their curves (live-record.ts). */
export interface ObjectivesFacts {
  train: TrainConfig;
  data: RunDataIdentity;
  startedAt: string;
}

export interface ObjectivesABSnapshot {
  status: ObjectivesABStatus;
  message?: string;
  arm?: string;
  totalSteps?: number;
  arms: ObjectivesArmSnapshot[];
  /** Steps of the slower arm, time so far and left (status "running"). */
  progress?: RunProgress;
  facts?: ObjectivesFacts;
}

export interface ObjectivesABRequest {
  /** The objective set against next-byte: an id of OBJECTIVE_ARMS other than "next". */
  arm: string;
  steps: number;
  seed?: number;
  loadCorpus: () => Promise<Pick<Corpus, "train" | "val">>;
  /** The corpus's name, for the run records. */
  dataName?: string;
}

const NOTIFY_INTERVAL_MS = 200;

export class ObjectivesAB {
  private snapshot: ObjectivesABSnapshot = { status: "idle", arms: [] };
  private listeners = new Set<(s: ObjectivesABSnapshot) => void>();
  private models: LabModel[] = [];
  private trainers: Trainer[] = [];
  private running: Promise<void> | null = null;
  private lastNotify = 0;
  private disposed = false;
  private facts: ObjectivesFacts | undefined;

  /** `interrupt`: asked between the kernels of both arms' steps and evaluations (lib/train/interrupt.ts): the page's Stop, at once. */
  constructor(private readonly interrupt?: InterruptCheck) {}

  subscribe(listener: (s: ObjectivesABSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  async start(request: ObjectivesABRequest): Promise<void> {
    await this.stopAndWait();
    if (this.disposed) return;
    this.running = this.train(request);
    return this.running;
  }

  stop(): void {
    for (const t of this.trainers) t.stop();
  }

  /** Stops a run under way and resolves once it has ended. */
  async stopAndWait(): Promise<void> {
    this.stop();
    await this.running?.catch(() => undefined);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stop();
    const free = () => this.release();
    if (this.running) this.running.then(free, free);
    else free();
    this.listeners.clear();
  }

  private release(): void {
    for (const t of this.trainers) t.dispose();
    for (const m of this.models) m.dispose();
    this.trainers = [];
    this.models = [];
  }

  private async train({ arm, steps, seed = 1, loadCorpus, dataName = "corpus" }: ObjectivesABRequest): Promise<void> {
    this.facts = undefined;
    const other = OBJECTIVE_ARMS.find((a) => a.id === arm && a.id !== "next");
    if (!other) {
      this.publish({ status: "error", message: `no objective "${arm}" to compare; choose one of ${OBJECTIVE_ARMS.filter((a) => a.id !== "next").map((a) => a.label).join(", ")}`, arms: [] }, true);
      return;
    }
    this.publish({ status: "preparing", arm, totalSteps: steps, arms: [] }, true);
    const arms: ObjectivesArmSnapshot[] = [];
    try {
      const corpus = await loadCorpus();
      this.release();
      if (this.disposed) return;
      const train = objectiveTrain("nano", { steps, seed, evalEvery: Math.max(5, Math.round(steps / 4)), evalBytes: 4096 });
      for (const a of [OBJECTIVE_ARMS[0], other]) {
        const spec = objectiveSpec("nano", a.objective);
        const { model, trainer } = objectiveRun(spec, train, corpus, this.interrupt);
        this.models.push(model);
        this.trainers.push(trainer);
        arms.push({ label: a.label, parameters: model.parameterCount(), steps: [], evals: [], msPerStep: 0, spec });
      }
      this.facts = { train, data: dataIdentity(dataName, corpus), startedAt: new Date().toISOString() };
    } catch (e) {
      this.publish({ status: "error", message: (e as Error).message, arm, arms: [] }, true);
      return;
    }
    const copy = () => arms.map((a) => ({ ...a, steps: a.steps.slice(), evals: a.evals.slice() }));
    const started = performance.now();
    const progress = () => estimateProgress(Math.min(...arms.map((a) => a.steps.at(-1)?.step ?? 0)), steps, performance.now() - started);
    this.publish({ status: "running", arm, totalSteps: steps, arms: copy(), progress: progress() }, true);
    const runs = this.trainers.map((t) => t.run());
    const live = runs.map(() => true);
    let stopped = false;
    try {
      while (live.some(Boolean)) {
        for (let i = 0; i < runs.length; i++) {
          if (!live[i]) continue;
          for (;;) {
            const next = await runs[i].next();
            if (next.done) {
              live[i] = false;
              break;
            }
            const e = next.value;
            if (e.kind === "step") {
              arms[i].steps.push({ step: e.step, loss: e.loss });
              arms[i].msPerStep = e.elapsedMs / e.step;
            } else if (e.kind === "eval") arms[i].evals.push({ step: e.step, valBitsPerByte: e.valBitsPerByte });
            else if (e.kind === "done") stopped ||= e.stopped;
            this.publish({ status: "running", arm, totalSteps: steps, arms: copy(), progress: progress() }, e.kind === "eval");
            if (e.kind === "step" || e.kind === "done") break;
          }
        }
        if (this.disposed) break;
      }
      this.publish({ status: stopped ? "stopped" : "done", arm, totalSteps: steps, arms: copy() }, true);
    } catch (e) {
      this.publish({ status: "error", message: (e as Error).message, arm, totalSteps: steps, arms: copy() }, true);
    } finally {
      await Promise.all(runs.map((r) => r.return(undefined)));
    }
  }

  private publish(s: ObjectivesABSnapshot, force = false): void {
    if (this.facts && s.status !== "preparing") s = { ...s, facts: this.facts };
    this.snapshot = s;
    const now = Date.now();
    if (!force && now - this.lastNotify < NOTIFY_INTERVAL_MS) return;
    this.lastNotify = now;
    for (const l of this.listeners) l(s);
  }
}
