// The precomputed comparison for src/tokenizer-free.md: plain bytes, BPE tokens,
// the STLM paper's pooled decoder, its fixed causal variant, and the local-stack
// model with stride, word and entropy boundaries, at equal wall-clock training
// time, over several seeds, at a short and a long context and at two budgets.
//
//   node --import tsx scripts/tokenizer-free-compare.ts --ctx 128 --budgets 30,90 --seeds 1,2,3 [--only bytes,local-word] [--corpus austen] [--calibration FILE [--calibrate-only]]
//   node --import tsx scripts/tokenizer-free-compare.ts --ctx 128,512 --specs-only     # every model's spec, for "Re-run and check"
//
// Equal time, honestly: each (model, context) has its step time measured once
// (a throwaway copy, 2 warm-up steps then 6 timed, all models one after another
// in one process at the start), and every seed of it is then planned from that
// measurement (lib/train/budget.ts), so the schedule ends when the budget does. The
// step count is what a run trains; the measured times are recorded beside it.
// Merges its runs into data/runs/tokenizer-free/<corpus>-compare.json (a run of
// the same kind, context, budget and seed is replaced), so contexts and budgets
// can be made by separate invocations.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../lib/node/data.js";
import { writeFileAtomic } from "../lib/node/files.js";
import { tf } from "../lib/tf.js";
import { Trainer } from "../lib/train/trainer.js";
import { bitsPerByte, minimalPairs } from "../lib/eval/eval.js";
import { trainBpe } from "../lib/text/bpe.js";
import { trainEntropyModel } from "../lib/text/entropy.js";
import { measureStepMs, planBudget } from "../lib/train/budget.js";
import { BPE_VOCAB, COMPARE_MODELS, buildModel, compareSpec, compareTrain, type CompareModel } from "../lib/experiments/tokenizer-free.js";
import { parseFlags } from "../lib/cli/args.js";
import type { TrainConfig } from "../lib/config.js";

const MODELS = COMPARE_MODELS;

const f = parseFlags(process.argv.slice(2), { corpus: "string", ctx: "string", budgets: "string", seeds: "string", only: "string", "eval-bytes": "number", calibration: "string", "calibrate-only": "boolean", "specs-only": "boolean", out: "string" }, "compare");
const corpusName = (f.corpus as string | undefined) ?? "austen";
const contexts = String(f.ctx ?? "128").split(",").map(Number);
const budgets = String(f.budgets ?? "90").split(",").map(Number);
const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
const only = f.only ? String(f.only).split(",") : MODELS.map((m) => m.id);
const evalBytes = (f["eval-bytes"] as number | undefined) ?? 32768;
const models = MODELS.filter((m) => only.includes(m.id));
const log = (s: string) => process.stderr.write(s + "\n");

const info = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
let t0 = performance.now();
const bpe = trainBpe(corpus.train, BPE_VOCAB);
const entropy = trainEntropyModel(corpus.train);
log(`BPE (${BPE_VOCAB}) and entropy model made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const pairs = (await loadEvalSet("minimal-pairs")).filter((_, i, a) => i % Math.ceil(a.length / 200) === 0);
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();

/** Every model reads about 2,048 bytes a step: 16 rows of 128 bytes, 4 of 512; BPE tokens are ~3 bytes each (lib/experiments/tokenizer-free.ts). */
function setup(m: CompareModel, ctx: number) {
  return { config: compareSpec(m, ctx, bpe, entropy), train: compareTrain(m, ctx) };
}

// --specs-only: write every compared model's spec (the BPE's merges and the entropy model included) to
// data/runs/tokenizer-free/<corpus>-specs.json, for the page's "Re-run and check" (lib/runs/precomputed.ts).
if (f["specs-only"]) {
  const specs = Object.fromEntries(contexts.flatMap((ctx) => models.map((m) => [`${m.id}@${ctx}`, setup(m, ctx).config])));
  const file = path.join(REPO_ROOT, "data", "runs", "tokenizer-free", `${corpusName}-specs.json`);
  await writeFileAtomic(file, JSON.stringify({ corpus: corpusName, bpeVocab: BPE_VOCAB, entropyThreshold: entropy.threshold, command: `node --import tsx scripts/tokenizer-free-compare.ts ${process.argv.slice(2).join(" ")}`.trim(), specs }) + "\n");
  log(`wrote ${file}`);
  process.exit(0);
}

// Step times, measured once per (model, context), before any run.
const calibrationFile = f.calibration ? path.resolve(String(f.calibration)) : null;
const calibration: Record<string, number> = calibrationFile && existsSync(calibrationFile) ? JSON.parse(await readFile(calibrationFile, "utf8")) : {};
for (const ctx of contexts) {
  for (const m of models) {
    const key = `${m.id}@${ctx}`;
    if (calibration[key]) continue;
    const { config, train } = setup(m, ctx);
    calibration[key] = Math.round((await measureStepMs(config, train, corpus.train, { warm: 2, timed: 6 })) * 100) / 100;
    log(`${key}: ${calibration[key]} ms a step`);
  }
}
if (calibrationFile) await writeFileAtomic(calibrationFile, JSON.stringify(calibration, null, 2) + "\n");
if (f["calibrate-only"]) process.exit(0);

// --out: a file of its own for a sweep run beside another (two processes must not merge into one file).
const outFile = f.out ? path.resolve(String(f.out)) : path.join(REPO_ROOT, "data", "runs", "tokenizer-free", `${corpusName}-compare.json`);
const previous = existsSync(outFile) ? JSON.parse(await readFile(outFile, "utf8")) : { runs: [] };
const runs: Record<string, unknown>[] = previous.runs;
const round = (x: number) => Math.round(x * 1e4) / 1e4;

for (const budget of budgets) {
  for (const ctx of contexts) {
    for (const m of models) {
      for (const seed of seeds) {
        const { config, train: base } = setup(m, ctx);
        const msPerStep = calibration[`${m.id}@${ctx}`];
        const plan = planBudget(budget, msPerStep, base);
        const train: TrainConfig = { ...base, steps: plan.steps, warmupSteps: plan.warmupSteps, seed };
        const tensorsBefore = tf.memory().numTensors;
        const built = buildModel(config, corpus.train, seed);
        const trainer = new Trainer({ model: built.model, data: built.data, train, logEvery: 10 });
        const losses: { step: number; loss: number }[] = [];
        let trainMs = 0;
        for await (const e of trainer.run()) {
          if (e.kind === "step") losses.push({ step: e.step, loss: round(e.loss) });
          else if (e.kind === "done") trainMs = e.elapsedMs;
        }
        t0 = performance.now();
        const val = await bitsPerByte(built.scorer, corpus.val, { maxBytes: evalBytes });
        const mp = ctx === contexts[0] ? (await minimalPairs(built.scorer, pairs)).accuracy : null;
        const evalSeconds = (performance.now() - t0) / 1000;
        const run = {
          model: m.id,
          label: m.label,
          kind: m.kind,
          ctx,
          budgetSeconds: budget,
          seed,
          parameters: built.model.parameterCount(),
          plannedMsPerStep: msPerStep,
          steps: plan.steps,
          warmupSteps: plan.warmupSteps,
          batchSize: train.batchSize,
          learningRate: train.learningRate,
          trainSeconds: round(trainMs / 1000),
          valBitsPerByte: round(val),
          minimalPairs: mp === null ? null : round(mp),
          evalSeconds: round(evalSeconds),
          losses
        };
        trainer.dispose();
        built.model.dispose();
        if (tf.memory().numTensors > tensorsBefore) log(`  warning: ${tf.memory().numTensors - tensorsBefore} tensors leaked`);
        log(`${m.id} ctx ${ctx} budget ${budget} s seed ${seed}: ${plan.steps} steps (${(trainMs / 1000).toFixed(0)} s trained), val ${run.valBitsPerByte} bits/byte`);
        const i = runs.findIndex((r) => r.model === m.id && r.ctx === ctx && r.budgetSeconds === budget && r.seed === seed);
        if (i >= 0) runs[i] = run;
        else runs.push(run);
        // Written after every run, so an interrupted sweep keeps what it made.
        await writeFileAtomic(
          outFile,
          JSON.stringify({
            corpus: corpusName,
            evalBytes,
            bpeVocab: BPE_VOCAB,
            entropyThreshold: entropy.threshold,
            backend: info,
            commit,
            calibration: { ...(previous.calibration ?? {}), ...calibration },
            commands: [...new Set([...(previous.commands ?? []), `node --import tsx scripts/tokenizer-free-compare.ts ${process.argv.slice(2).join(" ")}`.trim()])],
            updatedAt: new Date().toISOString(),
            runs
          }) + "\n"
        );
      }
    }
  }
}
log(`wrote ${outFile}`);
