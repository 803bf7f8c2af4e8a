// The dropout experiments of the STLM dropout report (Hillier, Guertler, Cheng, Tan
// 2024, arXiv 2409.05423) at the lab's scale: two regimes (a model that overfits a
// small slice of text read for many epochs, and one that underfits a whole corpus
// read less than once) and the dropout schedules of lib/train/dropout.ts against no
// dropout at an equal step budget; plus the mechanism Liu et al. 2023 ("Dropout
// Reduces Underfitting") proposed: dropout early in training lowers the variance of
// mini-batch gradient directions and aligns them with the whole-data gradient.
//
// scripts/dropout-sweep.ts runs these in Node for the dropout page's precomputed
// figures; the page runs one arm against another live, through the same code.
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { presetConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { BatchSampler } from "../text/data.js";
import { bitsPerByte } from "../eval/eval.js";
import { TinyLM } from "../models/model.js";
import { Rng } from "../rng.js";
import { Trainer, type BatchSource, type TrainableModel, type TrainEvent } from "../train/trainer.js";
import type { InterruptCheck } from "../train/interrupt.js";
import { dropoutAt, parseDropoutSchedule, type DropoutSite } from "../train/dropout.js";

export type DropoutRegime = "overfit" | "underfit";

export interface RegimeSpec {
  id: DropoutRegime;
  label: string;
  /** How many bytes of the training split are read (null: all of it). */
  trainBytes: number | null;
  what: string;
}

export const DROPOUT_REGIMES: Record<DropoutRegime, RegimeSpec> = {
  overfit: {
    id: "overfit",
    label: "overfitting: 4 KB read 50 times",
    trainBytes: 4 * 1024,
    what: "the first 4 KB of the austen training split, read 50 times over (200 steps of 16 × 64 bytes): training loss falls far below validation loss"
  },
  underfit: {
    id: "underfit",
    label: "underfitting: the whole corpus, read less than once",
    trainBytes: null,
    what: "the whole austen training split (about 3.6 MB), of which the run reads 205 KB: nearly every batch is new text"
  }
};

export interface DropoutArm {
  id: string;
  label: string;
  /** The model's base rate (constant, early and late use it). */
  rate: number;
  /** The schedule text (lib/train/dropout.ts), given the run's steps. */
  schedule: (steps: number) => string;
}

/** Every schedule peaks at 0.2 or holds 0.1, so their average rates are comparable (0.1 for constant, linear and triangle). */
export const DROPOUT_ARMS: readonly DropoutArm[] = [
  { id: "none", label: "no dropout", rate: 0, schedule: () => "constant" },
  { id: "constant", label: "constant 0.1", rate: 0.1, schedule: () => "constant" },
  { id: "increase", label: "linear 0 → 0.2", rate: 0, schedule: () => "linear:0:0.2" },
  { id: "decrease", label: "linear 0.2 → 0", rate: 0, schedule: () => "linear:0.2:0" },
  { id: "triangle", label: "triangle 0 → 0.2 → 0", rate: 0, schedule: () => "triangle:0:0.2" },
  { id: "early", label: "early: 0.1 for the first quarter", rate: 0.1, schedule: (n) => `early:${Math.round(n / 4)}` },
  { id: "late", label: "late: 0.1 from mid-run", rate: 0.1, schedule: (n) => `late:${Math.round(n / 2)}` }
];

export function dropoutArm(id: string): DropoutArm {
  const arm = DROPOUT_ARMS.find((a) => a.id === id);
  if (!arm) throw new Error(`unknown dropout arm "${id}"; the arms are ${DROPOUT_ARMS.map((a) => a.id).join(", ")}`);
  return arm;
}

/** The nano byte model (context 64, so a sweep fits in minutes) with dropout at the STLM placement (embeddings, attention probabilities, attention output). */
export const DROPOUT_SITES_STLM: DropoutSite[] = ["embed", "attn-probs", "attn-out"];

export const DROPOUT_TRAIN: Partial<TrainConfig> = {
  batchSize: 16,
  steps: 200,
  learningRate: 3e-3,
  warmupSteps: 20,
  evalEvery: 25,
  evalBytes: 8192
};

export function dropoutRunConfig(arm: DropoutArm, seed: number, overrides: Partial<TrainConfig> = {}): { model: ModelConfig; train: TrainConfig } {
  const base = presetConfig("nano", { model: { blockSize: 64, dropout: arm.rate, dropoutSites: DROPOUT_SITES_STLM }, train: { ...DROPOUT_TRAIN, seed, ...overrides } });
  const steps = base.train.steps;
  return { model: base.model, train: validateTrainConfig({ ...base.train, dropoutSchedule: arm.schedule(steps) }) };
}

/** The bytes a regime trains on. */
export function regimeTrainBytes(regime: DropoutRegime, train: Uint8Array): Uint8Array {
  const n = DROPOUT_REGIMES[regime].trainBytes;
  return n === null ? train : train.subarray(0, Math.min(n, train.length));
}

/** Where the sweep measures gradient directions: densely while early dropout is on (the first quarter), then every 50 steps. */
export const GRADIENT_STEPS: readonly number[] = [0, 10, 20, 30, 40, 75, 125, 175];

export interface GradientStats {
  step: number;
  /** Mean cosine between each mini-batch gradient and the mean gradient over many batches (Liu et al.'s alignment; 1 = aligned). */
  cosToFull: number;
  /** Mean pairwise cosine distance (1 − cos) between mini-batch gradients (Liu et al.'s gradient direction variance). */
  directionVariance: number;
  /** The dropout rate the mini-batch gradients were taken with. */
  dropout: number;
}

/**
 * Gradient directions at the model's current weights: `batches` mini-batch
 * gradients taken with dropout at `dropout` (as training takes them), and the
 * reference gradient, the mean of `fullBatches` gradients without dropout. Draws
 * from its own Rng (seeded by `seed`), so measuring never changes the run.
 */
export function gradientStats(
  model: TrainableModel,
  data: BatchSource,
  { batchSize, batches = 6, fullBatches = 12, dropout, seed, step }: { batchSize: number; batches?: number; fullBatches?: number; dropout: number; seed: number; step: number }
): GradientStats {
  const rng = new Rng(seed);
  const dataRng = rng.fork();
  const maskRng = rng.fork();
  const T = model.blockSize;
  const vars = model.params.map((p) => p.variable);
  const flatGrad = (training: boolean): Float32Array => {
    const b = data.sample(dataRng, batchSize, T);
    const flat = tf.tidy(() => {
      const x = tf.tensor2d(b.x, [batchSize, T], "int32");
      const y = tf.tensor2d(b.y, [batchSize, T], "int32");
      const { grads } = tf.variableGrads(() => model.loss(x, y, { training, rng: maskRng, dropout: training ? dropout : 0 }), vars);
      return tf.concat(vars.map((v) => tf.reshape(grads[v.name] as Tensor, [-1])));
    });
    const out = flat.dataSync() as Float32Array;
    flat.dispose();
    return out;
  };
  const full = new Float64Array(vars.reduce((n, v) => n + v.size, 0));
  for (let i = 0; i < fullBatches; i++) {
    const g = flatGrad(false);
    for (let j = 0; j < g.length; j++) full[j] += g[j] / fullBatches;
  }
  const mini = Array.from({ length: batches }, () => flatGrad(dropout > 0));
  const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = 0; j < a.length; j++) {
      ab += a[j] * b[j];
      aa += a[j] * a[j];
      bb += b[j] * b[j];
    }
    return ab / Math.sqrt(aa * bb);
  };
  let toFull = 0;
  for (const g of mini) toFull += cos(g, full) / mini.length;
  let pair = 0;
  let pairs = 0;
  for (let i = 0; i < mini.length; i++) {
    for (let j = i + 1; j < mini.length; j++) {
      pair += 1 - cos(mini[i], mini[j]);
      pairs++;
    }
  }
  return { step, cosToFull: toFull, directionVariance: pair / pairs, dropout };
}

export interface DropoutRunResult {
  regime: DropoutRegime;
  arm: string;
  seed: number;
  steps: number;
  parameters: number;
  /** Per evaluation: training-text and validation bits/byte (both without dropout), and the rate in use. */
  curve: { step: number; trainBitsPerByte: number; valBitsPerByte: number; dropout: number }[];
  /** Per logged step: the training loss (nats, with that step's dropout) and the rate. */
  losses: { step: number; loss: number; dropout: number }[];
  final: { trainBitsPerByte: number; valBitsPerByte: number; gap: number };
  gradients: GradientStats[];
  trainingSeconds: number;
}

/**
 * Trains one arm in one regime, measuring gradient directions at the steps of `gradAt`. Events are passed to `onEvent` (a page's
 * chart, a progress line). The model is disposed before returning.
 */
export async function runDropoutArm(options: {
  regime: DropoutRegime;
  arm: DropoutArm;
  seed: number;
  train: Uint8Array;
  val: Uint8Array;
  overrides?: Partial<TrainConfig>;
  /** Steps at which to measure gradient directions (before that step is trained); none by default. */
  gradAt?: readonly number[];
  onEvent?: (e: TrainEvent) => void;
  /** Hand back the trainer while it runs (a page's Stop button). */
  onTrainer?: (t: Trainer) => void;
  /** Asked between the kernels of each step, and of each evaluation (lib/train/interrupt.ts; a page's Stop). */
  interrupt?: InterruptCheck;
  /** Each evaluation's training-text bits/byte, as it is measured. */
  onPoint?: (p: { step: number; name: string; value: number }) => void;
}): Promise<DropoutRunResult> {
  const { regime, arm, seed, val } = options;
  const gradAt = new Set(options.gradAt ?? []);
  const { model: mc, train } = dropoutRunConfig(arm, seed, options.overrides);
  const bytes = regimeTrainBytes(regime, options.train);
  const model = TinyLM.create(mc, seed);
  const parameters = model.parameterCount();
  const data = new BatchSampler(bytes);
  const schedule = parseDropoutSchedule(train.dropoutSchedule, mc.dropout, train.steps);
  // The training text's bits/byte is read from a fixed sample of it, without dropout.
  const trainSample = bytes.subarray(0, Math.min(train.evalBytes, bytes.length));
  const curve: DropoutRunResult["curve"] = [];
  const losses: DropoutRunResult["losses"] = [];
  const gradients: GradientStats[] = [];
  let trainingMs = 0;
  const measure = (step: number) => {
    if (gradAt.has(step)) gradients.push(gradientStats(model, data, { batchSize: train.batchSize, dropout: dropoutAt(step, schedule), seed: seed * 1000 + step, step }));
  };
  const trainer = new Trainer({
    model,
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    data,
    train,
    evaluate: async () => {
      const v = await bitsPerByte(model, val, { maxBytes: train.evalBytes });
      const t = await bitsPerByte(model, trainSample);
      curve.push({ step: trainer.step, trainBitsPerByte: t, valBitsPerByte: v, dropout: dropoutAt(Math.max(0, trainer.step - 1), schedule) });
      options.onPoint?.({ step: trainer.step, name: "train", value: t });
      return v;
    }
  });
  options.onTrainer?.(trainer);
  try {
    measure(0);
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        losses.push({ step: e.step, loss: e.loss, dropout: e.dropout });
        trainingMs = e.elapsedMs;
        if (e.step < train.steps) measure(e.step);
      }
      options.onEvent?.(e);
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  const last = curve[curve.length - 1];
  return {
    regime,
    arm: arm.id,
    seed,
    steps: train.steps,
    parameters,
    curve,
    losses,
    final: last ? { trainBitsPerByte: last.trainBitsPerByte, valBitsPerByte: last.valBitsPerByte, gap: last.valBitsPerByte - last.trainBitsPerByte } : { trainBitsPerByte: NaN, valBitsPerByte: NaN, gap: NaN },
    gradients,
    trainingSeconds: trainingMs / 1000
  };
}
