// stlm train: train any preset (a byte model, a pooled byte model, a BPE-token
// model) on a corpus or a text file, into a run folder. One path for every kind:
// the model comes from the registry (lib/models/models.ts), so resume, Ctrl-C,
// sampling and checkpoint checks are the same for all of them.
//
// A run folder is never written over: a new run needs a new (or empty) folder,
// a lock keeps a second `stlm train` out of a folder in use, and a resumed run
// trusts its checkpoint (the record of what was trained) over config.json.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PRESETS, validateTrainConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { CHECKPOINT_FILE, encodeCheckpoint, labModelFromCheckpoint, type Checkpoint } from "../train/checkpoint.js";
import type { Corpus } from "../text/data.js";
import { bitsPerByte } from "../eval/eval.js";
import { createModel, trainingBatches, validateSpec, type LabModel, type ModelSpec } from "../models/models.js";
import { measureStepMs, planBudget, type BudgetPlan } from "../train/budget.js";
import { PooledLM } from "../models/pooled.js";
import { collapseGuard } from "../train/collapse.js";
import { presetHelp, presetSpec, presetTrainConfig } from "../models/presets.js";
import { decodeBytes, encodeText } from "../text/tokenizer.js";
import { Trainer, type TrainableModel, type TrainEvent, type TrainerState } from "../train/trainer.js";
import { initNodeThreads } from "../node/runtime.js";
import { availableCores } from "../node/threads.js";
import { dataIdentity, nodeRuntime, readRunRecord, writeCliRunRecord, type CliRunParts } from "../node/runrecord.js";
import type { BackendInfo } from "../backend.js";
import { loadCorpus, loadTextCorpus } from "../node/data.js";
import { appendJsonl, checkpointPath, loadCheckpointFile, readJson, writeFileAtomic, writeJson } from "../node/files.js";
import { acquireRunLock, prepareNewRunFolder, truncateMetrics } from "../node/runfolder.js";
import { OBJECTIVE_HELP, parseObjectiveFlag } from "./objective.js";
import { objectiveLabel } from "../models/objectives.js";
import { DROPOUT_SCHEDULE_FORMS, parseDropoutSchedule, parseDropoutSites, maxDropout } from "../train/dropout.js";
import { DistilledStudent, parseKdWeight, validateDistillConfig, byteLogitsOf, type DistillConfig, type KdDirection } from "../train/distill.js";
import { sha256 } from "../train/sha256.js";
import { AUTO_SNAPSHOTS, autoSnapshotEvery, defaultSnapshotConfig, takeSnapshot, type SnapshotConfig } from "../train/snapshots.js";
import { BATCH_FLAG, EVAL_EVERY_FLAG, formatDuration, LR_FLAG, parseFlags, progressLine, SEED_FLAG, STEPS_FLAG, UsageError } from "./args.js";

export const TRAIN_HELP = `stlm train --preset P (--corpus C | --text FILE) --steps N --seed S --out DIR
stlm train --resume DIR [--extend-to N]

Trains a model and writes DIR/config.json, DIR/run.json (the run record), DIR/metrics.jsonl,
DIR/${CHECKPOINT_FILE} (saved at every evaluation and at the end), DIR/samples.json,
DIR/snapshots.jsonl and DIR/summary.json.

  --preset P        one of (default nano):
${presetHelp("                      ")}
  --corpus C        austen, moby-dick, sotu, bible (from data/corpora)
  --text FILE       your own UTF-8 text file (last 10% held out for validation)
  --steps N         total training steps
  --budget S        instead of --steps: train for about S seconds of training
                    time. A few steps of a throwaway copy are timed first, and
                    the step count (and warmup, at most a tenth) planned from
                    them, so the schedule ends with the budget; the plan is
                    recorded in config.json under "budget"
${OBJECTIVE_HELP}
  --seed S          seed for initialisation, batches and dropout (default 1)
  --lr X            peak learning rate (default: the preset's)
  --batch N         batch size (default: the preset's)
  --eval-every N    evaluate and checkpoint every N steps (default: the preset's)
  --out DIR         a new (or empty) folder for the run; a folder that holds
                    anything else is refused, so no run is ever written over
  --resume DIR      continue the run saved in DIR to its planned total: the
                    result is bit-identical to a run that was never stopped
  --extend-to N     with --resume: train on to a larger total of N steps. The
                    warmup + cosine schedule is re-planned over N steps, so from
                    the saved step on the learning rate follows the N-step
                    curve (it jumps up from where the old curve was); recorded
                    in config.json under "extensions" and in the checkpoint
  --dropout P       the dropout rate, in [0, 1) (default: the preset's, 0)
  --dropout-schedule S
                    the rate at each step (default constant):
${DROPOUT_SCHEDULE_FORMS.map((l) => "                      " + l).join("\n")}
                    the rate used at each step is in metrics.jsonl ("dropout");
                    linear and triangle stretch over an --extend-to total, as
                    the learning rate's schedule does
  --dropout-at SITES
                    where dropout acts: sites from embed, attn-probs, attn-out,
                    mlp-out separated by commas, or a named placement: lab
                    (embed,attn-out,mlp-out; the default), stlm (embed,attn-probs,
                    attn-out: the STLM code's), all
  --teacher DIR     distil from the run (or checkpoint) in DIR: a frozen byte
                    model or local-stack model at least as wide in context.
                    loss = alpha·T²·KL + (1 − alpha)·CE(labels)
  --kd D            forward (KL(teacher‖student), the default) or reverse
                    (KL(student‖teacher))
  --kd-temperature T
                    softmax temperature of both distributions, > 0 (default 1)
  --kd-weight A[:B] alpha in [0, 1]: one value for all steps, or A:B moving
                    linearly from A to B over the run (e.g. 0.8:1.0); default 0.5
  --snapshot-every N|auto|off
                    snapshots into DIR/snapshots.jsonl (lib/train/snapshots.ts):
                    the attention of every layer and head on a fixed probe text
                    (chunks and chunk attention for pooled models) and a sample
                    from a fixed prompt and seed, at step 0, every N steps and at
                    the last step. auto: about ${AUTO_SNAPSHOTS} over the run, every
                    ceil(steps / ${AUTO_SNAPSHOTS}) steps; off (the default): none, since a
                    snapshot costs a few training steps' time (its sample is
                    one forward pass per byte). A resumed run continues them as
                    recorded in config.json ("snapshots")
  --backend B       wasm (default) or cpu
  --threads N       threads for the lab's wasm kernels, 1 to 32 (default: every
                    core); a run is bit-identical at every thread count
  --quiet           no progress bar

Ctrl-C stops after the current step, saves the checkpoint and exits with code
130; a second Ctrl-C quits at once (the last saved checkpoint stays intact).`;

/** A run folder's snapshots (lib/train/snapshots.ts), one JSON line each. */
export const SNAPSHOTS_FILE = "snapshots.jsonl";

interface Extension {
  atStep: number;
  fromSteps: number;
  toSteps: number;
  at: string;
}

/** A distilled run's teacher and settings (config.json "distill"): a resumed run reloads the teacher and checks its hash. */
interface DistillRecord extends DistillConfig {
  teacher: string;
  teacherSha256: string;
}

interface RunConfig {
  distill?: DistillRecord;
  preset: string;
  source: { corpus: string } | { text: string };
  /** The byte model's config (plain presets), as before specs existed. */
  model?: ModelConfig;
  spec?: ModelSpec;
  train: TrainConfig;
  extensions?: Extension[];
  budget?: BudgetPlan;
  /** What is snapshotted and how often; absent: no snapshots. */
  snapshots?: SnapshotConfig;
}

/** --snapshot-every's allowed forms, for the usage message. */
export const SNAPSHOT_EVERY_FORMS = `a whole number of steps N >= 1, auto (about ${AUTO_SNAPSHOTS} snapshots over the run) or off`;

/** --snapshot-every as given: an interval, "auto" or "off" (0, the default). */
export function parseSnapshotEvery(value: string | undefined): number | "auto" {
  if (value === "auto") return "auto";
  if (value === undefined || value === "off" || value === "0") return 0;
  if (/^[1-9][0-9]*$/.test(value) && Number(value) <= 10_000_000) return Number(value);
  throw new UsageError(`stlm train: --snapshot-every must be ${SNAPSHOT_EVERY_FORMS} (got "${value}")`);
}

/** Thrown after a Ctrl-C stop has saved its checkpoint: the command exits 130. */
export class Interrupted extends Error {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = "Interrupted";
  }
}

async function loadSource(source: RunConfig["source"]): Promise<Corpus> {
  return "corpus" in source ? loadCorpus(source.corpus) : loadTextCorpus(source.text);
}

const canonical = (v: unknown) => JSON.stringify(v, (_k, x) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));

/** config.json of a resumed run must say what its checkpoint says; a difference is refused, naming it. */
function checkAgreement(dir: string, run: RunConfig, ckpt: Checkpoint): void {
  const differs = (what: string, a: unknown, b: unknown) => {
    if (canonical(a) !== canonical(b)) {
      throw new UsageError(
        `stlm train: ${path.join(dir, "config.json")} and the checkpoint disagree about ${what} (config.json: ${canonical(a).slice(0, 120)}; checkpoint: ${canonical(b).slice(0, 120)}). ` +
          `The checkpoint is the record of what was trained: restore config.json, or start a new run with --out.`
      );
    }
  };
  if (ckpt.meta.preset !== undefined) differs("the preset", run.preset, ckpt.meta.preset);
  if (ckpt.meta.source !== undefined) differs("the training text", run.source, ckpt.meta.source);
  // Settings added since a folder was written (e.g. dropoutSites, dropoutSchedule) are filled with their defaults on both sides first.
  const spec = run.spec ?? (run.model ? { kind: "bytes" as const, model: run.model } : undefined);
  const filled = (f: () => unknown, raw: unknown) => {
    try {
      return f();
    } catch {
      return raw;
    }
  };
  differs("the model", filled(() => validateSpec(structuredClone(spec!)), spec), ckpt.spec);
  differs("the training settings", filled(() => validateTrainConfig(structuredClone(run.train)), run.train), ckpt.trainConfig);
}

export async function trainCommand(argv: string[]): Promise<void> {
  const f = parseFlags(
    argv,
    {
      preset: "string",
      corpus: "string",
      text: "string",
      steps: STEPS_FLAG,
      seed: SEED_FLAG,
      lr: LR_FLAG,
      batch: BATCH_FLAG,
      "eval-every": EVAL_EVERY_FLAG,
      out: "string",
      resume: "string",
      "extend-to": STEPS_FLAG,
      budget: { kind: "number", min: 1, max: 7 * 24 * 3600, example: 180 },
      dropout: { kind: "number", min: 0, max: 0.999, example: 0.1 },
      "dropout-schedule": "string",
      "dropout-at": "string",
      teacher: "string",
      kd: "string",
      "kd-temperature": { kind: "number", min: 1e-3, max: 100, example: 2 },
      "kd-weight": "string",
      backend: "string",
      threads: { kind: "int", min: 1, max: 32, example: 2 },
      quiet: "boolean",
      objective: "string",
      "mtp-heads": "string",
      "snapshot-every": "string"
    },
    "train"
  );
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm train: --backend must be wasm or cpu in Node (got "${backend}")`);
  if (f.budget !== undefined && (f.steps !== undefined || f.resume !== undefined)) throw new UsageError("stlm train: --budget plans the step count of a new run: give it instead of --steps, and not with --resume");
  if (f["extend-to"] !== undefined && f.resume === undefined) throw new UsageError("stlm train: --extend-to N goes with --resume DIR (it lengthens a saved run); a new run takes --steps N");

  let run: RunConfig;
  let dir: string;
  let model: LabModel;
  let corpus: Corpus;
  let resumeState: TrainerState | undefined;
  let lock: { release(): void };
  if (f.resume !== undefined) {
    dir = path.resolve(String(f.resume));
    for (const k of ["preset", "corpus", "text", "out", "seed", "lr", "batch", "eval-every", "objective", "mtp-heads", "dropout", "dropout-schedule", "dropout-at", "teacher", "kd", "kd-temperature", "kd-weight", "snapshot-every"]) {
      if (f[k] !== undefined) throw new UsageError(`stlm train: --${k} cannot change on --resume; the run keeps the settings its checkpoint in ${dir} records`);
    }
    if (f.steps !== undefined) {
      throw new UsageError(`stlm train: --steps cannot change on --resume: a resumed run continues to its planned total, exactly as if it had never stopped. To train a finished or running plan for longer, use --extend-to N.`);
    }
    if (!existsSync(path.join(dir, "config.json"))) throw new UsageError(`stlm train: ${dir} has no config.json; is it a run folder written by \`stlm train --out\`?`);
    lock = await acquireRunLock(dir);
    try {
      run = await readJson<RunConfig>(path.join(dir, "config.json"));
      await initNodeThreads(threadsFlag(f), backend);
      const ckpt = await loadCheckpointFile(dir);
      if (ckpt.note) process.stderr.write(`note: ${ckpt.note}\n`);
      if (!ckpt.trainer) throw new UsageError(`stlm train: the checkpoint in ${dir} holds weights only (no optimizer state), so it cannot be resumed.`);
      checkAgreement(dir, run, ckpt);
      run.spec = ckpt.spec;
      run.train = ckpt.trainConfig;
      const extendTo = f["extend-to"] as number | undefined;
      if (extendTo !== undefined) {
        if (extendTo <= run.train.steps) throw new UsageError(`stlm train: --extend-to ${extendTo} is not longer than the run's planned ${run.train.steps} steps; give a larger total.`);
        run.extensions = [...(run.extensions ?? []), { atStep: ckpt.trainer.step, fromSteps: run.train.steps, toSteps: extendTo, at: new Date().toISOString() }];
        run.train = validateTrainConfig({ ...run.train, steps: extendTo });
      } else if (ckpt.trainer.step >= run.train.steps) {
        throw new UsageError(`stlm train: the run in ${dir} already finished ${ckpt.trainer.step} of ${run.train.steps} steps; use --extend-to N to train it on to a total of N steps.`);
      }
      // A killed run may have logged steps past its last checkpoint: they are trained again, so their rows go.
      const dropped = await truncateMetrics(path.join(dir, "metrics.jsonl"), ckpt.trainer.step);
      if (dropped > 0) process.stderr.write(`note: dropped ${dropped} metrics row(s) logged after the checkpoint's step ${ckpt.trainer.step}; they are trained again now\n`);
      const droppedSnapshots = await truncateMetrics(path.join(dir, SNAPSHOTS_FILE), ckpt.trainer.step);
      if (droppedSnapshots > 0) process.stderr.write(`note: dropped ${droppedSnapshots} snapshot(s) taken after the checkpoint's step ${ckpt.trainer.step}; they are taken again now\n`);
      model = labModelFromCheckpoint(ckpt);
      resumeState = ckpt.trainer;
      corpus = await loadSource(run.source);
      if (extendTo !== undefined) await writeJson(path.join(dir, "config.json"), run);
    } catch (e) {
      lock.release();
      throw e;
    }
  } else {
    if (f.out === undefined) throw new UsageError("stlm train: --out DIR is required (the folder the run is written to)");
    if ((f.corpus === undefined) === (f.text === undefined)) throw new UsageError("stlm train: give exactly one of --corpus NAME or --text FILE");
    const preset = (f.preset as string | undefined) ?? "nano";
    const snapshotEvery = parseSnapshotEvery(f["snapshot-every"] as string | undefined);
    const overrides: Partial<TrainConfig> = {};
    if (f.steps !== undefined) overrides.steps = f.steps as number;
    if (f.seed !== undefined) overrides.seed = f.seed as number;
    if (f.lr !== undefined) overrides.learningRate = f.lr as number;
    if (f.batch !== undefined) overrides.batchSize = f.batch as number;
    if (f["eval-every"] !== undefined) overrides.evalEvery = f["eval-every"] as number;
    if (f["dropout-schedule"] !== undefined) {
      overrides.dropoutSchedule = String(f["dropout-schedule"]);
      try {
        parseDropoutSchedule(overrides.dropoutSchedule, 0, 1);
      } catch (e) {
        throw new UsageError(`stlm train: --dropout-schedule: ${(e as Error).message.replace(/^Invalid config: dropoutSchedule: /, "")}`);
      }
    }
    presetTrainConfig(preset, overrides); // a bad preset or setting is refused before any file is touched
    const objective = parseObjectiveFlag(f.objective as string | undefined, f["mtp-heads"] as string | undefined);
    if (objective && !Object.hasOwn(PRESETS, preset)) throw new UsageError(`stlm train: --objective ${f.objective} trains a plain byte model (presets ${Object.keys(PRESETS).join(", ")}); preset ${preset} is not one`);
    const source: RunConfig["source"] = f.corpus !== undefined ? { corpus: String(f.corpus) } : { text: path.resolve(String(f.text)) };
    const distill = distillFlags(f);
    corpus = await loadSource(source);
    let { spec, train } = presetSpec(preset, corpus.train, overrides);
    if (objective) spec = validateSpec({ ...(spec as Extract<ModelSpec, { kind: "bytes" }>), objective });
    spec = withDropout(spec, f);
    checkSchedule(spec, train);
    const distillRecord = distill ? await teacherRecord(distill, String(f.teacher)) : undefined;
    dir = await prepareNewRunFolder(String(f.out));
    lock = await acquireRunLock(dir);
    await initNodeThreads(threadsFlag(f), backend);
    let budget: BudgetPlan | undefined;
    if (f.budget !== undefined) {
      const ms = await measureStepMs(spec, train, corpus.train);
      budget = planBudget(f.budget as number, ms, train);
      train = validateTrainConfig({ ...train, steps: budget.steps, warmupSteps: budget.warmupSteps });
      if (!f.quiet) process.stderr.write(`budget ${budget.budgetSeconds} s: ${budget.msPerStep} ms a step measured -> ${budget.steps} steps (warmup ${budget.warmupSteps})\n`);
    }
    const every = snapshotEvery === "auto" ? autoSnapshotEvery(train.steps) : snapshotEvery;
    const snapshots = every > 0 ? defaultSnapshotConfig(every) : undefined;
    run = { preset, source, ...(spec.kind === "bytes" ? { model: spec.model } : {}), spec, train, ...(budget ? { budget } : {}), ...(distillRecord ? { distill: distillRecord } : {}), ...(snapshots ? { snapshots } : {}) };
    model = createModel(spec, train.seed);
  }
  try {
    await train(f, dir, run, model, corpus, resumeState, backend);
  } finally {
    lock.release();
  }
}

async function train(f: Record<string, unknown>, dir: string, run: RunConfig, model: LabModel, corpus: Corpus, resumeState: TrainerState | undefined, backend: "wasm" | "cpu"): Promise<void> {
  const info = await initNodeThreads(threadsFlag(f), backend);
  const spec = run.spec!;
  const log = (s: string) => process.stderr.write(s);
  let trainer: Trainer | null = null;
  let teacher: LabModel | null = null;
  try {
    const { data, bytesPerPosition } = trainingBatches(model, corpus.train);
    if (run.distill) {
      teacher = await loadTeacher(run.distill);
      log(`distilling from ${run.distill.teacher} (${teacher.parameterCount().toLocaleString("en-US")} parameters): ${run.distill.direction} KL, T = ${run.distill.temperature}, alpha ${run.distill.weightFrom === run.distill.weightTo ? run.distill.weightFrom : `${run.distill.weightFrom} -> ${run.distill.weightTo}`}\n`);
    }
    let trained: TrainableModel = model;
    try {
      if (teacher) trained = new DistilledStudent(model, teacher, run.distill!, run.train.steps);
    } catch (e) {
      throw new UsageError(`stlm train: ${(e as Error).message.replace(/^Invalid config: \w+: /, "")}`);
    }
    log(`${run.preset}${spec.kind === "bytes" && spec.objective ? ` (${objectiveLabel(spec.objective)})` : ""}: ${model.parameterCount().toLocaleString("en-US")} parameters, ${corpus.name} (${corpus.train.length.toLocaleString("en-US")} training bytes), backend ${info.name}${info.simd ? "+simd" : ""}, ${info.kernelThreads} thread(s)\n`);
    const t = new Trainer({
      model: trained,
      data,
      train: run.train,
      state: resumeState,
      evaluate: () => bitsPerByte(model.byteScorer, corpus.val, { maxBytes: run.train.evalBytes }),
      // A pooled model's collapse guard: the pooled vectors' variance across chunks at each evaluation.
      diagnose: model instanceof PooledLM ? collapseGuard(model, corpus.val, { learningRate: run.train.learningRate }) : undefined,
      snapshot: run.snapshots ? { every: run.snapshots.every, take: (step) => takeSnapshot(model, step, run.snapshots!) } : undefined
    });
    trainer = t;
    const startedAt = new Date().toISOString();
    if (!resumeState) await writeJson(path.join(dir, "config.json"), { ...run, backend: info, createdAt: startedAt });
    const recordParts = await runRecordParts(dir, run, corpus, info, resumeState ? undefined : startedAt);

    const samplesFile = path.join(dir, "samples.json");
    const savedStep = resumeState?.step ?? 0;
    const samples: { step: number; text: string }[] = existsSync(samplesFile) ? (await readJson<{ step: number; text: string }[]>(samplesFile)).filter((s) => s.step <= savedStep) : [];
    const save = async () => {
      const ckpt = encodeCheckpoint({
        spec,
        trainConfig: run.train,
        weights: await model.weights(),
        trainer: await t.state(),
        meta: { preset: run.preset, source: run.source, backend: info.name, savedAt: new Date().toISOString(), ...(run.extensions ? { extensions: run.extensions } : {}), ...(run.distill ? { distill: run.distill } : {}) }
      });
      await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), ckpt);
      await writeCliRunRecord(recordParts);
    };

    let interrupted = false;
    const onSigint = () => {
      if (interrupted) {
        log("\nquitting without saving; the last saved checkpoint is intact\n");
        process.exit(130);
      }
      interrupted = true;
      log("\nstopping after this step and saving the checkpoint (Ctrl-C again to quit without saving)\n");
      t.stop();
    };
    process.on("SIGINT", onSigint);

    const tty = process.stderr.isTTY && !f.quiet;
    const pooled = model instanceof PooledLM && model.config.strategy === "learned" ? model : null;
    let lastVal = NaN;
    let last: Extract<TrainEvent, { kind: "step" }> | null = null;
    const tokensPerSecond: number[] = [];
    let lastPrinted = 0;
    let doneStep = 0;
    // Wall time of the loop, evaluations, samples and checkpoints included (trainingSeconds counts steps only).
    const wallStart = performance.now();
    try {
      for await (const e of t.run()) {
        if (e.kind === "step") {
          last = e;
          tokensPerSecond.push(e.tokensPerSecond);
          await appendJsonl(path.join(dir, "metrics.jsonl"), {
            step: e.step,
            loss: round(e.loss),
            lr: e.lr,
            dropout: round(e.dropout),
            gradNorm: round(e.gradNorm),
            tokensPerSecond: Math.round(e.tokensPerSecond),
            ...(bytesPerPosition !== 1 ? { bytesPerSecond: Math.round(e.tokensPerSecond * bytesPerPosition) } : {}),
            ...(pooled ? { boundaryRate: round(pooled.lastBoundaryRate) } : {}),
            elapsedMs: Math.round(e.elapsedMs)
          });
          const line = progressLine(e.step, run.train.steps, [
            `loss ${e.loss.toFixed(3)}`,
            `val ${Number.isNaN(lastVal) ? "-" : lastVal.toFixed(3)} bpb`,
            `${Math.round(e.tokensPerSecond * bytesPerPosition).toLocaleString("en-US")} bytes/s`,
            `ETA ${formatDuration(e.etaMs)}`
          ]);
          if (tty) log(`\r${line}`);
          else if (!f.quiet && (e.step - lastPrinted >= 25 || e.step === run.train.steps)) {
            log(line + "\n");
            lastPrinted = e.step;
          }
        } else if (e.kind === "eval") {
          lastVal = e.valBitsPerByte;
          await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, valBitsPerByte: round(e.valBitsPerByte), elapsedMs: Math.round(e.elapsedMs) });
          const text = decodeBytes(await model.generate(encodeText("\n\n"), { tokens: 160, temperature: 0.8, topK: 40, seed: e.step }));
          samples.push({ step: e.step, text });
          await writeJson(samplesFile, samples);
          await save();
        } else if (e.kind === "snapshot") {
          await appendJsonl(path.join(dir, SNAPSHOTS_FILE), e.snapshot);
        } else if (e.kind === "diagnostic") {
          await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, [e.name]: Number(e.value.toPrecision(4)) });
          if (e.warning) log(`${tty ? "\n" : ""}warning: step ${e.step}: ${e.warning}\n`);
        } else if (e.kind === "done") {
          doneStep = e.step;
          await save();
          const summary = {
            preset: run.preset,
            source: run.source,
            kind: spec.kind,
            ...(spec.kind === "bytes" && spec.objective ? { objective: spec.objective } : {}),
            parameters: model.parameterCount(),
            steps: e.step,
            plannedSteps: run.train.steps,
            stopped: e.stopped,
            finalLoss: last ? round(last.loss) : null,
            valBitsPerByte: Number.isNaN(lastVal) ? null : round(lastVal),
            meanTokensPerSecond: tokensPerSecond.length ? Math.round(tokensPerSecond.reduce((a, b) => a + b, 0) / tokensPerSecond.length) : null,
            meanBytesPerSecond: tokensPerSecond.length ? Math.round((bytesPerPosition * tokensPerSecond.reduce((a, b) => a + b, 0)) / tokensPerSecond.length) : null,
            trainingSeconds: Math.round(e.elapsedMs / 100) / 10,
            wallSeconds: Math.round((performance.now() - wallStart) / 100) / 10,
            wallTokensPerSecond: Math.round(((e.step - savedStep) * run.train.batchSize * model.blockSize) / ((performance.now() - wallStart) / 1000)),
            ...(run.distill ? { distill: run.distill } : {}),
            backend: info,
            finishedAt: new Date().toISOString()
          };
          await writeJson(path.join(dir, "summary.json"), summary);
          await writeCliRunRecord({ ...recordParts, finished: { at: summary.finishedAt, stopped: e.stopped } });
          if (tty) log("\n");
          log(`${e.stopped ? "stopped" : "done"} at step ${e.step}: loss ${summary.finalLoss}, val ${summary.valBitsPerByte} bits/byte; run saved in ${dir}\n`);
        }
      }
    } catch (err) {
      if (tty) log("\n");
      throw new Error(`${(err as Error).message}\nThe last checkpoint saved in ${dir} (if any) is intact; continue with \`stlm train --resume ${dir}\`.`);
    } finally {
      process.off("SIGINT", onSigint);
    }
    if (interrupted && doneStep < run.train.steps) {
      throw new Interrupted(`stopped by Ctrl-C at step ${doneStep} of ${run.train.steps}; the checkpoint is saved: continue with \`stlm train --resume ${dir}\``);
    }
  } finally {
    trainer?.dispose();
    teacher?.dispose();
    model.dispose();
  }
}

/**
 * What run.json says about the run besides its metrics. A resumed run keeps the start
 * time and data identity its run.json recorded, and refuses data whose bytes changed.
 */
async function runRecordParts(dir: string, run: RunConfig, corpus: Corpus, info: BackendInfo, startedAt: string | undefined): Promise<CliRunParts> {
  const dataName = "corpus" in run.source ? run.source.corpus : `text:${path.basename(run.source.text)}`;
  const data = dataIdentity(dataName, corpus);
  let started = startedAt;
  let id: string | undefined;
  if (started === undefined) {
    const previous = await readRunRecord(dir).catch(() => null);
    if (previous?.data.sha256 && previous.data.sha256 !== data.sha256) {
      throw new UsageError(
        `stlm train: the data this run trained on has changed since it started (${dataName}: SHA-256 ${data.sha256!.slice(0, 12)}…, run.json records ${previous.data.sha256.slice(0, 12)}…); resuming on other bytes would not continue this run. Restore the data, or start a new run with --out.`
      );
    }
    started = previous?.startedAt ?? new Date().toISOString();
    id = previous?.id;
  }
  const label = `${run.preset}${run.spec?.kind === "bytes" && run.spec.objective ? ` (${objectiveLabel(run.spec.objective)})` : ""} on ${dataName}, seed ${run.train.seed}`;
  return { dir, label, preset: run.preset, spec: run.spec!, train: run.train, data, runtime: nodeRuntime(info), startedAt: started, ...(id ? { id } : {}) };
}

/** --threads, or every core. */
function threadsFlag(f: Record<string, unknown>): number {
  return (f.threads as number | undefined) ?? Math.min(32, availableCores());
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}

/** The spec with --dropout and --dropout-at applied to its transformer (a byte or token model's, a pooled or local-stack model's core). */
function withDropout(spec: ModelSpec, f: Record<string, unknown>): ModelSpec {
  if (f.dropout === undefined && f["dropout-at"] === undefined) return spec;
  const s = structuredClone(spec);
  const target = "core" in s ? s.core : s.model;
  try {
    if (f.dropout !== undefined) target.dropout = f.dropout as number;
    if (f["dropout-at"] !== undefined) target.dropoutSites = parseDropoutSites(String(f["dropout-at"]));
  } catch (e) {
    throw new UsageError(`stlm train: --dropout-at: ${(e as Error).message.replace(/^Invalid config: dropoutSites: /, "")}`);
  }
  return validateSpec(s);
}

/** A schedule that needs the model's rate (constant, early, late) with a rate of 0 would train without dropout: say so. */
function checkSchedule(spec: ModelSpec, train: TrainConfig): void {
  const rate = "core" in spec ? spec.core.dropout : spec.model.dropout;
  const schedule = parseDropoutSchedule(train.dropoutSchedule, rate, train.steps);
  if (train.dropoutSchedule !== "constant" && maxDropout(schedule) === 0) {
    throw new UsageError(`stlm train: --dropout-schedule ${train.dropoutSchedule} uses the model's dropout rate, which is 0: give --dropout P (e.g. --dropout 0.1), or a schedule with its own rates (linear:A:B, triangle:A:B)`);
  }
}

function distillFlags(f: Record<string, unknown>): DistillConfig | null {
  const given = ["kd", "kd-temperature", "kd-weight"].filter((k) => f[k] !== undefined);
  if (f.teacher === undefined) {
    if (given.length) throw new UsageError(`stlm train: --${given[0]} sets up distillation, which needs --teacher DIR (the run folder of a bigger model)`);
    return null;
  }
  const direction = (f.kd as string | undefined) ?? "forward";
  if (direction !== "forward" && direction !== "reverse") throw new UsageError(`stlm train: --kd must be forward (KL(teacher‖student)) or reverse (KL(student‖teacher)) (got "${direction}")`);
  let weight: [number, number];
  try {
    weight = parseKdWeight((f["kd-weight"] as string | undefined) ?? "0.5");
  } catch (e) {
    throw new UsageError(`stlm train: --kd-weight: ${(e as Error).message.replace(/^Invalid config: kdWeight: /, "")}`);
  }
  return validateDistillConfig({ direction: direction as KdDirection, temperature: (f["kd-temperature"] as number | undefined) ?? 1, weightFrom: weight[0], weightTo: weight[1] });
}

async function teacherRecord(kd: DistillConfig, dir: string): Promise<DistillRecord> {
  const file = path.resolve(dir);
  const bytes = await readFile(checkpointPath(file)).catch(() => {
    throw new UsageError(`stlm train: --teacher ${dir} has no checkpoint to read (${checkpointPath(file)}); give the run folder of a trained model`);
  });
  return { ...kd, teacher: file, teacherSha256: sha256(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)) };
}

/** Loads a distilled run's teacher, checking it is the file the run was started with. */
async function loadTeacher(d: DistillRecord): Promise<LabModel> {
  const bytes = await readFile(checkpointPath(d.teacher)).catch(() => {
    throw new UsageError(`stlm train: the teacher ${d.teacher} cannot be read; put its run folder back where it was (config.json "distill.teacher")`);
  });
  const hash = sha256(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (hash !== d.teacherSha256) throw new UsageError(`stlm train: the teacher's checkpoint ${d.teacher} has changed since the run started (SHA-256 ${hash.slice(0, 12)}…, expected ${d.teacherSha256.slice(0, 12)}…); distilling from another teacher would not continue this run`);
  const ckpt = await loadCheckpointFile(d.teacher);
  const teacher = labModelFromCheckpoint(ckpt);
  try {
    byteLogitsOf(teacher, "teacher");
  } catch (e) {
    teacher.dispose();
    throw new UsageError(`stlm train: --teacher ${d.teacher}: ${(e as Error).message.replace(/^Invalid config: teacher: /, "")}`);
  }
  return teacher;
}
