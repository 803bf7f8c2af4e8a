// The objectives comparison: next-byte vs multi-byte (mtp:2, mtp:4) vs next-token
// masked prediction, on the plain byte presets, scored on head 1. The script
// scripts/objectives-runs.ts and the objectives page's live A/B train through here.
import { presetConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { createModel, type BytesSpec, type LabModel } from "../models/models.js";
import { objectiveLabel, ObjectiveLM, type Objective } from "../models/objectives.js";
import { BatchSampler } from "../text/data.js";
import { bitsPerByte } from "../eval/eval.js";
import { Trainer, type TrainEvent } from "../train/trainer.js";
import type { InterruptCheck } from "../train/interrupt.js";
import { tf } from "../tf.js";
import type { Tensor2D } from "@tensorflow/tfjs";

export interface ObjectiveArm {
  id: string;
  label: string;
  objective?: Objective;
}

export const OBJECTIVE_ARMS: readonly ObjectiveArm[] = [
  { id: "next", label: "next-byte" },
  { id: "mtp2", label: "mtp:2", objective: { kind: "mtp", heads: 2, headType: "layer" } },
  { id: "mtp4", label: "mtp:4", objective: { kind: "mtp", heads: 4, headType: "layer" } },
  { id: "mntp", label: "mntp:0.15", objective: { kind: "mntp", rate: 0.15, weight: 1 } }
];

/** The byte model's spec for a preset (nano, micro) and an objective. */
export function objectiveSpec(preset: string, objective: Objective | undefined, model: Partial<ModelConfig> = {}): BytesSpec {
  const { model: m } = presetConfig(preset, { model });
  return objective ? { kind: "bytes", model: m, objective } : { kind: "bytes", model: m };
}

/** Training settings of the comparison: the preset's, with a short run's warmup. */
export function objectiveTrain(preset: string, train: Partial<TrainConfig>): TrainConfig {
  const steps = train.steps ?? 150;
  return presetConfig(preset, { train: { warmupSteps: Math.max(1, Math.round(steps / 10)), evalEvery: 0, evalBytes: 16384, ...train } }).train;
}

/**
 * Each head's mean cross-entropy in bits on windows of `bytes` (head 1: the
 * next-byte head, i.e. the model's validation loss on its own targets; head k:
 * byte t+k). A plain model has one head.
 */
export async function headBits(model: LabModel, bytes: Uint8Array, maxBytes = 8192): Promise<number[]> {
  const T = model.blockSize;
  const text = bytes.subarray(0, Math.min(bytes.length, maxBytes));
  const rows = Math.floor((text.length - 1) / T);
  if (rows < 1) throw new RangeError(`headBits needs more than ${T} bytes`);
  const x = new Int32Array(rows * T);
  const y = new Int32Array(rows * T);
  for (let r = 0; r < rows; r++) for (let t = 0; t < T; t++) {
    x[r * T + t] = text[r * T + t];
    y[r * T + t] = text[r * T + t + 1];
  }
  const losses = tf.tidy(() => {
    const xt = tf.tensor2d(x, [rows, T], "int32") as Tensor2D;
    const yt = tf.tensor2d(y, [rows, T], "int32") as Tensor2D;
    return model instanceof ObjectiveLM ? tf.stack(model.headLosses(xt, yt)) : tf.reshape(model.loss(xt, yt, { training: false }), [1]);
  });
  const values = Array.from((await losses.data()) as Float32Array).map((v) => v / Math.LN2);
  losses.dispose();
  return values;
}

/** One arm's model and trainer on a corpus: training batches, validation bits/byte of head 1 at each evaluation. */
/** `interrupt`: asked between the kernels of each step (lib/train/interrupt.ts; a page's Stop). */
export function objectiveRun(spec: BytesSpec, train: TrainConfig, corpus: { train: Uint8Array; val: Uint8Array }, interrupt?: InterruptCheck): { model: LabModel; trainer: Trainer; label: string } {
  const model = createModel(spec, train.seed);
  const trainer = new Trainer({ model, data: new BatchSampler(corpus.train), train, evaluate: () => bitsPerByte(model.byteScorer, corpus.val, { maxBytes: train.evalBytes }), ...(interrupt ? { interrupt } : {}) });
  return { model, trainer, label: objectiveLabel(spec.objective) };
}

export type { TrainEvent };

/** One stored run of the comparison (scripts/objectives-runs.ts). */
export interface ObjectiveRunRecord {
  size: string;
  arm: string;
  seed: number;
  budget: "steps" | "time";
  steps: number;
  parameters: number;
  trainingSeconds: number;
  /** Wall-clock ms a step. */
  wallMsPerStep: number;
  /** Processor ms a step (what the equal-time budgets were planned from). */
  msPerStep: number;
  valBitsPerByte: number;
  headBits: number[];
  minimalPairs: number;
  finalLoss: number;
}

export interface ObjectiveSummary {
  size: string;
  arm: string;
  budget: "steps" | "time";
  seeds: number;
  steps: number;
  parameters: number;
  msPerStep: number;
  bpb: { mean: number; min: number; max: number };
  pairs: { mean: number; min: number; max: number };
  /** Mean over seeds of each head's cross-entropy in bits. */
  headBits: number[];
  /** Lowest and highest seed of each head's cross-entropy in bits. */
  headRange: { min: number; max: number }[];
  /** This arm's mean bits/byte minus next-byte's, at the same size and budget (negative: better). */
  vsNext: number;
}

const stats = (xs: number[]) => ({ mean: xs.reduce((a, b) => a + b, 0) / xs.length, min: Math.min(...xs), max: Math.max(...xs) });

/** Mean and min-max over seeds for each size x arm x budget, with the difference to next-byte. */
export function summarizeObjectiveRuns(runs: readonly ObjectiveRunRecord[]): ObjectiveSummary[] {
  const groups = new Map<string, ObjectiveRunRecord[]>();
  for (const r of runs) {
    const k = `${r.size}|${r.arm}|${r.budget}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: ObjectiveSummary[] = [];
  for (const rs of groups.values()) {
    const { size, arm, budget } = rs[0];
    const headStats = rs[0].headBits.map((_, h) => stats(rs.map((r) => r.headBits[h])));
    out.push({
      size, arm, budget, seeds: rs.length, steps: rs[0].steps, parameters: rs[0].parameters, msPerStep: stats(rs.map((r) => r.msPerStep)).mean,
      bpb: stats(rs.map((r) => r.valBitsPerByte)), pairs: stats(rs.map((r) => r.minimalPairs)), headBits: headStats.map((x) => x.mean), headRange: headStats.map(({ min, max }) => ({ min, max })), vsNext: NaN
    });
  }
  // next-byte is its own equal-time arm: the time budget is its training time.
  for (const s of out.filter((x) => x.arm === "next" && x.budget === "steps")) if (!out.some((x) => x.arm === "next" && x.size === s.size && x.budget === "time")) out.push({ ...s, budget: "time" });
  for (const s of out) {
    const next = out.find((x) => x.arm === "next" && x.size === s.size && x.budget === s.budget);
    s.vsNext = next ? s.bpb.mean - next.bpb.mean : NaN;
  }
  const order = (s: ObjectiveSummary) => [s.size === "nano" ? 0 : 1, s.budget === "steps" ? 0 : 1, OBJECTIVE_ARMS.findIndex((a) => a.id === s.arm)];
  return out.sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
}

/**
 * Bits per byte of the training text's byte frequencies (add-half smoothed) on the
 * first `maxBytes` of `bytes`: what a model that ignores its context scores, the
 * plateau every byte model passes through early in training. Same bytes as headBits.
 */
export function unigramBits(train: Uint8Array, bytes: Uint8Array, maxBytes = 8192): number {
  const counts = new Float64Array(256).fill(0.5);
  for (const b of train) counts[b]++;
  const total = counts.reduce((a, b) => a + b, 0);
  const text = bytes.subarray(0, Math.min(bytes.length, maxBytes));
  let bits = 0;
  for (const b of text) bits -= Math.log2(counts[b] / total);
  return bits / text.length;
}
