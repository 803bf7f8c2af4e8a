// Training for a wall-clock budget: the step count is planned from a measured
// step time, so the learning-rate schedule (warmup, then cosine) ends when the
// budget does, and the run is reproducible as a plain N-step run afterwards
// (the plan is recorded with it). Equal-time comparisons of models that differ
// in cost per step are planned this way.
import type { TrainConfig } from "../config.js";
import { createModel, trainingBatches, type ModelSpec } from "../models/models.js";
import { Trainer } from "./trainer.js";

export interface BudgetPlan {
  budgetSeconds: number;
  /** Mean time of the timed probe steps (after the warm-up ones). */
  msPerStep: number;
  probeSteps: number;
  steps: number;
  warmupSteps: number;
}

/** Times `timed` steps of a throwaway copy of the model (after `warm` untimed ones) on the same data. */
export async function measureStepMs(spec: ModelSpec, train: TrainConfig, trainBytes: Uint8Array, { warm = 2, timed = 4 } = {}): Promise<number> {
  const model = createModel(spec, train.seed);
  const { data } = trainingBatches(model, trainBytes);
  const trainer = new Trainer({ model, data, train: { ...train, steps: warm + timed, evalEvery: 0, warmupSteps: 0 } });
  let warmMs = 0;
  let endMs = 0;
  try {
    for await (const e of trainer.run()) {
      if (e.kind === "step" && e.step === warm) warmMs = e.elapsedMs;
      if (e.kind === "step") endMs = e.elapsedMs;
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return Math.max(0.01, (endMs - warmMs) / timed);
}

/** The step count and warmup that fit `budgetSeconds` at `msPerStep` (warmup: the preset's, at most a tenth of the run). */
export function planBudget(budgetSeconds: number, msPerStep: number, train: TrainConfig, probeSteps = 4): BudgetPlan {
  if (!(budgetSeconds > 0 && Number.isFinite(budgetSeconds))) throw new RangeError(`the budget must be a positive number of seconds (got ${budgetSeconds})`);
  const steps = Math.max(1, Math.floor((budgetSeconds * 1000) / msPerStep));
  return { budgetSeconds, msPerStep: Math.round(msPerStep * 100) / 100, probeSteps, steps, warmupSteps: Math.min(train.warmupSteps, Math.floor(steps / 10)) };
}
