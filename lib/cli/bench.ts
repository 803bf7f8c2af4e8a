// stlm bench: training throughput of a preset (forward + backward + AdamW), in
// the same shape as shared/bench/reference_torch.py so the two sit side by side.
import { presetConfig, PRESETS, type ModelConfig } from "../config.js";
import { TinyLM } from "../model.js";
import { Rng } from "../rng.js";
import { tf } from "../tf.js";
import { Trainer } from "../trainer.js";
import { initNode } from "../node/runtime.js";
import { parseFlags, UsageError } from "./args.js";

export const BENCH_HELP = `stlm bench [--preset micro] [--steps 10] [--warmup 3] [--backend wasm|cpu] [--profile] [--json]

Median training step time and tokens/s on random bytes, with the backend,
threads and model shape. --profile adds a per-kernel time table of one step.`;

/** Multiply-adds of one step, counted as the PyTorch reference counts them. */
export function flopsPerStep(c: ModelConfig, batch: number): number {
  const headSize = c.dModel / c.nHead;
  const kv = c.nKvHead * headSize;
  const dense = c.nLayer * (2 * c.dModel * c.dModel + 2 * c.dModel * kv + 3 * c.dModel * c.ffnHidden) + c.dModel * c.vocabSize;
  const attention = c.nLayer * 2 * c.blockSize * c.dModel;
  return 3 * 2 * batch * c.blockSize * (dense + attention);
}

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { preset: "string", steps: "number", warmup: "number", backend: "string", profile: "boolean", json: "boolean" }, "bench");
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm bench: --backend must be wasm or cpu in Node (got "${backend}")`);
  const steps = (f.steps as number | undefined) ?? 10;
  const warmup = (f.warmup as number | undefined) ?? 3;
  if (!(steps >= 1 && warmup >= 0)) throw new UsageError("stlm bench: --steps must be >= 1 and --warmup >= 0");
  const info = await initNode(backend);
  const preset = (f.preset as string | undefined) ?? "micro";
  const { model: mc, train } = presetConfig(preset, { train: { steps: steps + warmup + 1, warmupSteps: 0 } });
  const model = TinyLM.create(mc, 0);
  const vocab = Math.min(256, mc.vocabSize);
  const data = {
    sample(rng: Rng, b: number, t: number) {
      const x = new Int32Array(b * t);
      const y = new Int32Array(b * t);
      for (let i = 0; i < x.length; i++) {
        x[i] = rng.int(vocab);
        y[i] = rng.int(vocab);
      }
      return { x, y };
    }
  };
  const trainer = new Trainer({ model, data, train });
  const rng = new Rng(0);
  const times: number[] = [];
  const tensorsBefore = tf.memory().numTensors;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const batch = data.sample(rng, train.batchSize, mc.blockSize);
      const t0 = performance.now();
      const { loss, gradNorm } = trainer.trainStep(batch);
      await loss.data(); // wait for the step to finish
      loss.dispose();
      gradNorm.dispose();
      if (s >= warmup) times.push(performance.now() - t0);
    }
    let profile: { kernel: string; ms: number; calls: number; share: number }[] | undefined;
    if (f.profile) {
      const batch = data.sample(rng, train.batchSize, mc.blockSize);
      const p = await tf.profile(() => {
        const { loss, gradNorm } = trainer.trainStep(batch);
        gradNorm.dispose();
        return loss;
      });
      (p.result as { dispose(): void }).dispose();
      const by = new Map<string, { ms: number; calls: number }>();
      for (const k of p.kernels) {
        const e = by.get(k.name) ?? { ms: 0, calls: 0 };
        e.ms += Number(k.kernelTimeMs) || 0;
        e.calls += 1;
        by.set(k.name, e);
      }
      const total = [...by.values()].reduce((a, e) => a + e.ms, 0);
      profile = [...by].map(([kernel, e]) => ({ kernel, ms: Math.round(e.ms * 10) / 10, calls: e.calls, share: Math.round((1000 * e.ms) / total) / 1000 })).sort((a, b) => b.ms - a.ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)] / 1000;
    const flops = flopsPerStep(mc, train.batchSize);
    const out = {
      system: `tfjs-${info.name}`,
      tfjs: tf.version.tfjs,
      backend: info.name,
      simd: info.simd,
      threads: info.threads,
      preset,
      model: { vocab: mc.vocabSize, dModel: mc.dModel, layers: mc.nLayer, heads: mc.nHead, ffn: mc.ffnHidden, ctx: mc.blockSize, batch: train.batchSize },
      params: model.parameterCount(),
      steps,
      medianStepSeconds: Math.round(med * 1e4) / 1e4,
      tokensPerSecond: Math.round((train.batchSize * mc.blockSize) / med),
      gflopPerStep: Math.round(flops / 1e6) / 1e3,
      gflops: Math.round((flops / med / 1e9) * 100) / 100,
      tensorsLeaked: tf.memory().numTensors - tensorsBefore,
      ...(profile ? { profile } : {})
    };
    if (f.json) process.stdout.write(JSON.stringify(out) + "\n");
    else {
      const { profile: _p, ...rest } = out;
      for (const [k, v] of Object.entries(rest)) process.stdout.write(`${k}: ${typeof v === "object" ? JSON.stringify(v) : v}\n`);
      if (profile) {
        process.stdout.write(`\nkernel                      ms  calls  share\n`);
        for (const r of profile.slice(0, 25)) process.stdout.write(`${r.kernel.padEnd(24)} ${r.ms.toFixed(1).padStart(7)} ${String(r.calls).padStart(6)} ${(r.share * 100).toFixed(1).padStart(5)}%\n`);
      }
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
}
