// Why the STLM paper's pooled decoder stalls, and what the causal decoder and a
// stable learning rate change: the data for the tokenizer-free page.
//
//   node --import tsx scripts/tokenizer-free-decoders.ts [--corpus austen] [--steps 300] [--seeds 1,2,3] [--every 25] [--curve-bytes 4096] [--eval-bytes 16384] [--collapse-lr 4e-3]
//
// Writes data/runs/tokenizer-free/decoders-<corpus>.json with
//  (a) per-slot validation bits/byte of the paper decoder (pooled-stride4 at its
//      preset learning rate; byte i of a chunk, i = 0..3) after `steps` steps, per seed;
//  (b) the gap n-gram ceiling: Witten-Bell byte n-grams (contexts of 3 and 4
//      bytes) trained on the training split whose context ends g bytes before the
//      byte predicted, g = 0..3, on the same validation bytes (lib/eval/ngram.ts);
//  (c) the collapse: between-chunk variance of the pooled vectors on a fixed
//      probe (lib/train/collapse.ts) and validation bits/byte every `every` steps, for
//      the paper decoder at its preset learning rate and at `collapse-lr`;
//  (d) the causal decoder (pooled-stride4-causal) at its preset learning rate,
//      on the same curve steps, with its per-slot numbers.
// Every model run is the preset's training config with `steps` and the seed
// changed (warmup 50 steps, then a cosine to a tenth, batch 4 x 512 bytes).
import path from "node:path";
import { execSync } from "node:child_process";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, REPO_ROOT } from "../lib/node/data.js";
import { writeFileAtomic } from "../lib/node/files.js";
import { tf } from "../lib/tf.js";
import { Trainer } from "../lib/train/trainer.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { TOKENIZER_FREE_PRESETS, buildModel, tokenizerFreeConfig } from "../lib/experiments/tokenizer-free.js";
import { COLLAPSE_VARIANCE_FLOOR, probeRows } from "../lib/train/collapse.js";
import { gapNgramBitsPerByte, trainGapNgram } from "../lib/eval/ngram.js";
import { slotBitsPerByte } from "../lib/eval/slots.js";
import { parseFlags } from "../lib/cli/args.js";

const f = parseFlags(
  process.argv.slice(2),
  { corpus: "string", steps: "number", seeds: "string", every: "number", "curve-bytes": "number", "eval-bytes": "number", "collapse-lr": "number" },
  "decoders"
);
const corpusName = (f.corpus as string | undefined) ?? "austen";
const steps = (f.steps as number | undefined) ?? 300;
const seeds = ((f.seeds as string | undefined) ?? "1,2,3").split(",").map(Number);
const every = (f.every as number | undefined) ?? 25;
const curveBytes = (f["curve-bytes"] as number | undefined) ?? 4096;
const evalBytes = (f["eval-bytes"] as number | undefined) ?? 16384;
const collapseLr = (f["collapse-lr"] as number | undefined) ?? 4e-3;

const info = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number) => Math.round(x * 1e4) / 1e4;
const sig = (x: number) => Number(x.toPrecision(4));
const started = performance.now();
const val = corpus.val.subarray(0, evalBytes);

// (b) The gap n-gram ceiling.
const ceiling = [];
for (const context of [3, 4]) {
  for (let gap = 0; gap < 4; gap++) {
    const t0 = performance.now();
    const m = trainGapNgram(corpus.train, { order: context + 1, gap });
    ceiling.push({ context, gap, bitsPerByte: round(gapNgramBitsPerByte(m, val)), seconds: round((performance.now() - t0) / 1000) });
    log(`gap n-gram, context ${context} bytes, gap ${gap}: ${ceiling.at(-1)!.bitsPerByte} bits/byte`);
  }
}

// (a), (c), (d): the model runs.
const arms = [
  { arm: "paper", preset: "pooled-stride4", causalDecoder: false, learningRate: TOKENIZER_FREE_PRESETS["pooled-stride4"].train.learningRate },
  { arm: "paper-high-lr", preset: "pooled-stride4", causalDecoder: false, learningRate: collapseLr },
  { arm: "causal", preset: "pooled-stride4-causal", causalDecoder: true, learningRate: TOKENIZER_FREE_PRESETS["pooled-stride4-causal"].train.learningRate }
];
const probe = probeRows(corpus.val, 8, 513);
const runs = [];
for (const arm of arms) {
  for (const seed of seeds) {
    const preset = TOKENIZER_FREE_PRESETS[arm.preset];
    const train = { ...preset.train, steps, learningRate: arm.learningRate, evalEvery: every, evalBytes: curveBytes, seed };
    const tensorsBefore = tf.memory().numTensors;
    const built = buildModel(tokenizerFreeConfig("stride", undefined, 512, { causalDecoder: arm.causalDecoder }), corpus.train, seed);
    const pooled = built.pooled!;
    const stats = async () => {
      const s = await pooled.chunkStatistics(probe);
      return { chunkVariance: sig(s.variance), meanSquare: sig(s.meanSquare) };
    };
    const curve: { step: number; elapsedMs: number; valBitsPerByte?: number; chunkVariance?: number; meanSquare?: number }[] = [{ step: 0, elapsedMs: 0, ...(await stats()) }];
    const trainer = new Trainer({
      model: built.model,
      data: built.data,
      train,
      logEvery: 10,
      evaluate: () => bitsPerByte(built.scorer, corpus.val, { maxBytes: curveBytes }),
      diagnose: async () => {
        const s = await stats();
        return [
          { name: "chunkVariance", value: s.chunkVariance },
          { name: "meanSquare", value: s.meanSquare }
        ];
      }
    });
    let trainMs = 0;
    for await (const e of trainer.run()) {
      if (e.kind === "eval") curve.push({ step: e.step, elapsedMs: Math.round(e.elapsedMs), valBitsPerByte: round(e.valBitsPerByte) });
      else if (e.kind === "diagnostic") (curve.at(-1) as Record<string, number>)[e.name] = e.value;
      else if (e.kind === "done") trainMs = e.elapsedMs;
    }
    const t0 = performance.now();
    const slots = await slotBitsPerByte(pooled, val);
    const run = {
      arm: arm.arm,
      preset: arm.preset,
      causalDecoder: arm.causalDecoder,
      learningRate: arm.learningRate,
      seed,
      steps,
      parameters: built.model.parameterCount(),
      trainSeconds: round(trainMs / 1000),
      evalSeconds: round((performance.now() - t0) / 1000),
      valBitsPerByte: round(slots.bitsPerByte),
      slots: slots.slots.map((s) => ({ slot: s.slot, bitsPerByte: round(s.bitsPerByte), bytes: s.bytes })),
      /** Curve steps whose chunk variance was below the collapse floor. */
      collapsed: curve.filter((c) => c.chunkVariance !== undefined && c.chunkVariance < COLLAPSE_VARIANCE_FLOOR).map((c) => c.step),
      curve
    };
    log(
      `${arm.arm} lr ${arm.learningRate} seed ${seed}: val ${run.valBitsPerByte} (slots ${run.slots.map((s) => s.bitsPerByte).join(" / ")}), ` +
        `variance ${curve.map((c) => c.chunkVariance).join(" ")} (${run.trainSeconds} s)`
    );
    trainer.dispose();
    built.model.dispose();
    if (tf.memory().numTensors > tensorsBefore) log(`  warning: ${tf.memory().numTensors - tensorsBefore} tensors leaked`);
    runs.push(run);
  }
}

// Mean and spread (min, max) over seeds of each arm.
const summarise = (xs: number[]) => ({ mean: round(xs.reduce((a, b) => a + b, 0) / xs.length), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });
const summary = arms.map(({ arm }) => {
  const rs = runs.filter((r) => r.arm === arm);
  return {
    arm,
    valBitsPerByte: summarise(rs.map((r) => r.valBitsPerByte)),
    slots: rs[0].slots.map((_, i) => summarise(rs.map((r) => r.slots[i].bitsPerByte))),
    finalChunkVariance: summarise(rs.map((r) => r.curve.at(-1)!.chunkVariance!)),
    minChunkVariance: summarise(rs.map((r) => Math.min(...r.curve.map((c) => c.chunkVariance!)))),
    // Collapsed: still below the floor at the end of training (a dip that recovers is counted in runsEverBelowFloor only).
    runsThatCollapsed: rs.filter((r) => r.curve.at(-1)!.chunkVariance! < COLLAPSE_VARIANCE_FLOOR).length,
    runsEverBelowFloor: rs.filter((r) => r.collapsed.length > 0).length
  };
});

const out = path.join(REPO_ROOT, "data", "runs", "tokenizer-free", `decoders-${corpusName}.json`);
await writeFileAtomic(
  out,
  JSON.stringify({
    corpus: corpusName,
    command: `node --import tsx scripts/tokenizer-free-decoders.ts ${process.argv.slice(2).join(" ")}`.trim(),
    libCommit: execSync("git rev-parse HEAD", { cwd: REPO_ROOT }).toString().trim(),
    // Files of lib/ and scripts/ that differed from that commit when the script ran.
    uncommitted: execSync("git status --porcelain -- lib scripts", { cwd: REPO_ROOT }).toString().split("\n").filter(Boolean).map((l) => l.slice(3)),
    createdAt: new Date().toISOString(),
    backend: info,
    totalSeconds: round((performance.now() - started) / 1000),
    steps,
    seeds,
    every,
    curveBytes,
    evalBytes,
    probe: "8 validation rows of 513 bytes, evenly spaced (lib/train/collapse.ts probeRows): 1,032 chunks",
    collapseFloor: COLLAPSE_VARIANCE_FLOOR,
    configs: Object.fromEntries(arms.map((a) => [a.arm, { ...a, model: tokenizerFreeConfig("stride", undefined, 512, { causalDecoder: a.causalDecoder }), train: { ...TOKENIZER_FREE_PRESETS[a.preset].train, steps, learningRate: a.learningRate, evalEvery: every, evalBytes: curveBytes } }])),
    ceiling,
    summary,
    runs
  }) + "\n"
);
log(`wrote ${out} in ${round((performance.now() - started) / 1000)} s`);
