// The dropout, distillation, objectives and tokenizer-free files read as run records
// (lib/runs/precomputed.ts), each checked by training a record's first steps again in
// Node through lib/runs/rerun.ts — the code the pages' "Re-run and check" runs in its
// worker — and comparing them with the file's stored losses under the page's rule
// (1e-4 relative + the file's 4-decimal rounding). A builder that gets one setting
// wrong (a schedule, a batch size, the bytes read, the teacher) fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { corpusFromGzip } from "../../lib/text/data.js";
import { loadCheckpointFile } from "../../lib/node/files.js";
import { labModelFromCheckpoint } from "../../lib/train/checkpoint.js";
import type { LabModel } from "../../lib/models/models.js";
import {
  distillRunFigure,
  dropoutRunFigure,
  objectiveRunFigure,
  tokenizerFreeRunFigure,
  DISTILL_TEACHER,
  type DistillFile,
  type DropoutFile,
  type ObjectivesFile,
  type TokenizerFreeFile,
  type TokenizerFreeSpecs
} from "../../lib/runs/precomputed.js";
import { rerunTrainer, type FigureRun } from "../../lib/runs/rerun.js";
import { agreementRule, compareLosses, type Agreement } from "../../lib/runs/agreement.js";
import { validateRunRecord, type RunStepRow } from "../../lib/runs/record.js";

await initNode("wasm");
const json = async <T>(path: string) => JSON.parse(await readFile(new URL(`../../${path}`, import.meta.url), "utf8")) as T;
const dropout = await json<DropoutFile>("data/runs/dropout/sweep.json");
const distill = await json<DistillFile>("data/runs/distill/students.json");
const objectives = await json<ObjectivesFile>("data/runs/objectives/compare.json");
const tfree = await json<TokenizerFreeFile>("data/runs/tokenizer-free/austen-compare.json");
const tfreeSpecs = await json<TokenizerFreeSpecs>("data/runs/tokenizer-free/austen-specs.json");
const corpus = await corpusFromGzip("austen", new Uint8Array(await readFile(new URL("../../data/corpora/austen.jsonl.gz", import.meta.url))));
const rule = agreementRule({ backend: "wasm", labVersion: "unknown" }, { backend: "wasm", labVersion: "0.1.0" });

/** Trains `steps` steps of a figure's run as the page's worker does, and compares them with the file's losses. */
async function recheck(figure: FigureRun, steps: number, teacher: LabModel | null = null): Promise<Agreement> {
  const before = tf.memory().numTensors;
  const rerun = rerunTrainer(figure, corpus.train, teacher);
  const got: RunStepRow[] = [];
  try {
    for await (const e of rerun.trainer.run()) {
      if (e.kind !== "step") continue;
      got.push({ step: e.step, loss: e.loss });
      if (e.step >= steps) break;
    }
  } finally {
    rerun.dispose();
  }
  assert.equal(tf.memory().numTensors, before, "the re-run frees every tensor it made");
  return compareLosses(figure.record.metrics.steps, got, rule, { lossDecimals: figure.lossDecimals });
}

test("every run of the four files is a valid run record whose settings are the file's", () => {
  for (const r of dropout.runs) {
    const f = dropoutRunFigure(dropout, r.regime, r.arm, r.seed);
    validateRunRecord(JSON.parse(JSON.stringify(f.record)));
    assert.equal(f.record.train.dropoutSchedule, r.schedule);
    assert.equal(f.record.train.steps, r.steps);
    assert.equal(f.record.metrics.steps.length, r.losses.length);
    assert.equal(f.setup?.trainBytes, dropout.regimes[r.regime].trainBytes ?? undefined);
  }
  for (const r of distill.runs) {
    const f = distillRunFigure(distill, r.arm, r.seed);
    validateRunRecord(JSON.parse(JSON.stringify(f.record)));
    assert.equal(f.record.train.seed, r.seed);
    assert.equal(Boolean(f.setup?.distill), r.arm !== "alone");
  }
  for (const r of objectives.runs) {
    const f = objectiveRunFigure(objectives, r.size, r.arm, r.seed, r.budget);
    validateRunRecord(JSON.parse(JSON.stringify(f.record)));
    assert.equal(f.record.train.steps, r.steps);
    assert.equal(f.record.metrics.steps.at(-1)?.loss, r.finalLoss, "the last stored loss is the run's final loss");
    assert.deepEqual(f.record.metrics.steps.map((p) => p.step), Array.from({ length: r.steps }, (_, i) => i + 1), `${f.label}: a loss at every step 1..${r.steps}`);
  }
  for (const r of tfree.runs) {
    const f = tokenizerFreeRunFigure(tfree, tfreeSpecs, r.model, r.ctx, r.budgetSeconds, r.seed);
    validateRunRecord(JSON.parse(JSON.stringify(f.record)));
    // A time-budgeted run is re-run for the steps its budget planned, not for the budget.
    assert.equal(f.record.train.steps, r.steps);
    assert.equal(f.record.train.warmupSteps, r.warmupSteps);
    assert.equal(f.record.train.batchSize, r.batchSize);
  }
  assert.throws(() => dropoutRunFigure(dropout, "overfit", "none", 99), /no run of arm "none" in regime "overfit" at seed 99/);
});

test("a dropout run in the overfitting regime, trained again on its 4 KB, reproduces the file's first steps; on the whole split it departs", async () => {
  const f = dropoutRunFigure(dropout, "overfit", "constant", 2);
  assert.equal(f.setup?.trainBytes, 4096);
  const a = await recheck(f, 10);
  assert.equal(a.verdict, "agrees", JSON.stringify(a.departure));
  assert.equal(a.compared, 2);
  assert.equal(a.equalToStoredDigits, true);
  const wrong = await recheck({ ...f, setup: undefined }, 5);
  assert.equal(wrong.verdict, "departs", "the bytes read matter: the check notices a record re-run on other data");
});

test("a distilled student, trained again with the teacher checkpoint, reproduces the file's first steps", async () => {
  const teacher = labModelFromCheckpoint(await loadCheckpointFile(new URL(`../../${DISTILL_TEACHER}`, import.meta.url).pathname));
  try {
    const f = distillRunFigure(distill, "forward-t2", 1);
    assert.equal(f.setup?.distill?.kd.temperature, 2);
    assert.throws(() => rerunTrainer(f, corpus.train, null), /distilled from data\/runs\/distill\/teacher: load that teacher first/);
    const a = await recheck(f, 10, teacher);
    assert.equal(a.verdict, "agrees", JSON.stringify(a.departure));
    assert.equal(a.compared, 2);
  } finally {
    teacher.dispose();
  }
});

test("an objectives run, trained again, reproduces the file's first steps, each of them", async () => {
  // The nano mtp:4 run of seed 1 (four heads): scripts/objectives-runs.ts keeps every run's loss at every step.
  const f = objectiveRunFigure(objectives, "nano", "mtp4", 1, "steps");
  const a = await recheck(f, 10);
  assert.equal(a.verdict, "agrees", JSON.stringify(a.departure));
  assert.equal(a.compared, 10);
});

test("tokenizer-free runs (BPE tokens; the local stack with entropy boundaries) trained again reproduce the file's first logged step", async () => {
  for (const model of ["bpe-tokens", "local-entropy"]) {
    const f = tokenizerFreeRunFigure(tfree, tfreeSpecs, model, 128, 90, 1);
    const a = await recheck(f, 10);
    assert.equal(a.verdict, "agrees", `${model}: ${JSON.stringify(a.departure)}`);
    assert.equal(a.compared, 1);
  }
});
