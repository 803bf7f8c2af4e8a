// Training a figure's run again from its run record, the same way in Node (the
// unit tests that check a record's config against its file) and in the page's
// worker ("Re-run and check", src/components/lab-recheck.ts): the model from the
// registry at the record's seed, its batches, the Trainer over the record's whole
// config (so the schedule is the figure's, however short the prefix checked).
//
// Some figures trained on something the record's spec and config do not say:
// the dropout page's overfitting regime reads only the first 4 KB of the training
// split, and a distilled student learns from a teacher. A FigureRun carries those
// facts beside its record (`setup`), with how many decimals the figure's file kept
// of each loss (the re-check allows for that rounding: lib/runs/agreement.ts).
import { createModel, trainingBatches, type LabModel } from "../models/models.js";
import { DistilledStudent, type DistillConfig } from "../train/distill.js";
import { Trainer } from "../train/trainer.js";
import type { RunRecord } from "./record.js";

export interface RerunSetup {
  /** The run read only the first this-many bytes of the corpus's training split. */
  trainBytes?: number;
  /** The run was a student distilled from a teacher: the teacher checkpoint's name (the page holds its bytes) and the distillation settings. */
  distill?: { teacher: string; kd: DistillConfig };
}

/** One run of a precomputed figure, as "Re-run and check" offers it. */
export interface FigureRun {
  /** What the reader picks it by ("constant 0.1, overfitting, seed 2"). */
  label: string;
  record: RunRecord;
  setup?: RerunSetup;
  /** Decimals the figure's file rounded each loss to (absent: not rounded). */
  lossDecimals?: number;
}

/** The training bytes a figure's run read from a corpus's training split. */
export function rerunTrainBytes(setup: RerunSetup | undefined, train: Uint8Array): Uint8Array {
  const n = setup?.trainBytes;
  if (n === undefined) return train;
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`the figure's run read ${n} training bytes: a positive whole number was expected`);
  return train.subarray(0, Math.min(n, train.length));
}

export interface Rerun {
  trainer: Trainer;
  /** The bytes it trains on. */
  trainBytes: Uint8Array;
  /** Frees the trainer and the model (never the teacher: its owner does). */
  dispose(): void;
}

/**
 * A trainer for a figure's run: every step's loss is logged (on a GPU backend too).
 * `teacher` is the loaded teacher when the run was distilled (setup.distill), else null.
 */
export function rerunTrainer(figure: { record: Pick<RunRecord, "spec" | "train">; setup?: RerunSetup }, corpusTrain: Uint8Array, teacher: LabModel | null): Rerun {
  const { record, setup } = figure;
  if (setup?.distill && !teacher) throw new Error(`the figure's run was distilled from ${setup.distill.teacher}: load that teacher first`);
  const trainBytes = rerunTrainBytes(setup, corpusTrain);
  const model = createModel(record.spec, record.train.seed);
  try {
    const { data } = trainingBatches(model, trainBytes);
    const trained = setup?.distill ? new DistilledStudent(model, teacher!, setup.distill.kd, record.train.steps) : model;
    const trainer = new Trainer({ model: trained, data, train: record.train, logEvery: 1 });
    return {
      trainer,
      trainBytes,
      dispose: () => {
        trainer.dispose();
        model.dispose();
      }
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
