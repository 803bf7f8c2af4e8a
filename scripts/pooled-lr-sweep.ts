// A short learning-rate sweep of the stride-4 pooled presets (the STLM paper's
// parallel decoder and the causal decoder): validation bits/byte after a fixed
// number of steps, and the between-chunk variance of the pooled vectors (the
// collapse diagnostic, lib/train/collapse.ts) at initialisation and every eval.
//
//   node --import tsx scripts/pooled-lr-sweep.ts [--corpus austen] [--steps 300] [--lrs 5e-4,1e-3,2e-3,4e-3] [--decoders paper,causal] [--seed 1] [--eval-bytes 8192]
//
// Writes data/runs/tokenizer-free/lr-sweep-<corpus>.json. Everything but the
// peak learning rate and the step count is the preset's (batch 4 x 512 bytes,
// warmup 50, cosine to a tenth, AdamW, clip 1).
import path from "node:path";
import { execSync } from "node:child_process";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, REPO_ROOT } from "../lib/node/data.js";
import { writeFileAtomic } from "../lib/node/files.js";
import { Trainer } from "../lib/train/trainer.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { TOKENIZER_FREE_PRESETS, buildModel, tokenizerFreeConfig } from "../lib/experiments/tokenizer-free.js";
import { CHUNK_VARIANCE, collapseGuard } from "../lib/train/collapse.js";
import { parseFlags } from "../lib/cli/args.js";

const f = parseFlags(process.argv.slice(2), { corpus: "string", steps: "number", lrs: "string", decoders: "string", seed: "number", "eval-bytes": "number" }, "sweep");
const corpusName = (f.corpus as string | undefined) ?? "austen";
const steps = (f.steps as number | undefined) ?? 300;
const lrs = ((f.lrs as string | undefined) ?? "5e-4,1e-3,2e-3,4e-3").split(",").map(Number);
const decoders = ((f.decoders as string | undefined) ?? "paper,causal").split(",") as ("paper" | "causal")[];
const seed = (f.seed as number | undefined) ?? 1;
const evalBytes = (f["eval-bytes"] as number | undefined) ?? 8192;

const info = await initNode("wasm");
const corpus = await loadCorpus(corpusName);
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number) => Math.round(x * 1e4) / 1e4;
const t0 = performance.now();

const runs = [];
for (const decoder of decoders) {
  const preset = TOKENIZER_FREE_PRESETS[decoder === "causal" ? "pooled-stride4-causal" : "pooled-stride4"];
  const config = tokenizerFreeConfig("stride", undefined, 512, { causalDecoder: decoder === "causal" });
  for (const lr of lrs) {
    const train = { ...preset.train, steps, learningRate: lr, evalEvery: Math.max(1, Math.floor(steps / 6)), evalBytes, seed };
    const built = buildModel(config, corpus.train, seed);
    const pooled = built.pooled!;
    const diagnose = collapseGuard(pooled, corpus.val, { learningRate: lr });
    const variance: { step: number; chunkVariance: number }[] = [{ step: 0, chunkVariance: round((await diagnose())[0].value) }];
    const curve: { step: number; valBitsPerByte: number }[] = [];
    const trainer = new Trainer({ model: built.model, data: built.data, train, logEvery: 10, diagnose, evaluate: () => bitsPerByte(built.scorer, corpus.val, { maxBytes: evalBytes }) });
    let trainMs = 0;
    for await (const e of trainer.run()) {
      if (e.kind === "eval") curve.push({ step: e.step, valBitsPerByte: round(e.valBitsPerByte) });
      else if (e.kind === "diagnostic" && e.name === CHUNK_VARIANCE) variance.push({ step: e.step, chunkVariance: round(e.value) });
      else if (e.kind === "done") trainMs = e.elapsedMs;
    }
    const run = { decoder, preset: preset.name, learningRate: lr, steps, seed, trainSeconds: round(trainMs / 1000), valBitsPerByte: curve.at(-1)!.valBitsPerByte, curve, variance };
    log(`${decoder} lr ${lr}: val ${run.valBitsPerByte} bits/byte, chunk variance ${variance.map((v) => v.chunkVariance).join(" ")} (${run.trainSeconds} s)`);
    runs.push(run);
    trainer.dispose();
    built.model.dispose();
  }
}

const out = path.join(REPO_ROOT, "data", "runs", "tokenizer-free", `lr-sweep-${corpusName}.json`);
await writeFileAtomic(
  out,
  JSON.stringify(
    {
      corpus: corpusName,
      steps,
      seed,
      evalBytes,
      probe: "8 validation rows of 513 bytes, evenly spaced (lib/train/collapse.ts probeRows)",
      train: { ...TOKENIZER_FREE_PRESETS["pooled-stride4"].train, steps, learningRate: "swept", evalEvery: Math.max(1, Math.floor(steps / 6)), evalBytes, seed },
      backend: info,
      libCommit: execSync("git rev-parse HEAD", { cwd: REPO_ROOT }).toString().trim(),
      // Files of lib/ and scripts/ that differed from that commit when the script ran.
      uncommitted: execSync("git status --porcelain -- lib scripts", { cwd: REPO_ROOT }).toString().split("\n").filter(Boolean).map((l) => l.slice(3)),
      command: `node --import tsx scripts/pooled-lr-sweep.ts ${process.argv.slice(2).join(" ")}`.trim(),
      totalSeconds: round((performance.now() - t0) / 1000),
      createdAt: new Date().toISOString(),
      runs
    },
    null,
    1
  ) + "\n"
);
log(`wrote ${out}`);
