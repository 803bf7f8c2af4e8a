// The precomputed comparison for src/tokenizer-free.md: plain bytes, stride-4
// pooled, BPE pooled, learned-boundary pooled and BPE tokens, each near 1M
// parameters and given the same wall-clock training budget, on one corpus.
//
//   node --import tsx scripts/tokenizer-free-compare.ts [--corpus austen] [--budget 240] [--eval-bytes 32768] [--only bytes,stride]
//
// Writes data/runs/tokenizer-free/<corpus>.json. Each model's step count is set
// from a short timing run of a throwaway copy, so its learning-rate schedule
// ends when its budget does.
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../lib/node/data.js";
import { writeFileAtomic } from "../lib/node/files.js";
import { tf } from "../lib/tf.js";
import { Trainer } from "../lib/trainer.js";
import { bitsPerByte, minimalPairs, nextSentence } from "../lib/eval.js";
import { trainBpe, type Bpe } from "../lib/bpe.js";
import { BPE_VOCAB, COMPARISON_ORDER, TOKENIZER_FREE_PRESETS, buildModel, tokenizerFreeConfig, type ComparisonKind } from "../lib/tokenizer-free.js";
import { encodeText } from "../lib/tokenizer.js";
import { parseFlags } from "../lib/cli/args.js";

const f = parseFlags(process.argv.slice(2), { corpus: "string", budget: "number", "eval-bytes": "number", only: "string", seed: "number" }, "compare");
const corpusName = (f.corpus as string | undefined) ?? "austen";
const budgetMs = ((f.budget as number | undefined) ?? 240) * 1000;
const evalBytes = (f["eval-bytes"] as number | undefined) ?? 32768;
const seed = (f.seed as number | undefined) ?? 1;
const kinds = f.only ? (String(f.only).split(",") as ComparisonKind[]) : COMPARISON_ORDER;
const TRACE_TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.";

const info = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
const log = (s: string) => process.stderr.write(s + "\n");
let t0 = performance.now();
const bpe: Bpe = trainBpe(corpus.train, BPE_VOCAB);
const bpeSeconds = (performance.now() - t0) / 1000;
log(`BPE (${BPE_VOCAB}) trained on ${corpus.train.length} bytes in ${bpeSeconds.toFixed(1)} s`);
const spread = <T>(items: T[], n: number): T[] => items.filter((_, i) => i % Math.ceil(items.length / n) === 0);
const pairs = spread(await loadEvalSet("minimal-pairs"), 200);
const nextItems = spread(await loadEvalSet("next-sentence"), 100);

const runs = [];
for (const kind of kinds) {
  const preset = Object.values(TOKENIZER_FREE_PRESETS).find((p) => p.kind === kind)!;
  const config = tokenizerFreeConfig(kind, bpe);
  // Time a throwaway copy: 2 warm-up steps, then 4 timed.
  const probe = buildModel(config, corpus.train, seed);
  const probeTrainer = new Trainer({ model: probe.model, data: probe.data, train: { ...preset.train, steps: 6, evalEvery: 0 } });
  let warmMs = 0;
  let endMs = 0;
  for await (const e of probeTrainer.run()) {
    if (e.kind === "step" && e.step === 2) warmMs = e.elapsedMs;
    if (e.kind === "step") endMs = e.elapsedMs;
  }
  probeTrainer.dispose();
  probe.model.dispose();
  const stepMs = Math.max(1, (endMs - warmMs) / 4);
  const steps = Math.max(20, Math.floor(budgetMs / stepMs));
  const train = { ...preset.train, steps, warmupSteps: Math.min(50, Math.floor(steps / 10)), evalEvery: Math.max(1, Math.floor(steps / 6)), evalBytes: 4096, seed };
  log(`${preset.label}: ${stepMs.toFixed(0)} ms/step -> ${steps} steps in ${budgetMs / 1000} s`);

  const tensorsBefore = tf.memory().numTensors;
  const built = buildModel(config, corpus.train, seed);
  const trainer = new Trainer({
    model: built.model,
    data: built.data,
    train,
    logEvery: 5,
    evaluate: () => bitsPerByte(built.scorer, corpus.val, { maxBytes: train.evalBytes })
  });
  const curve: { step: number; elapsedMs: number; valBitsPerByte: number }[] = [];
  const losses: { step: number; elapsedMs: number; loss: number; boundaryRate?: number }[] = [];
  const speeds: number[] = [];
  let trainMs = 0;
  for await (const e of trainer.run()) {
    if (e.kind === "step") {
      speeds.push(e.tokensPerSecond * built.bytesPerPosition);
      losses.push({ step: e.step, elapsedMs: Math.round(e.elapsedMs), loss: round(e.loss), ...(built.pooled && kind === "learned" ? { boundaryRate: round(built.pooled.lastBoundaryRate) } : {}) });
    } else if (e.kind === "eval") {
      curve.push({ step: e.step, elapsedMs: Math.round(e.elapsedMs), valBitsPerByte: round(e.valBitsPerByte) });
      log(`  step ${e.step} (${(e.elapsedMs / 1000).toFixed(0)} s): val ${e.valBitsPerByte.toFixed(3)} bits/byte`);
    } else if (e.kind === "done") trainMs = e.elapsedMs;
  }
  t0 = performance.now();
  const val = await bitsPerByte(built.scorer, corpus.val, { maxBytes: evalBytes });
  const test = await bitsPerByte(built.scorer, corpus.test, { maxBytes: evalBytes });
  const mp = await minimalPairs(built.scorer, pairs);
  const ns = await nextSentence(built.scorer, nextItems);
  const evalSeconds = (performance.now() - t0) / 1000;
  const trace = built.pooled ? await built.pooled.trace(encodeText(TRACE_TEXT)) : null;
  const sorted = [...speeds].sort((a, b) => a - b);
  const run = {
    kind,
    preset: preset.name,
    label: preset.label,
    description: preset.description,
    parameters: built.model.parameterCount(),
    breakdown: built.pooled ? built.pooled.parameterBreakdown() : null,
    steps: train.steps,
    batchSize: train.batchSize,
    trainSeconds: round(trainMs / 1000),
    bytesPerSecond: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
    valBitsPerByte: round(val),
    testBitsPerByte: round(test),
    minimalPairs: round(mp.accuracy),
    nextSentenceAccNorm: round(ns.accNorm),
    evalSeconds: round(evalSeconds),
    curve,
    losses,
    trace: trace ? { text: TRACE_TEXT, spans: trace.spans, attention: trace.attention.at(-1)!.map((h) => h.map((r) => r.map(round))) } : null
  };
  trainer.dispose();
  built.model.dispose();
  if (tf.memory().numTensors > tensorsBefore) log(`  warning: ${tf.memory().numTensors - tensorsBefore} tensors leaked`);
  log(`  ${preset.label}: val ${run.valBitsPerByte}, test ${run.testBitsPerByte} bits/byte, ${run.bytesPerSecond} bytes/s, ${run.parameters} parameters`);
  runs.push(run);
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

const out = path.join(REPO_ROOT, "data", "runs", "tokenizer-free", `${corpusName}.json`);
// One line: the attention traces and curves are many small numbers.
await writeFileAtomic(out, JSON.stringify({
  corpus: corpusName,
  budgetSeconds: budgetMs / 1000,
  evalBytes,
  bpeVocab: BPE_VOCAB,
  bpeTrainSeconds: round(bpeSeconds),
  backend: info,
  command: `node --import tsx scripts/tokenizer-free-compare.ts ${process.argv.slice(2).join(" ")}`.trim(),
  createdAt: new Date().toISOString(),
  runs
}) + "\n");
log(`wrote ${out}`);
