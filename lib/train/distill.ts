// Knowledge distillation: a small student learns from a frozen, larger teacher's
// next-byte distribution as well as from the text itself (Hinton, Vinyals & Dean
// 2015; the STLM series' distillation preregistration, Hillier, Guertler et al. 2024,
// which pairs forward / reverse KL and a temperature with a distillation weight that
// changes over training and label cross-entropy beside it).
//
//   loss = alpha(step) · T² · KL + (1 − alpha(step)) · CE(labels)
//
// forward KL(teacher ‖ student) = Σ p_T (log p_T − log p_S), the usual choice: the
//   student must cover everything the teacher thinks possible;
// reverse KL(student ‖ teacher) = Σ p_S (log p_S − log p_T): mode-seeking, the
//   student may drop what it cannot fit (Gu et al. 2024, MiniLLM).
// Both distributions are softmax(logits / T); T² keeps the KL term's gradient on the
// scale of the CE term's as T grows (Hinton et al.).
//
// The teacher is frozen: its logits come from a forward pass without dropout, its
// variables are not among the trained ones (tf.variableGrads differentiates the
// student's only), and it is never given to the optimizer.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { ConfigError } from "../config-error.js";
import type { Rng } from "../rng.js";
import type { NamedVariable } from "./optim.js";
import type { TrainableModel } from "./trainer.js";
import { TinyLM } from "../models/model.js";
import { LocalStackLM } from "../models/localstack.js";
import { ObjectiveLM } from "../models/objectives.js";
import type { LabModel } from "../models/models.js";
import { BYTE_VOCAB_SIZE } from "../text/tokenizer.js";

export type KdDirection = "forward" | "reverse";
export const KD_DIRECTIONS: readonly KdDirection[] = ["forward", "reverse"];

export interface DistillConfig {
  direction: KdDirection;
  temperature: number;
  /** alpha at the first step and at the last: linear between them (equal: constant). */
  weightFrom: number;
  weightTo: number;
}

export const DEFAULT_DISTILL: DistillConfig = { direction: "forward", temperature: 1, weightFrom: 0.5, weightTo: 0.5 };

export function validateDistillConfig(c: DistillConfig): DistillConfig {
  if (!KD_DIRECTIONS.includes(c.direction)) throw new ConfigError("kd", `must be "forward" (KL(teacher‖student)) or "reverse" (KL(student‖teacher)) (got ${JSON.stringify(c.direction)})`);
  if (!(Number.isFinite(c.temperature) && c.temperature > 0 && c.temperature <= 100)) throw new ConfigError("kdTemperature", `must be a number in (0, 100] (got ${JSON.stringify(c.temperature)})`);
  for (const k of ["weightFrom", "weightTo"] as const) {
    if (!(Number.isFinite(c[k]) && c[k] >= 0 && c[k] <= 1)) throw new ConfigError("kdWeight", `must be a weight in [0, 1], or two as A:B (got ${JSON.stringify(c[k])})`);
  }
  return c;
}

/** "0.8" (constant) or "0.8:1.0" (linear over the run) -> [from, to]. */
export function parseKdWeight(text: string): [number, number] {
  const parts = text.split(":");
  const nums = parts.map((p) => (p.trim() === "" ? NaN : Number(p)));
  if (parts.length > 2 || nums.some((x) => !Number.isFinite(x) || x < 0 || x > 1)) {
    throw new ConfigError("kdWeight", `"${text}" is not a weight: give one number in [0, 1] (e.g. 0.5) or two as A:B for a weight that moves linearly from A to B over the run (e.g. 0.8:1.0)`);
  }
  return [nums[0], nums[nums.length - 1]];
}

/** alpha at a 0-based step of a run of `steps` steps. */
export function kdWeightAt(step: number, c: DistillConfig, steps: number): number {
  const t = steps <= 1 ? 1 : Math.min(1, Math.max(0, step / (steps - 1)));
  return c.weightFrom + (c.weightTo - c.weightFrom) * t;
}

/**
 * The distillation loss over N positions of V symbols: student and teacher logits
 * [N, V], label targets [N]. Returns the total and its two terms (mean nats per
 * position), all owned by the caller. `alpha` weighs the KL term (multiplied by T²).
 */
export function distillationLoss(
  student: Tensor2D,
  teacher: Tensor2D,
  targets: Tensor1D,
  { direction, temperature: T, alpha }: { direction: KdDirection; temperature: number; alpha: number }
): { loss: Scalar; kl: Scalar; ce: Scalar } {
  return tf.tidy(() => {
    const t = teacher; // a constant here: only the student is differentiated (tf.variableGrads is given its variables alone)
    const logS = tf.logSoftmax(T === 1 ? student : tf.div(student, T));
    const logT = tf.logSoftmax(T === 1 ? t : tf.div(t, T));
    const [p, logP, logQ] = direction === "forward" ? [tf.exp(logT), logT, logS] : [tf.exp(logS), logS, logT];
    const kl = tf.mean(tf.sum(tf.mul(p, tf.sub(logP, logQ)), -1)) as Scalar;
    const lp = tf.logSoftmax(student);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(lp, tf.oneHot(targets, student.shape[1])), -1))) as Scalar;
    const loss = tf.add(tf.mul(kl, alpha * T * T), tf.mul(ce, 1 - alpha)) as Scalar;
    return { loss, kl, ce };
  });
}

/** Next-byte logits [B, T, 258] for ids [B, T], for the model kinds that predict every byte from the bytes before it. */
export type ByteLogits = (x: Tensor2D, options: { training: boolean; rng?: Rng; dropout?: number }) => Tensor3D;

/**
 * The model's next-byte logits at every position, or an explanation of why it has
 * none: the plain byte model and the local stack predict each byte from the bytes
 * before it; a stride/word/learned pooled model predicts whole chunks, and a
 * BPE-token model tokens, so their per-position byte distributions do not line up
 * with a byte student's positions.
 */
export function byteLogitsOf(model: LabModel, role: "teacher" | "student"): ByteLogits {
  if (model instanceof TinyLM) {
    if (model.config.vocabSize !== BYTE_VOCAB_SIZE) throw new ConfigError(role, `a ${role} must read bytes (vocabulary ${BYTE_VOCAB_SIZE}); this model has a vocabulary of ${model.config.vocabSize}`);
    return (x, o) => model.forward(x, o).logits;
  }
  if (model instanceof LocalStackLM) return (x, o) => model.forward(x, o).logits;
  if (model instanceof ObjectiveLM) {
    // A multi-byte or masked-prediction model teaches through head 1, its next-byte head; as a student its own objective would be ignored.
    if (role === "teacher") return (x) => model.forwardHeads(x, { training: false })[0];
    throw new ConfigError(role, `a model trained with an objective of its own (${model.spec.kind === "bytes" && model.spec.objective ? model.spec.objective.kind : "mtp/mntp"}) cannot be the student: distillation replaces its loss; train the plain byte model (no --objective)`);
  }
  throw new ConfigError(
    role,
    `a ${model.spec.kind} model cannot be a ${role} here: distillation needs a next-byte distribution at every byte position, which the plain byte model and the local-stack model give (presets nano, micro, local-*); a pooled or BPE-token model predicts chunks or tokens instead`
  );
}

/**
 * The student, trained on the distillation loss against a frozen teacher. It is a
 * TrainableModel like any other (lib/train/trainer.ts): its params are the
 * student's only; the teacher's forward pass runs inside the student's loss.
 */
export class DistilledStudent implements TrainableModel {
  readonly params: readonly NamedVariable[];
  readonly blockSize: number;
  readonly baseDropout?: number;
  private readonly studentLogits: ByteLogits;
  private readonly teacherLogits: ByteLogits;

  constructor(
    readonly student: LabModel,
    readonly teacher: LabModel,
    readonly config: DistillConfig,
    /** The run's length, over which alpha moves from weightFrom to weightTo. */
    readonly steps: number
  ) {
    validateDistillConfig(config);
    this.studentLogits = byteLogitsOf(student, "student");
    this.teacherLogits = byteLogitsOf(teacher, "teacher");
    if (teacher.blockSize < student.blockSize) {
      throw new ConfigError("teacher", `the teacher reads ${teacher.blockSize} bytes of context, fewer than the student's ${student.blockSize}; it must see at least as much`);
    }
    const own = new Set(student.params.map((p) => p.variable));
    if (teacher.params.some((p) => own.has(p.variable))) throw new ConfigError("teacher", "the teacher and the student share variables; load the teacher as a model of its own");
    this.params = student.params;
    this.blockSize = student.blockSize;
    this.baseDropout = student.baseDropout;
  }

  loss(x: Tensor2D, y: Tensor2D, options: { training: boolean; rng?: Rng; dropout?: number; step?: number }): Scalar {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const V = BYTE_VOCAB_SIZE;
      const t = tf.tidy(() => tf.reshape(this.teacherLogits(x, { training: false }), [B * T, V]) as Tensor2D);
      const s = tf.reshape(this.studentLogits(x, options), [B * T, V]) as Tensor2D;
      const alpha = kdWeightAt(options.step ?? 0, this.config, this.steps);
      return distillationLoss(s, t, tf.reshape(y, [B * T]) as Tensor1D, { direction: this.config.direction, temperature: this.config.temperature, alpha }).loss;
    });
  }
}
