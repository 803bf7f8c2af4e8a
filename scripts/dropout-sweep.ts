// The dropout page's precomputed sweep (lib/experiments/dropout.ts): every schedule
// against no dropout in both regimes, over seeds, and the gradient-direction
// measurements of no dropout against early dropout.
//
//   node --import tsx scripts/dropout-sweep.ts [--seeds 1,2,3] [--regimes overfit,underfit] [--arms none,early] 
//
// Results are merged (by regime, arm and seed) into data/runs/dropout/sweep.json;
// gradient measurements are taken for the "none" and "early" arms only.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, REPO_ROOT } from "../lib/node/data.js";
import { parseFlags } from "../lib/cli/args.js";
import { GRADIENT_STEPS, DROPOUT_ARMS, DROPOUT_REGIMES, DROPOUT_TRAIN, dropoutRunConfig, runDropoutArm, type DropoutRegime } from "../lib/experiments/dropout.js";

const f = parseFlags(process.argv.slice(2), { seeds: "string", regimes: "string", arms: "string" }, "dropout-sweep");
const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
const regimes = String(f.regimes ?? "overfit,underfit").split(",") as DropoutRegime[];
const arms = f.arms ? String(f.arms).split(",") : DROPOUT_ARMS.map((a) => a.id);

const backend = await initNode("wasm");
const corpus = await loadCorpus("austen");
const OUT = path.join(REPO_ROOT, "data", "runs", "dropout");
await mkdir(OUT, { recursive: true });
const file = path.join(OUT, "sweep.json");
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const runs: Record<string, unknown>[] = existsSync(file) ? JSON.parse(await readFile(file, "utf8")).runs : [];

for (const regime of regimes) {
  for (const id of arms) {
    const arm = DROPOUT_ARMS.find((a) => a.id === id);
    if (!arm) throw new Error(`unknown arm ${id}`);
    for (const seed of seeds) {
      const t0 = Date.now();
      const r = await runDropoutArm({ regime, arm, seed, train: corpus.train, val: corpus.val, gradAt: id === "none" || id === "early" ? GRADIENT_STEPS : [] });
      const row = {
        regime,
        arm: arm.id,
        seed,
        steps: r.steps,
        parameters: r.parameters,
        schedule: dropoutRunConfig(arm, seed).train.dropoutSchedule,
        rate: arm.rate,
        final: { trainBitsPerByte: round(r.final.trainBitsPerByte), valBitsPerByte: round(r.final.valBitsPerByte), gap: round(r.final.gap) },
        curve: r.curve.map((p) => ({ step: p.step, trainBitsPerByte: round(p.trainBitsPerByte), valBitsPerByte: round(p.valBitsPerByte), dropout: round(p.dropout) })),
        losses: r.losses.filter((_, i) => i % 5 === 4).map((p) => ({ step: p.step, loss: round(p.loss), dropout: round(p.dropout) })),
        gradients: r.gradients.map((g) => ({ step: g.step, cosToFull: round(g.cosToFull), directionVariance: round(g.directionVariance), dropout: round(g.dropout) })),
        trainingSeconds: round(r.trainingSeconds, 1)
      };
      const i = runs.findIndex((x) => x.regime === regime && x.arm === arm.id && x.seed === seed);
      if (i >= 0) runs[i] = row;
      else runs.push(row);
      process.stderr.write(`${regime} ${arm.id} seed ${seed}: train ${row.final.trainBitsPerByte} val ${row.final.valBitsPerByte} gap ${row.final.gap} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      await writeFile(file, JSON.stringify({ madeBy: "node --import tsx scripts/dropout-sweep.ts", corpus: "austen", train: DROPOUT_TRAIN, regimes: DROPOUT_REGIMES, arms: DROPOUT_ARMS.map((a) => ({ id: a.id, label: a.label, rate: a.rate, schedule: a.schedule(DROPOUT_TRAIN.steps!) })), gradientSteps: GRADIENT_STEPS, backend, runs }, null, 1) + "\n");
    }
  }
}
