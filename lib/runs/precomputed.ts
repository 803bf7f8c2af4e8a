// Run records for precomputed figures whose files predate run records: the sharing
// page's A/B files (data/runs/sharing/ID.json, scripts/sharing-runs.ts) hold, per arm
// and seed, the model config and every step's loss, and the experiment's training
// settings. Read as the lab's record (lib/runs/record.ts) they can be re-run and
// checked like any run.json; what the files never held (the data's hash, the lab's
// version and commit, the Node version) is null or "unknown" and said in `notes`.
import { presetConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { SHARING_TRAIN } from "../experiments/sharing.js";
import { dropoutArm, dropoutRunConfig } from "../experiments/dropout.js";
import { distillTrainConfig } from "../experiments/distill.js";
import { objectiveSpec, objectiveTrain } from "../experiments/objectives.js";
import { compareModel, compareTrain } from "../experiments/tokenizer-free.js";
import type { ModelSpec } from "../models/models.js";
import type { Objective } from "../models/objectives.js";
import type { DistillConfig } from "../train/distill.js";
import { makeRunRecord, type RecordParts, type RunRecord } from "./record.js";
import type { FigureRun } from "./rerun.js";

export type Runtime = { name?: string; threads?: number; simd?: boolean };
export const EPOCH = "1970-01-01T00:00:00.000Z";
export const notKept = (file: string, command: string, extra = "") =>
  `read from ${file} (made by \`${command}\`), which keeps no data hash, lab version or commit, or Node version${extra}`;

/**
 * A precomputed figure's record. None of the files keeps the data's hash, the
 * lab's version or the Node version, so those are filled the same way for all:
 * unknown, with the file's backend facts (FMA not recorded).
 */
function precomputedRecord(p: Omit<RecordParts, "origin" | "data" | "lab" | "runtime" | "startedAt"> & { corpus: string; backend?: Runtime; startedAt?: string }): RunRecord {
  const { corpus, backend, startedAt, ...rest } = p;
  return makeRunRecord({
    ...rest,
    origin: "precomputed",
    data: { name: corpus, sha256: null, bytes: null },
    lab: { version: "unknown", commit: null },
    runtime: { backend: backend?.name ?? "unknown", threads: backend?.threads ?? 1, simd: backend?.simd ?? false, fma: null, platform: "node, version not recorded" },
    startedAt: startedAt ?? EPOCH
  });
}

/** One seed of one arm of a sharing file, as the file stores it. */
export interface SharingFileSeed {
  seed: number;
  steps: [number, number][] | { step: number; loss: number }[];
  evals: [number, number][] | { step: number; valBitsPerByte: number }[];
}

export interface SharingFile {
  experiment: string;
  title: string;
  corpus: string;
  train: Partial<TrainConfig>;
  command?: string;
  backend?: { name?: string; threads?: number; simd?: boolean };
  createdAt?: string;
  arms: { label: string; model: ModelConfig; seeds?: SharingFileSeed[] }[];
}

/** The training config a sharing arm trained with: SharingRun's (lib/experiments/sharing.ts), over the file's settings, at this seed. */
export function sharingTrainConfig(file: Pick<SharingFile, "train">, seed: number): TrainConfig {
  return presetConfig("nano", { train: { ...SHARING_TRAIN, ...file.train, seed } }).train;
}

const pairs = <T extends string>(rows: [number, number][] | Record<string, number>[], key: T) =>
  rows.map((r) => (Array.isArray(r) ? { step: r[0], [key]: r[1] } : { step: r.step, [key]: r[key] })) as ({ step: number } & Record<T, number>)[];

/** The record of one arm at one seed of a sharing file. */
export function sharingArmRecord(file: SharingFile, arm: number, seed: number, fileName = `data/runs/sharing/${file.experiment}.json`): RunRecord {
  const a = file.arms[arm];
  if (!a) throw new Error(`${fileName} has no arm ${arm}`);
  const run = a.seeds?.find((s) => s.seed === seed);
  if (!run) throw new Error(`${fileName}: arm "${a.label}" has no run with seed ${seed}`);
  return precomputedRecord({
    label: `${file.title}: ${a.label}, seed ${seed}`,
    page: "/sharing",
    spec: { kind: "bytes", model: a.model },
    train: sharingTrainConfig(file, seed),
    corpus: file.corpus,
    backend: file.backend,
    startedAt: file.createdAt,
    steps: pairs(run.steps, "loss"),
    evals: pairs(run.evals, "valBitsPerByte"),
    notes: [`read from ${fileName} (made by \`${file.command ?? "scripts/sharing-runs.ts"}\`), which keeps no data hash, lab version or commit, or Node version`]
  });
}

// The other precomputed comparisons, each file read with the code that made it: the
// script fixes what the file does not store (the model and schedule of an arm), so a
// run's record is rebuilt from the file's facts (arm, seed, steps, settings) through
// the same lib/experiments functions the script trained with, and refused when the
// file and the code disagree (an arm's schedule, a batch size). Each comes as a
// FigureRun (lib/runs/rerun.ts): the record, what else the run trained on, and the 4
// decimals the scripts round losses to.

/** The scripts that made these files round every loss to 4 decimals. */
export const FIGURE_LOSS_DECIMALS = 4;


/** data/runs/dropout/sweep.json (scripts/dropout-sweep.ts). */
export interface DropoutFile {
  madeBy?: string;
  corpus: string;
  train: Partial<TrainConfig>;
  regimes: Record<string, { label: string; trainBytes: number | null }>;
  arms: { id: string; label: string; rate: number; schedule: string }[];
  backend?: Runtime;
  runs: { regime: string; arm: string; seed: number; steps: number; schedule: string; rate: number; curve: { step: number; valBitsPerByte: number }[]; losses: { step: number; loss: number }[] }[];
}

/** One arm of the dropout sweep in one regime at one seed. */
export function dropoutRunFigure(file: DropoutFile, regime: string, armId: string, seed: number, fileName = "data/runs/dropout/sweep.json"): FigureRun {
  const run = file.runs.find((r) => r.regime === regime && r.arm === armId && r.seed === seed);
  if (!run) throw new Error(`${fileName} has no run of arm "${armId}" in regime "${regime}" at seed ${seed}`);
  const reg = file.regimes[regime];
  if (!reg) throw new Error(`${fileName} has no regime "${regime}"`);
  const arm = dropoutArm(armId);
  const { model, train } = dropoutRunConfig(arm, seed, file.train);
  if (train.dropoutSchedule !== run.schedule || model.dropout !== run.rate) {
    throw new Error(`${fileName}: arm "${armId}" ran with schedule ${run.schedule} at rate ${run.rate}, but lib/experiments/dropout.ts now gives ${train.dropoutSchedule} at ${model.dropout}`);
  }
  if (train.steps !== run.steps) throw new Error(`${fileName}: arm "${armId}" ran ${run.steps} steps, the file's settings plan ${train.steps}`);
  const label = `${arm.label}, ${regime === "overfit" ? "overfitting" : regime === "underfit" ? "underfitting" : regime}, seed ${seed}`;
  return {
    label,
    record: precomputedRecord({
      label: `Dropout: ${label}`,
      page: "/dropout",
      spec: { kind: "bytes", model },
      train,
      corpus: file.corpus,
      backend: file.backend,
      steps: run.losses.map((p) => ({ step: p.step, loss: p.loss })),
      evals: run.curve.map((p) => ({ step: p.step, valBitsPerByte: p.valBitsPerByte })),
      notes: [notKept(fileName, file.madeBy ?? "scripts/dropout-sweep.ts", `; it logs the loss every 5th step${reg.trainBytes === null ? "" : `, and the run read only the first ${reg.trainBytes} bytes of the training split (${reg.label})`}`)]
    }),
    ...(reg.trainBytes === null ? {} : { setup: { trainBytes: reg.trainBytes } }),
    lossDecimals: FIGURE_LOSS_DECIMALS
  };
}

/** data/runs/distill/students.json (scripts/distill-runs.ts students). */
export interface DistillFile {
  madeBy?: string;
  corpus: string;
  student: { model: ModelConfig };
  arms: { id: string; label: string; kd: DistillConfig | null }[];
  backend?: Runtime;
  runs: { arm: string; seed: number; steps: number; curve: { step: number; valBitsPerByte: number }[]; losses: { step: number; loss: number }[] }[];
}

/** Where the distillation page's teacher checkpoint lives (scripts/distill-runs.ts teacher). */
export const DISTILL_TEACHER = "data/runs/distill/teacher";

/** One arm of the distillation comparison at one seed: the student, and the teacher it learned from. */
export function distillRunFigure(file: DistillFile, armId: string, seed: number, fileName = "data/runs/distill/students.json"): FigureRun {
  const run = file.runs.find((r) => r.arm === armId && r.seed === seed);
  if (!run) throw new Error(`${fileName} has no run of arm "${armId}" at seed ${seed}`);
  const arm = file.arms.find((a) => a.id === armId);
  if (!arm) throw new Error(`${fileName} has no arm "${armId}"`);
  const train = distillTrainConfig(seed);
  if (train.steps !== run.steps) throw new Error(`${fileName}: arm "${armId}" ran ${run.steps} steps, lib/experiments/distill.ts plans ${train.steps}`);
  const label = `${arm.label}, seed ${seed}`;
  return {
    label,
    record: precomputedRecord({
      label: `Distillation: ${label}`,
      page: "/distillation",
      spec: { kind: "bytes", model: file.student.model },
      train,
      corpus: file.corpus,
      backend: file.backend,
      steps: run.losses.map((p) => ({ step: p.step, loss: p.loss })),
      evals: run.curve.map((p) => ({ step: p.step, valBitsPerByte: p.valBitsPerByte })),
      notes: [notKept(fileName, file.madeBy ?? "scripts/distill-runs.ts students", `; it logs the loss every 5th step${arm.kd ? `, the student's training loss with the teacher ${DISTILL_TEACHER} (${arm.kd.direction} KL at temperature ${arm.kd.temperature}, weight ${arm.kd.weightFrom}${arm.kd.weightTo !== arm.kd.weightFrom ? ` → ${arm.kd.weightTo}` : ""})` : ""}`)]
    }),
    ...(arm.kd ? { setup: { distill: { teacher: DISTILL_TEACHER, kd: arm.kd } } } : {}),
    lossDecimals: FIGURE_LOSS_DECIMALS
  };
}

/** data/runs/objectives/compare.json (scripts/objectives-runs.ts). */
export interface ObjectivesFile {
  corpus: string;
  command?: string;
  createdAt?: string;
  /** The command that added the runs' loss curves, when it has run. */
  lossesCommand?: string;
  arms: { id: string; label: string; objective: Objective | null }[];
  backend?: Runtime;
  runs: { size: string; arm: string; seed: number; budget: "steps" | "time"; steps: number; finalLoss: number; losses?: { step: number; loss: number }[] }[];
}

/** One run of the objectives comparison: the losses the file holds for it (every step since the file of 2026-12-02; every 5th step, added by --losses, before), else its final loss only. */
export function objectiveRunFigure(file: ObjectivesFile, size: string, armId: string, seed: number, budget: "steps" | "time", fileName = "data/runs/objectives/compare.json"): FigureRun {
  const run = file.runs.find((r) => r.size === size && r.arm === armId && r.seed === seed && r.budget === budget);
  if (!run) throw new Error(`${fileName} has no ${size} run of arm "${armId}" at seed ${seed} (${budget} budget)`);
  const arm = file.arms.find((a) => a.id === armId);
  if (!arm) throw new Error(`${fileName} has no arm "${armId}"`);
  const label = `${size} ${arm.label}, seed ${seed}${budget === "time" ? `, equal time (${run.steps} steps)` : ""}`;
  const steps = run.losses?.length ? run.losses : [{ step: run.steps, loss: run.finalLoss }];
  return {
    label,
    record: precomputedRecord({
      label: `Objectives: ${label}`,
      page: "/objectives",
      preset: size,
      spec: objectiveSpec(size, arm.objective ?? undefined),
      train: objectiveTrain(size, { steps: run.steps, seed }),
      corpus: file.corpus,
      backend: file.backend,
      startedAt: file.createdAt,
      steps: steps.map((p) => ({ step: p.step, loss: p.loss })),
      notes: [
        notKept(
          fileName,
          file.command ?? "scripts/objectives-runs.ts",
          !run.losses?.length
            ? "; it keeps only the final step's loss"
            : file.lossesCommand
              ? `; its loss at every 5th step was added later by \`${file.lossesCommand}\`, from a re-run whose final loss equals the stored one to its 4 decimals`
              : "; its loss at every step is the run's own, as it trained"
        )
      ]
    }),
    lossDecimals: FIGURE_LOSS_DECIMALS
  };
}

/** data/runs/tokenizer-free/CORPUS-compare.json (scripts/tokenizer-free-compare.ts). */
export interface TokenizerFreeFile {
  corpus: string;
  commands?: string[];
  updatedAt?: string;
  backend?: Runtime;
  runs: { model: string; label: string; ctx: number; budgetSeconds: number; seed: number; steps: number; warmupSteps: number; batchSize: number; learningRate: number; valBitsPerByte: number; losses: { step: number; loss: number }[] }[];
}

/** data/runs/tokenizer-free/CORPUS-specs.json (the same script, --specs-only): each model's spec at each context, "MODEL@CTX". */
export interface TokenizerFreeSpecs {
  corpus: string;
  command?: string;
  specs: Record<string, ModelSpec>;
}

/**
 * One run of the equal-time comparison. Its time budget planned its step count
 * once, when it was made; a re-run trains that recorded count (and warm-up), not
 * the budget, so it trains the same steps on any machine.
 */
export function tokenizerFreeRunFigure(file: TokenizerFreeFile, specs: TokenizerFreeSpecs, modelId: string, ctx: number, budgetSeconds: number, seed: number, fileName = `data/runs/tokenizer-free/${file.corpus}-compare.json`): FigureRun {
  const run = file.runs.find((r) => r.model === modelId && r.ctx === ctx && r.budgetSeconds === budgetSeconds && r.seed === seed);
  if (!run) throw new Error(`${fileName} has no run of "${modelId}" at context ${ctx}, budget ${budgetSeconds} s, seed ${seed}`);
  const spec = specs.specs[`${modelId}@${ctx}`];
  if (!spec) throw new Error(`data/runs/tokenizer-free/${file.corpus}-specs.json has no spec for "${modelId}@${ctx}" (make it: node --import tsx scripts/tokenizer-free-compare.ts --ctx ${ctx} --specs-only)`);
  const m = compareModel(modelId);
  const base = compareTrain(m, ctx);
  if (base.batchSize !== run.batchSize || base.learningRate !== run.learningRate) {
    throw new Error(`${fileName}: "${modelId}" at context ${ctx} ran with batch ${run.batchSize} and learning rate ${run.learningRate}, lib/experiments/tokenizer-free.ts now gives ${base.batchSize} and ${base.learningRate}`);
  }
  const label = `${run.label}, context ${ctx}, ${budgetSeconds} s budget (${run.steps} steps), seed ${seed}`;
  return {
    label,
    record: precomputedRecord({
      label: `Tokenizer-free: ${label}`,
      page: "/tokenizer-free",
      spec,
      train: { ...base, steps: run.steps, warmupSteps: run.warmupSteps, seed },
      corpus: file.corpus,
      backend: file.backend,
      startedAt: file.updatedAt,
      steps: run.losses.map((p) => ({ step: p.step, loss: p.loss })),
      evals: [{ step: run.steps, valBitsPerByte: run.valBitsPerByte }],
      notes: [
        notKept(fileName, file.commands?.join("; ") ?? "scripts/tokenizer-free-compare.ts", `; it logs the loss every 10th step. The run's ${budgetSeconds} s budget planned its ${run.steps} steps when it was made: a re-run trains those steps, not the budget`)
      ]
    }),
    lossDecimals: FIGURE_LOSS_DECIMALS
  };
}

