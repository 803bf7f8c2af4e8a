// Training throughput of a preset (forward + backward + AdamW update) on random
// bytes, in the same shape as shared/bench/reference_torch.py, so a Node run, a
// browser run and the PyTorch reference can be put side by side. No Node APIs:
// `stlm bench` and the browser's bench page both call this.
import { presetConfig, type ModelConfig } from "./config.js";
import { TinyLM } from "./model.js";
import { Rng } from "./rng.js";
import { tf } from "./tf.js";
import { Trainer } from "./trainer.js";

export interface BenchOptions {
  preset?: string;
  steps?: number;
  warmup?: number;
  /** Also time each kernel of one step. */
  profile?: boolean;
  /** Called after each timed step, e.g. to show progress. */
  onStep?: (done: number, total: number) => void;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
  /** Of the kernels' summed time (nested scopes make the sum exceed the step time). */
  share: number;
}

export interface BenchResult {
  system: string;
  tfjs: string;
  backend: string;
  preset: string;
  model: { vocab: number; dModel: number; layers: number; heads: number; ffn: number; ctx: number; batch: number };
  params: number;
  steps: number;
  medianStepSeconds: number;
  tokensPerSecond: number;
  gflopPerStep: number;
  gflops: number;
  tensorsLeaked: number;
  profile?: KernelTime[];
}

/** Multiply-adds of one training step x 2 x 3, counted as the PyTorch reference counts them. */
export function flopsPerStep(c: ModelConfig, batch: number): number {
  const headSize = c.dModel / c.nHead;
  const kv = c.nKvHead * headSize;
  const dense = c.nLayer * (2 * c.dModel * c.dModel + 2 * c.dModel * kv + 3 * c.dModel * c.ffnHidden) + c.dModel * c.vocabSize;
  const attention = c.nLayer * 2 * c.blockSize * c.dModel;
  return 3 * 2 * batch * c.blockSize * (dense + attention);
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const { preset = "micro", steps = 10, warmup = 3, profile = false, onStep } = options;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a whole number >= 1 (got ${steps})`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new RangeError(`warmup must be a whole number >= 0 (got ${warmup})`);
  const { model: mc, train } = presetConfig(preset, { train: { steps: steps + warmup + 1, warmupSteps: 0 } });
  const tensorsBefore = tf.memory().numTensors;
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
  let result: BenchResult;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const batch = data.sample(rng, train.batchSize, mc.blockSize);
      const t0 = performance.now();
      const { loss, gradNorm } = trainer.trainStep(batch);
      await loss.data(); // waits for the step to finish on an asynchronous backend
      tf.dispose([loss, gradNorm]);
      if (s >= warmup) {
        times.push(performance.now() - t0);
        onStep?.(times.length, steps);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    let kernels: KernelTime[] | undefined;
    if (profile) {
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
      kernels = [...by]
        .map(([kernel, e]) => ({ kernel, ms: Math.round(e.ms * 10) / 10, calls: e.calls, share: Math.round((1000 * e.ms) / total) / 1000 }))
        .sort((a, b) => b.ms - a.ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)] / 1000;
    const flops = flopsPerStep(mc, train.batchSize);
    const backend = tf.getBackend();
    result = {
      system: `tfjs-${backend}`,
      tfjs: tf.version.tfjs,
      backend,
      preset,
      model: { vocab: mc.vocabSize, dModel: mc.dModel, layers: mc.nLayer, heads: mc.nHead, ffn: mc.ffnHidden, ctx: mc.blockSize, batch: train.batchSize },
      params: model.parameterCount(),
      steps,
      medianStepSeconds: Math.round(med * 1e4) / 1e4,
      tokensPerSecond: Math.round((train.batchSize * mc.blockSize) / med),
      gflopPerStep: Math.round(flops / 1e6) / 1e3,
      gflops: Math.round((flops / med / 1e9) * 100) / 100,
      tensorsLeaked: 0,
      ...(kernels ? { profile: kernels } : {})
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return { ...result, tensorsLeaked: tf.memory().numTensors - tensorsBefore };
}
