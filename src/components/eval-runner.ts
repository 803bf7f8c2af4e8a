// Where an evaluation runs, behind one interface, so the evaluation card does not
// know: it asks an EvalRunner for a report of a subset and gets progress and the
// report back, and can cancel.
//
// TEMPORARY: mainThreadRunner scores on the page's own thread, in batches with a
// yield to the event loop after each (clicks and repaints get in between; one
// batch of a nano model is tens of milliseconds). It is to be replaced by the
// Web Worker's `evaluate` command once that worker lands on main.
import { Evaluator, type EvalData, type EvalProgress, type EvalReport, type EvalSize } from "../lib/eval/evaluation.js";
import type { ScoringModel } from "../lib/eval/eval.js";
import { tf } from "../lib/tf.js";

export interface EvalRunner {
  /** Which model this is, in words ("precomputed nano on austen", a file name). */
  readonly label: string;
  /** The corpus the model was trained on, when known (the floors are counted on the same one). */
  readonly trainCorpus?: string;
  /** Tensors alive where the model runs (tf.memory().numTensors), for the leak check. */
  tensors?(): number;
  evaluate(size: EvalSize, options: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal }): Promise<EvalReport>;
  dispose(): void;
}

const yieldToPage = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Evaluates `model` on the page's thread (temporary, see above); dispose() disposes the model too when `owned`. */
export function mainThreadRunner(
  model: ScoringModel & { dispose?: () => void },
  data: EvalData,
  { label, trainCorpus, owned = true }: { label: string; trainCorpus?: string; owned?: boolean }
): EvalRunner {
  const evaluator = new Evaluator(model, data);
  let busy: Promise<unknown> = Promise.resolve();
  let disposed = false;
  return {
    label,
    trainCorpus,
    tensors: () => tf.memory().numTensors,
    evaluate(size, { onProgress, signal } = {}) {
      if (disposed) return Promise.reject(new Error("This model was closed; choose it again to evaluate it."));
      // One evaluation at a time: a second waits for the first (the Evaluator's cache is shared).
      const run = busy.catch(() => undefined).then(() => evaluator.evaluate(size, { onProgress, signal, afterBatch: yieldToPage }));
      busy = run;
      return run;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      if (owned) void busy.catch(() => undefined).then(() => model.dispose?.());
    }
  };
}

/**
 * Calls notify with what an evaluation card on the training page needs to know
 * about the run's model: its version (new weights) and whether it is training
 * (a model is not evaluated while its weights change). Only when either changes.
 */
export function observeEvalTarget(
  run: { subscribe(listener: (s: { modelVersion: number; status: string; label: string }) => void): () => void },
  notify: (target: { version: number; training: boolean; label: string; status: string }) => void
): () => void {
  let key: string | undefined;
  return run.subscribe((s) => {
    const training = s.status === "running" || s.status === "preparing" || s.status === "paused";
    const next = `${s.modelVersion}|${training}|${s.label}`;
    if (next === key) return;
    key = next;
    notify({ version: s.modelVersion, training, label: s.label, status: s.status });
  });
}
