// "Re-run and check" in the training worker: trains a figure's run again from its
// run record (the model spec, the whole training config and seed, the corpus by
// name) exactly as `stlm train` trains it — the model from the registry, its batches,
// the Trainer over the record's own schedule (lib/runs/rerun.ts, which the Node tests
// use too) — and streams the loss of every step, stopping after the prefix asked for.
// A figure whose run read part of the training split, or learned from a teacher,
// says so in its setup (the teacher's checkpoint comes with the request). The page
// (recheck.ts) compares the stream with the figure's losses (lib/runs/agreement.ts).
// Runs only in the worker.
import type { TrainConfig } from "../lib/config.js";
import type { LabModel, ModelSpec } from "../lib/models/models.js";
import type { RunStepRow } from "../lib/runs/record.js";
import { rerunTrainer, type Rerun, type RerunSetup } from "../lib/runs/rerun.js";
import { decodeCheckpoint, labModelFromCheckpoint } from "../lib/train/checkpoint.js";
import { sha256 } from "../lib/train/sha256.js";
import type { Trainer } from "../lib/train/trainer.js";
import { tf } from "../lib/tf.js";
import type { CorpusSource } from "./lab-protocol.js";
import { corpusOf, type Engine } from "./lab-engines.js";

export interface RecheckRequest {
  spec: ModelSpec;
  /** The figure's own training config: its step total plans the schedule, whatever prefix is checked. */
  train: TrainConfig;
  corpus: CorpusSource;
  /** Train this many steps (a prefix of the figure's run), then stop. */
  steps: number;
  /** What else the figure's run trained on (a part of the training split, a teacher). */
  setup?: RerunSetup;
  /** The teacher's checkpoint bytes, when setup.distill names one (kept by the engine for the next check). */
  teacher?: { name: string; bytes: ArrayBuffer };
}

export interface RecheckSnapshot {
  status: "idle" | "preparing" | "running" | "done" | "stopped" | "error";
  message?: string;
  /** The steps asked for. */
  target: number;
  steps: RunStepRow[];
  /** The backend that trained, and the data read (SHA-256 of training + validation bytes, as run records hash them). */
  backend?: string;
  data?: { sha256: string; bytes: number };
  /** Tensors alive before the run and after it was freed (the leak check). */
  tensors?: { before: number; after?: number };
}

const NOTIFY_MS = 150;

export function recheckEngine(): Engine {
  let snapshot: RecheckSnapshot = { status: "idle", target: 0, steps: [] };
  const listeners = new Set<(s: unknown) => void>();
  let trainer: Trainer | null = null;
  // The teacher of a distilled figure, loaded once and kept until the engine is disposed.
  let teacher: { name: string; model: LabModel } | null = null;
  let stopped = false;
  let lastNotify = 0;
  const update = (next: RecheckSnapshot, now = false) => {
    snapshot = next;
    if (!now && performance.now() - lastNotify < NOTIFY_MS) return;
    lastNotify = performance.now();
    const copy = { ...snapshot, steps: snapshot.steps.slice() };
    for (const l of listeners) l(copy);
  };
  let running: Promise<void> = Promise.resolve();

  const run = async (r: RecheckRequest) => {
    stopped = false;
    update({ status: "preparing", target: r.steps, steps: [] }, true);
    let before = tf.memory().numTensors;
    let rerun: Rerun | null = null;
    try {
      if (!(Number.isInteger(r.steps) && r.steps >= 1 && r.steps <= r.train.steps)) {
        throw new Error(`check between 1 and the run's ${r.train.steps} steps (got ${r.steps})`);
      }
      const corpus = await corpusOf(r.corpus);
      if (stopped) return update({ ...snapshot, status: "stopped" }, true);
      const wanted = r.setup?.distill?.teacher;
      if (wanted && teacher?.name !== wanted) {
        if (!r.teacher || r.teacher.name !== wanted) throw new Error(`the figure's run learned from the teacher ${wanted}, which the page did not send`);
        teacher?.model.dispose();
        teacher = null;
        teacher = { name: wanted, model: labModelFromCheckpoint(decodeCheckpoint(new Uint8Array(r.teacher.bytes), wanted)) };
        // The teacher stays loaded for the next check: count from here.
        before = tf.memory().numTensors;
      }
      // Every step's loss is read back (on a GPU backend too, where the Trainer would otherwise read every 8th).
      rerun = rerunTrainer({ record: r, setup: r.setup }, corpus.train, wanted ? teacher!.model : null);
      trainer = rerun.trainer;
      const data = { sha256: sha256([rerun.trainBytes, corpus.val]), bytes: rerun.trainBytes.length + corpus.val.length };
      update({ ...snapshot, status: "running", backend: tf.getBackend(), data, tensors: { before } }, true);
      for await (const ev of trainer.run()) {
        if (ev.kind !== "step") continue;
        snapshot.steps.push({ step: ev.step, loss: ev.loss });
        update({ ...snapshot });
        if (ev.step >= r.steps || stopped) break;
      }
      update({ ...snapshot, status: snapshot.steps.length >= r.steps ? "done" : "stopped" });
    } catch (e) {
      update({ ...snapshot, status: "error", message: (e as Error).message });
    } finally {
      rerun?.dispose();
      trainer = null;
      update({ ...snapshot, tensors: { before, after: tf.memory().numTensors } }, true);
    }
  };

  return {
    subscribe: (l) => {
      listeners.add(l);
      l({ ...snapshot, steps: snapshot.steps.slice() });
      return () => listeners.delete(l);
    },
    start: (request) => {
      // A new check waits for the one before it to end (each owns a model while it runs).
      stopped = true;
      trainer?.stop();
      running = running.then(() => run(request as RecheckRequest));
      return running;
    },
    stop: () => {
      stopped = true;
      trainer?.stop();
    },
    dispose: async () => {
      stopped = true;
      trainer?.stop();
      await running;
      teacher?.model.dispose();
      teacher = null;
      listeners.clear();
    }
  };
}
