// Where an evaluation runs, behind one interface, so the evaluation card does not
// know: it asks an EvalRunner for a subset's report and gets progress and the report
// back, and can cancel. The lab's runner is the training worker's `evaluate` command
// (lab-protocol.ts, lab-eval.ts): the model, tfjs and the scoring stay off the page's thread.
import type { EvalData, EvalProgress, EvalSize } from "../lib/eval/evaluation.js";
import type { EvalReply } from "./lab-protocol.js";

export interface EvalRunner {
  /** Which model this is, in words ("precomputed nano on austen", a file name). */
  readonly label: string;
  /** The corpus the model was trained on, when known (the floors are counted on the same one). */
  readonly trainCorpus?: string;
  /** The report for `size`, and the tensor count where the model runs before and after (the leak check). */
  evaluate(size: EvalSize, options: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal }): Promise<EvalReply>;
}

/** A run in the training worker (lab-client.ts's RemoteRun or RemoteEvaluation) as an EvalRunner. */
export function workerRunner(
  engine: { evaluate(size: EvalSize, data: EvalData, options: { onProgress?: (p: EvalProgress) => void; signal?: AbortSignal }): Promise<EvalReply> },
  data: EvalData,
  { label, trainCorpus }: { label: string; trainCorpus?: string }
): EvalRunner {
  return { label, trainCorpus, evaluate: (size, options) => engine.evaluate(size, data, options) };
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
    const next = `${s.modelVersion}|${training}|${s.label}|${s.status}`;
    if (next === key) return;
    key = next;
    notify({ version: s.modelVersion, training, label: s.label, status: s.status });
  });
}
