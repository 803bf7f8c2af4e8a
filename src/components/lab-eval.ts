// Evaluation in the training worker (lib/eval/evaluation.ts behind the `evaluate`
// command of lab-protocol.ts): the evaluation data arrive once per job and stay; one
// Evaluator per model, so a larger subset scores only what is new, and a new model
// (another checkpoint, new weights) starts afresh. Runs only in the worker.
import { Evaluator, type EvalData, type EvalRunOptions, type EvalSize } from "../lib/eval/evaluation.js";
import type { ScoringModel } from "../lib/eval/eval.js";
import type { LabModel } from "../lib/models/models.js";
import { decodeCheckpoint, labModelFromCheckpoint } from "../lib/train/checkpoint.js";
import { tf } from "../lib/tf.js";
import type { EvalReply } from "./lab-protocol.js";
import type { BusyWith, Engine } from "./lab-engines.js";
import { interruptibleWork, type InterruptCheck, type InterruptFlag } from "../lib/train/interrupt.js";

/** Between batches the worker yields to its event loop, so a cancelEvaluate message is read. */
const yieldToMessages = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export class Evaluations {
  private data: EvalData | null = null;
  private current: { key: unknown; model: ScoringModel; evaluator: Evaluator } | null = null;

  /**
   * `interrupt`: the job's flag, asked before every kernel of an evaluation, so the
   * page's Cancel (which sets it to "stop") ends the batch under way at once rather
   * than after it; what earlier stages scored is kept, as with a cancel between batches.
   */
  constructor(private readonly interrupt?: InterruptCheck) {}

  /**
   * Evaluates the model `target()` names (`key` says whether it is the model scored
   * before); `data` is needed on the first call of a job.
   */
  async evaluate(target: () => { model: ScoringModel; key: unknown }, size: EvalSize, data: EvalData | undefined, options: Omit<EvalRunOptions, "afterBatch">): Promise<EvalReply> {
    if (data) this.data = data;
    if (!this.data) throw new Error("the worker has no evaluation data for this run yet (the first evaluate command carries it)");
    const { model, key } = target();
    if (!this.current || this.current.key !== key || this.current.model !== model) this.current = { key, model, evaluator: new Evaluator(model, this.data) };
    const before = tf.memory().numTensors;
    const { evaluator } = this.current;
    const run = () => evaluator.evaluate(size, { ...options, afterBatch: yieldToMessages });
    const report = await (this.interrupt ? interruptibleWork(this.interrupt, run) : run());
    return { report, tensors: { before, after: tf.memory().numTensors } };
  }

  forget(): void {
    this.current = null;
  }
}

/** What the evaluation page's engine shows: the checkpoint it holds. */
export interface EvalEngineSnapshot {
  status: "empty" | "loaded" | "error";
  label: string;
  kind?: string;
  parameters?: number;
  /** The corpus the checkpoint says it was trained on, when it says. */
  trainCorpus?: string;
  message?: string;
}

/** The evaluation page's engine: one model of any kind, from a checkpoint, to evaluate. */
export function evalEngine(_options: Record<string, unknown> = {}, _busyWith?: BusyWith, interrupt?: InterruptFlag): Engine {
  let model: LabModel | null = null;
  let version = 0;
  let snapshot: EvalEngineSnapshot = { status: "empty", label: "" };
  const listeners = new Set<(s: unknown) => void>();
  const evaluations = new Evaluations(interrupt?.check);
  const publish = (s: EvalEngineSnapshot) => {
    snapshot = s;
    for (const l of listeners) l(s);
  };
  return {
    subscribe(l) {
      listeners.add(l);
      l(snapshot);
      return () => listeners.delete(l);
    },
    start: async () => {
      throw new Error("the evaluation engine does not train; load a checkpoint and evaluate it");
    },
    stop: () => undefined,
    dispose() {
      model?.dispose();
      model = null;
      evaluations.forget();
      listeners.clear();
    },
    async load(bytes, label) {
      try {
        const ckpt = decodeCheckpoint(bytes, label);
        const next = labModelFromCheckpoint(ckpt);
        model?.dispose();
        model = next;
        version++;
        evaluations.forget();
        const source = ckpt.meta.source as { corpus?: unknown } | undefined;
        publish({ status: "loaded", label, kind: ckpt.spec.kind, parameters: next.parameterCount(), ...(typeof source?.corpus === "string" ? { trainCorpus: source.corpus } : {}) });
        return true;
      } catch (e) {
        publish({ status: "error", label, message: e instanceof Error ? e.message : String(e) });
        throw e;
      }
    },
    evaluate: (size, data, options) =>
      evaluations.evaluate(
        () => {
          if (!model) throw new Error("no checkpoint is loaded to evaluate");
          return { model: model.byteScorer, key: version };
        },
        size,
        data,
        options
      )
  };
}
