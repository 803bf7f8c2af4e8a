// The objectives page's precomputed comparison: next-byte vs mtp:2 vs mtp:4 vs
// mntp:0.15 (lib/experiments/objectives.ts) on the nano and micro presets, several
// seeds, at equal steps and at equal training time (an objective whose steps are
// slower gets proportionally fewer, planned from the step times measured in its
// equal-steps run of the same seed); validation bits/byte of head 1, each head's
// cross-entropy, and the minimal-pair score. Then self-speculative sampling from the
// nano mtp:4 and mtp:2 models of the first seed: acceptance by draft position, bytes
// per forward pass and wall-clock speed-up over plain sampling. Writes
// data/runs/objectives/compare.json and the nano mtp:4 model's weights
// (data/runs/objectives/nano-mtp4.safetensors) for the page's sampler; `--sampler N`
// then replaces that model and its measurements by an mtp:4 model trained N steps.
//
//   nice -n 10 node --import tsx scripts/objectives-runs.ts [--corpus austen] [--seeds 1,2,3] [--nano-steps 120] [--micro-steps 80] [--pairs 200]
//   nice -n 10 node --import tsx scripts/objectives-runs.ts --seeds 1 --sampler 600     # then: the sampler's longer-trained model
//   nice -n 10 node --import tsx scripts/objectives-runs.ts --losses [--sizes nano] [--seeds 1]     # then: the runs' loss curves, for "Re-run and check"
//   nice -n 10 node --import tsx scripts/objectives-runs.ts --keep-sampler [--out DIR]      # the comparison again, the sampler kept
//
// Every run keeps its training loss at every step (4 decimals) as `losses`, the curve
// "Re-run and check" compares (files made before this kept none; --losses below added
// some later). --keep-sampler: remake the comparison's runs only, and carry the
// sampler's longer-trained model and its speculative measurements (`sampler`,
// `speculative`, data/runs/objectives/nano-mtp4.safetensors, made by `--sampler N`) over
// from the existing file unchanged, instead of measuring the comparison's 120-step
// models and overwriting the sampler's. --out DIR: write compare.json there instead
// of data/runs/objectives (what it reads with --keep-sampler stays the committed file).
//
// --losses trains every stored run again from the file's facts (lib/runs/precomputed.ts
// objectiveRunFigure, lib/runs/rerun.ts, as the page's re-check does), and adds its
// training loss every 5th step and at its last (4 decimals) as `losses`, only where the
// re-run's last loss equals the stored finalLoss to its 4 decimals: the curve is then
// the figure's run's. A run that does not reproduce keeps no curve, and is named.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet } from "../lib/node/data.js";
import { parseFlags } from "../lib/cli/args.js";
import { OBJECTIVE_ARMS, headBits, objectiveRun, objectiveSpec, objectiveTrain, unigramBits } from "../lib/experiments/objectives.js";
import { minimalPairs } from "../lib/eval/eval.js";
import { ObjectiveLM } from "../lib/models/objectives.js";
import { measureSpeculative } from "../lib/eval/speculative.js";
import { encodeCheckpoint } from "../lib/train/checkpoint.js";
import type { LabModel } from "../lib/models/models.js";
import type { TrainConfig } from "../lib/config.js";
import { objectiveRunFigure, type ObjectivesFile } from "../lib/runs/precomputed.js";
import { rerunTrainer } from "../lib/runs/rerun.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const f = parseFlags(process.argv.slice(2), { corpus: "string", seeds: "string", "nano-steps": { kind: "int", min: 1 }, "micro-steps": { kind: "int", min: 1 }, pairs: { kind: "int", min: 1 }, sizes: "string", sampler: { kind: "int", min: 1 }, losses: "boolean", "keep-sampler": "boolean", out: "string" }, "objectives-runs");
const corpusName = (f.corpus as string | undefined) ?? "austen";
const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
const sizes = String(f.sizes ?? "nano,micro").split(",");
const stepsOf: Record<string, number> = { nano: (f["nano-steps"] as number | undefined) ?? 120, micro: (f["micro-steps"] as number | undefined) ?? 80 };
const pairLimit = (f.pairs as number | undefined) ?? 200;
const keepSampler = f["keep-sampler"] === true;
const command = `nice -n 10 node --import tsx scripts/objectives-runs.ts --corpus ${corpusName} --seeds ${seeds.join(",")} --sizes ${sizes.join(",")} --nano-steps ${stepsOf.nano} --micro-steps ${stepsOf.micro} --pairs ${pairLimit}${keepSampler ? " --keep-sampler" : ""}`;

const backend = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
const allPairs = await loadEvalSet("minimal-pairs");
const pairs = Array.from({ length: Math.min(pairLimit, allPairs.length) }, (_, i) => allPairs[Math.floor((i * allPairs.length) / Math.min(pairLimit, allPairs.length))]);
const committedDir = path.join(ROOT, "data", "runs", "objectives");
const outDir = f.out ? path.resolve(String(f.out)) : committedDir;
await mkdir(outDir, { recursive: true });
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const log = (s: string) => process.stderr.write(s + "\n");

interface RunRecord {
  size: string;
  arm: string;
  seed: number;
  budget: "steps" | "time";
  steps: number;
  parameters: number;
  trainingSeconds: number;
  /** Wall-clock time a step, as the Trainer measured it. */
  wallMsPerStep: number;
  /** Processor time of this process a step: what equal-time budgets are planned from. */
  msPerStep: number;
  valBitsPerByte: number;
  headBits: number[];
  minimalPairs: number;
  finalLoss: number;
  /** The training loss at every step (4 decimals). */
  losses: { step: number; loss: number }[];
}

const runs: RunRecord[] = [];
const keep = new Map<string, LabModel>();

async function trainArm(size: string, armId: string, seed: number, budget: "steps" | "time", train: TrainConfig): Promise<RunRecord> {
  const arm = OBJECTIVE_ARMS.find((a) => a.id === armId)!;
  const { model, trainer } = objectiveRun(objectiveSpec(size, arm.objective), train, corpus);
  let val = NaN;
  let loss = NaN;
  let elapsed = 0;
  // Processor time of this process over the steps (the evaluation after the last step excluded): on a machine
  // shared with other jobs it varies far less than wall-clock time, so equal-time budgets are planned from it.
  const cpuStart = process.cpuUsage();
  let cpuMs = 0;
  const losses: { step: number; loss: number }[] = [];
  for await (const e of trainer.run()) {
    if (e.kind === "step") {
      loss = e.loss;
      losses.push({ step: e.step, loss: round(e.loss) });
      const u = process.cpuUsage(cpuStart);
      cpuMs = (u.user + u.system) / 1000;
    } else if (e.kind === "eval") val = e.valBitsPerByte;
    else if (e.kind === "done") elapsed = e.elapsedMs;
  }
  trainer.dispose();
  const mp = await minimalPairs(model.byteScorer, pairs);
  const rec: RunRecord = {
    size, arm: armId, seed, budget, steps: train.steps, parameters: model.parameterCount(),
    trainingSeconds: round(elapsed / 1000, 1), wallMsPerStep: round(elapsed / train.steps, 1), msPerStep: round(cpuMs / train.steps, 1),
    valBitsPerByte: round(val), headBits: (await headBits(model, corpus.val)).map((b) => round(b)), minimalPairs: round(mp.accuracy), finalLoss: round(loss), losses
  };
  if (losses.length !== train.steps) throw new Error(`${size} ${armId} seed ${seed}: ${losses.length} step losses logged for ${train.steps} steps`);
  log(`${size} ${arm.label} seed ${seed} (${budget}, ${train.steps} steps, ${rec.msPerStep} cpu ms/step, ${rec.wallMsPerStep} wall): val ${rec.valBitsPerByte} bpb, heads ${rec.headBits.join(" ")}, pairs ${rec.minimalPairs}`);
  if (!keepSampler && size === "nano" && seed === seeds[0] && budget === "steps" && arm.objective?.kind === "mtp") keep.set(armId, model);
  else model.dispose();
  return rec;
}

const started = Date.now();
const speculative: unknown[] = [];
let sampler: unknown = null;
const save = async (base: Record<string, unknown> = {}) => {
  const record = {
    corpus: corpusName,
    command,
    seeds,
    steps: stepsOf,
    pairs: pairs.length,
    arms: OBJECTIVE_ARMS.map((a) => ({ id: a.id, label: a.label, objective: a.objective ?? null })),
    backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
    wallSeconds: Math.round((Date.now() - started) / 1000),
    createdAt: new Date().toISOString(),
    runs,
    speculative,
    // The context-free reference for headBits (same bytes): the training text's byte frequencies.
    unigramBits: round(unigramBits(corpus.train, corpus.val)),
    ...(sampler ? { sampler } : {}),
    ...base
  };
  // Written after every run, so an interrupted script leaves what it measured.
  await writeFile(path.join(outDir, "compare.json"), JSON.stringify(record) + "\n");
  return record;
};

const equalStepsBySize = new Map<string, RunRecord[]>();
async function equalSteps(size: string): Promise<void> {
  const S = stepsOf[size];
  const rs: RunRecord[] = [];
  for (const seed of seeds) {
    for (const arm of OBJECTIVE_ARMS) {
      const r = await trainArm(size, arm.id, seed, "steps", objectiveTrain(size, { steps: S, seed }));
      rs.push(r);
      runs.push(r);
      await save();
    }
  }
  equalStepsBySize.set(size, rs);
}

// Equal time: the next-byte runs' training time, at each arm's step time: processor time, the mean over the seeds' equal-steps runs.
async function equalTime(size: string): Promise<void> {
  const S = stepsOf[size];
  const rs = equalStepsBySize.get(size)!;
  const msPerStep = (arm: string) => {
    const r = rs.filter((x) => x.arm === arm);
    return r.reduce((a, x) => a + x.msPerStep, 0) / r.length;
  };
  for (const arm of OBJECTIVE_ARMS) {
    if (arm.id === "next") continue;
    const steps = Math.max(1, Math.round((S * msPerStep("next")) / msPerStep(arm.id)));
    for (const seed of seeds) {
      // Within 5% of the step count, the equal-steps run stands for the equal-time one.
      if (Math.abs(steps - S) <= 0.05 * S) runs.push({ ...rs.find((x) => x.arm === arm.id && x.seed === seed)!, budget: "time" });
      else runs.push(await trainArm(size, arm.id, seed, "time", objectiveTrain(size, { steps, seed })));
      await save();
    }
  }
}

// Self-speculative sampling from the kept nano models, against plain sampling of the same length.
async function measureKept(trainedSteps = stepsOf.nano): Promise<void> {
  const prompts = ["It is a truth universally acknowledged", "\n\n", "Mr. Darcy"];
  for (const [armId, model] of keep) {
    const lm = model as ObjectiveLM;
    for (const mode of [{ temperature: 0, topK: 0 }, { temperature: 0.8, topK: 40 }]) {
      const rows = [];
      for (const [i, prompt] of prompts.entries()) {
        const m = await measureSpeculative(lm, new TextEncoder().encode(prompt), { tokens: 200, ...mode, seed: i + 1 });
        rows.push({
          prompt, bytesPerPass: round(m.bytesPerPass, 3), acceptance: m.acceptance.map((a) => round(a, 3)), checked: m.speculative.checked, accepted: m.speculative.accepted,
          speculativeMs: Math.round(m.speculativeMs), plainMs: Math.round(m.plainMs), speedup: round(m.speedup, 3), sameAsPlain: m.sameAsPlain,
          text: new TextDecoder().decode(m.speculative.bytes), drafted: m.speculative.drafted.map((d) => (d ? 1 : 0)).join("")
        });
        log(`speculative ${armId} T=${mode.temperature} "${prompt.trim()}": ${m.bytesPerPass.toFixed(2)} bytes/pass, acceptance ${m.acceptance.map((a) => a.toFixed(2)).join(" ")}, ${m.speedup.toFixed(2)}x wall clock`);
      }
      speculative.push({ size: "nano", arm: armId, seed: seeds[0], steps: trainedSteps, ...mode, tokens: 200, rows });
    }
    if (armId === "mtp4") {
      const file = path.join(outDir, "nano-mtp4.safetensors");
      await writeFile(file, encodeCheckpoint({ spec: lm.spec, trainConfig: objectiveTrain("nano", { steps: trainedSteps, seed: seeds[0] }), weights: await lm.weights(), meta: { preset: "nano", source: { corpus: corpusName }, note: "weights only, for the objectives page", command } }));
    }
    lm.dispose();
  }
  keep.clear();
  await save();
}

// --losses: only add each stored run's loss curve, re-trained from the file (see the top).
if (f.losses) {
  const file = path.join(outDir, "compare.json");
  const stored = JSON.parse(await readFile(file, "utf8")) as ObjectivesFile & Record<string, unknown>;
  const key = (r: ObjectivesFile["runs"][number]) => `${r.size} ${r.arm} seed ${r.seed} ${r.steps} steps`;
  const done = new Map<string, { step: number; loss: number }[] | null>();
  // Nano first (the page's first figure), then micro.
  // --seeds and --sizes, when given, pick the runs; a run that has its curve already is skipped.
  const order = [...stored.runs]
    .filter((r) => (f.seeds === undefined || seeds.includes(r.seed)) && (f.sizes === undefined || sizes.includes(r.size)))
    .sort((a, b) => (a.size === b.size ? 0 : a.size === "nano" ? -1 : 1));
  for (const r of order) {
    if (done.has(key(r))) continue;
    if (r.losses?.length) {
      done.set(key(r), r.losses);
      continue;
    }
    const fig = objectiveRunFigure(stored, r.size, r.arm, r.seed, r.budget);
    const rerun = rerunTrainer(fig, corpus.train, null);
    const losses: { step: number; loss: number }[] = [];
    let last = NaN;
    try {
      for await (const e of rerun.trainer.run()) {
        if (e.kind !== "step") continue;
        last = e.loss;
        if (e.step % 5 === 0 || e.step === r.steps) losses.push({ step: e.step, loss: round(e.loss) });
      }
    } finally {
      rerun.dispose();
    }
    const same = round(last) === r.finalLoss;
    done.set(key(r), same ? losses : null);
    log(`${key(r)}: last loss ${last.toFixed(6)}, stored ${r.finalLoss}: ${same ? "reproduced, curve kept" : "NOT reproduced, no curve"}`);
    for (const x of stored.runs) if (key(x) === key(r)) {
      if (same) x.losses = losses;
      else delete x.losses;
    }
    await writeFile(file, JSON.stringify({ ...stored, lossesCommand: `nice -n 10 node --import tsx scripts/objectives-runs.ts ${process.argv.slice(2).join(" ")}` }) + "\n");
  }
  const missed = [...done].filter(([, v]) => v === null).map(([k]) => k);
  log(`curves added to ${done.size - missed.length} of ${done.size} distinct runs${missed.length ? `; not reproduced: ${missed.join(", ")}` : ""}`);
  process.exit(0);
}

// --sampler N: only (re)make the sampler's model, nano mtp:4 trained N steps (the comparison's short runs leave mtp:4
// at the unigram plateau, whose greedy text is all spaces), and its speculative measurements, into the existing record.
const samplerSteps = f.sampler as number | undefined;
if (samplerSteps !== undefined) {
  const previous = JSON.parse(await readFile(path.join(outDir, "compare.json"), "utf8"));
  runs.push(...previous.runs);
  const train = objectiveTrain("nano", { steps: samplerSteps, seed: seeds[0], evalEvery: Math.max(1, Math.round(samplerSteps / 6)) });
  const { model, trainer } = objectiveRun(objectiveSpec("nano", OBJECTIVE_ARMS.find((a) => a.id === "mtp4")!.objective), train, corpus);
  const evals: [number, number][] = [];
  for await (const e of trainer.run()) if (e.kind === "eval") {
    evals.push([e.step, round(e.valBitsPerByte)]);
    log(`sampler nano mtp:4 step ${e.step}: val ${e.valBitsPerByte.toFixed(3)} bpb`);
  }
  trainer.dispose();
  sampler = { size: "nano", arm: "mtp4", seed: seeds[0], steps: samplerSteps, evals, headBits: (await headBits(model, corpus.val)).map((b) => round(b)), command: `nice -n 10 node --import tsx scripts/objectives-runs.ts --corpus ${corpusName} --seeds ${seeds[0]} --sampler ${samplerSteps}` };
  keep.clear();
  keep.set("mtp4", model);
  await measureKept(samplerSteps);
  // The comparison's own facts stay as they were made.
  const record = await save({ command: previous.command, seeds: previous.seeds, steps: previous.steps, pairs: previous.pairs, wallSeconds: previous.wallSeconds, createdAt: previous.createdAt });
  log(`wrote data/runs/objectives/compare.json (sampler, ${record.wallSeconds} s)`);
  process.exit(0);
}

// --keep-sampler: the sampler and its measurements as the committed file has them.
if (keepSampler) {
  const previous = JSON.parse(await readFile(path.join(committedDir, "compare.json"), "utf8"));
  if (!previous.sampler) throw new Error("--keep-sampler: data/runs/objectives/compare.json has no sampler to keep (make one with --sampler N)");
  sampler = previous.sampler;
  speculative.push(...previous.speculative);
}
// The order puts what the page needs first: a script stopped early leaves the equal-steps comparison and the sampler's model.
for (const size of sizes) {
  await equalSteps(size);
  if (size === "nano" && !keepSampler) await measureKept();
}
for (const size of sizes) await equalTime(size);
const record = await save();
log(`wrote ${path.relative(ROOT, path.join(outDir, "compare.json"))} (${record.runs.length} runs, ${record.wallSeconds} s)`);
