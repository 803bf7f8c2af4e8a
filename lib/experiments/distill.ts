// The distillation experiment: a nano byte model (the student) trained alone and
// distilled from a micro byte model several times its size (the teacher), with
// forward and reverse KL at two temperatures, at equal steps and over several seeds.
// scripts/distill-runs.ts makes the teacher and runs the comparison for the
// distillation page; the page runs student-alone against distilled live.
import { presetConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { BatchSampler } from "../text/data.js";
import { bitsPerByte } from "../eval/eval.js";
import { TinyLM } from "../models/model.js";
import type { LabModel } from "../models/models.js";
import { Trainer, type TrainEvent } from "../train/trainer.js";
import type { InterruptCheck } from "../train/interrupt.js";
import { byteLogitsOf, DistilledStudent, type DistillConfig } from "../train/distill.js";
import { tf } from "../tf.js";
import { BYTE_VOCAB_SIZE } from "../text/tokenizer.js";

/** Both models read 64 bytes of context: short enough that a sweep over seeds fits in minutes on one core. */
export const DISTILL_BLOCK = 64;

export const TEACHER_MODEL: ModelConfig = presetConfig("micro", { model: { blockSize: DISTILL_BLOCK } }).model;
export const TEACHER_TRAIN: TrainConfig = presetConfig("micro", { train: { batchSize: 16, steps: 1500, warmupSteps: 100, evalEvery: 250, evalBytes: 16384, seed: 7 } }).train;

export const STUDENT_MODEL: ModelConfig = presetConfig("nano", { model: { blockSize: DISTILL_BLOCK } }).model;
export const STUDENT_TRAIN: Partial<TrainConfig> = { batchSize: 16, steps: 250, learningRate: 3e-3, warmupSteps: 25, evalEvery: 50, evalBytes: 8192 };

export interface DistillArm {
  id: string;
  label: string;
  /** null: the student alone, on the label cross-entropy. */
  kd: DistillConfig | null;
}

/** alpha 0.5 throughout for the four KD arms; "forward-ramp" is the preregistration's 0.8 → 1.0. */
export const DISTILL_ARMS: readonly DistillArm[] = [
  { id: "alone", label: "student alone", kd: null },
  { id: "forward-t1", label: "forward KL, T = 1", kd: { direction: "forward", temperature: 1, weightFrom: 0.5, weightTo: 0.5 } },
  { id: "forward-t2", label: "forward KL, T = 2", kd: { direction: "forward", temperature: 2, weightFrom: 0.5, weightTo: 0.5 } },
  { id: "reverse-t1", label: "reverse KL, T = 1", kd: { direction: "reverse", temperature: 1, weightFrom: 0.5, weightTo: 0.5 } },
  { id: "reverse-t2", label: "reverse KL, T = 2", kd: { direction: "reverse", temperature: 2, weightFrom: 0.5, weightTo: 0.5 } },
  { id: "forward-ramp", label: "forward KL, T = 1, α 0.8 → 1.0", kd: { direction: "forward", temperature: 1, weightFrom: 0.8, weightTo: 1.0 } }
];

export function distillArm(id: string): DistillArm {
  const arm = DISTILL_ARMS.find((a) => a.id === id);
  if (!arm) throw new Error(`unknown distillation arm "${id}"; the arms are ${DISTILL_ARMS.map((a) => a.id).join(", ")}`);
  return arm;
}

export interface DistillRunResult {
  arm: string;
  seed: number;
  steps: number;
  curve: { step: number; valBitsPerByte: number }[];
  losses: { step: number; loss: number }[];
  valBitsPerByte: number;
  tokensPerSecond: number;
  trainingSeconds: number;
}

/** The student's training config for a seed (every arm trains with it; the KD loss is the arm's). */
export function distillTrainConfig(seed: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return validateTrainConfig({ ...presetConfig("nano", { train: { ...STUDENT_TRAIN, seed, ...overrides } }).train });
}

/** Trains the student of one arm (the teacher given, frozen) and returns its curve; the student is disposed, the teacher is not. */
export async function runDistillArm(options: {
  arm: DistillArm;
  seed: number;
  teacher: LabModel | null;
  train: Uint8Array;
  val: Uint8Array;
  overrides?: Partial<TrainConfig>;
  onEvent?: (e: TrainEvent) => void;
  onTrainer?: (t: Trainer) => void;
  /** Asked between the kernels of each step, and of each evaluation (lib/train/interrupt.ts; a page's Stop). */
  interrupt?: InterruptCheck;
  /** Called with the trained student before it is disposed (e.g. to evaluate it further). */
  onStudent?: (student: TinyLM) => Promise<void>;
}): Promise<DistillRunResult> {
  const { arm, seed, teacher, val } = options;
  const train = distillTrainConfig(seed, options.overrides);
  const student = TinyLM.create(STUDENT_MODEL, seed);
  if (arm.kd && !teacher) throw new Error(`the "${arm.id}" arm distils from a teacher; give one`);
  const model = arm.kd ? new DistilledStudent(student, teacher!, arm.kd, train.steps) : student;
  const curve: DistillRunResult["curve"] = [];
  const losses: DistillRunResult["losses"] = [];
  const speeds: number[] = [];
  let ms = 0;
  const trainer = new Trainer({
    model,
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
    data: new BatchSampler(options.train),
    train,
    evaluate: async () => {
      const v = await bitsPerByte(student, val, { maxBytes: train.evalBytes });
      curve.push({ step: trainer.step, valBitsPerByte: v });
      return v;
    }
  });
  options.onTrainer?.(trainer);
  try {
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        losses.push({ step: e.step, loss: e.loss });
        speeds.push(e.tokensPerSecond);
        ms = e.elapsedMs;
      }
      options.onEvent?.(e);
    }
    await options.onStudent?.(student);
  } finally {
    trainer.dispose();
    student.dispose();
  }
  const sorted = [...speeds].sort((a, b) => a - b);
  return {
    arm: arm.id,
    seed,
    steps: train.steps,
    curve,
    losses,
    valBitsPerByte: curve.length ? curve[curve.length - 1].valBitsPerByte : NaN,
    tokensPerSecond: sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN,
    trainingSeconds: ms / 1000
  };
}

export interface ByteDisagreement {
  /** Index in the text of the byte predicted. */
  index: number;
  byte: number;
  /** KL(teacher ‖ student) of the next-byte distributions at this position, in bits. */
  klBits: number;
  /** log2 p of the actual byte under each model. */
  teacherLog2p: number;
  studentLog2p: number;
  /** Each model's most likely byte here. */
  teacherTop: number;
  studentTop: number;
}

/**
 * Where teacher and student disagree on a text: for every byte after the first, the
 * KL between their next-byte distributions and each one's probability of the byte
 * that came. The text is read in rows of the student's context, as bitsPerByte reads it.
 */
export function byteDisagreements(teacher: LabModel, student: LabModel, bytes: Uint8Array): ByteDisagreement[] {
  const t = byteLogitsOf(teacher, "teacher");
  const s = byteLogitsOf(student, "student");
  const T = Math.min(teacher.blockSize, student.blockSize);
  const out: ByteDisagreement[] = [];
  for (let start = 0; start + 1 < bytes.length; start += T) {
    const row = bytes.subarray(start, Math.min(start + T + 1, bytes.length));
    const n = row.length - 1;
    const [kl, lt, ls, tt, st] = tf.tidy(() => {
      const x = tf.tensor2d(Array.from(row.subarray(0, n)), [1, n], "int32");
      const logT = tf.logSoftmax(tf.reshape(t(x, { training: false }), [n, BYTE_VOCAB_SIZE]));
      const logS = tf.logSoftmax(tf.reshape(s(x, { training: false }), [n, BYTE_VOCAB_SIZE]));
      const klNats = tf.sum(tf.mul(tf.exp(logT), tf.sub(logT, logS)), -1);
      const onehot = tf.oneHot(tf.tensor1d(Array.from(row.subarray(1)), "int32"), BYTE_VOCAB_SIZE);
      return [
        klNats.dataSync(),
        tf.sum(tf.mul(logT, onehot), -1).dataSync(),
        tf.sum(tf.mul(logS, onehot), -1).dataSync(),
        tf.argMax(logT, -1).dataSync(),
        tf.argMax(logS, -1).dataSync()
      ];
    });
    for (let i = 0; i < n; i++) {
      out.push({ index: start + i + 1, byte: row[i + 1], klBits: kl[i] / Math.LN2, teacherLog2p: lt[i] / Math.LN2, studentLog2p: ls[i] / Math.LN2, teacherTop: tt[i], studentTop: st[i] });
    }
  }
  return out;
}
