// Where a training step's serial time goes: every top-level tfjs kernel call of a
// step, its wall time, the part of it spent in the lab's kernel-thread pool
// (lib/threads/pool.ts: the work the threads share) and the rest (serial: tfjs's
// dispatch and bookkeeping, the kernel's own JavaScript, the one-thread kernels),
// and the step's time outside any kernel (the gradient tape, backprop, the model's
// JavaScript). Issue #16: the 2-thread step is the pool's time halved plus this.
//
//   scripts/measure.sh node --import tsx scripts/serial-profile.ts [--threads 2] [--preset micro] [--steps 6]
//
// Prints the averages over --steps timed steps (after 3 untimed ones); the batches
// are random bytes, as in stlm bench. Nested kernel calls (a clone saved for the
// backward pass inside a product, a fused layer's kernels inside its custom
// gradient) count in the calling kernel's time.
import { initNodeThreads } from "../lib/node/runtime.js";
import * as tf from "@tensorflow/tfjs";
import { Trainer } from "../lib/train/trainer.js";
import { createModel } from "../lib/models/models.js";
import { presetConfig } from "../lib/config.js";
import { Rng } from "../lib/rng.js";
import { kernelPool } from "../lib/kernels.js";
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const threads = Number(arg("threads", "2"));
await initNodeThreads(threads);
const { model: mc, train } = presetConfig(arg("preset", "micro") as Parameters<typeof presetConfig>[0], { train: { steps: 10, warmupSteps: 0 } });
const model = createModel({ kind: "bytes", model: mc }, 0);
const trainer = new Trainer({ model, data: { sample: () => { throw new Error("batches are made here"); } }, train });
const rng = new Rng(0);
const batch = () => {
  const n = train.batchSize * mc.blockSize;
  const x = new Int32Array(n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = rng.int(256);
    y[i] = rng.int(256);
  }
  return { x, y };
};
for (let i = 0; i < 3; i++) {
  const r = trainer.trainStep(batch());
  await r.loss.data();
  tf.dispose([r.loss, r.gradNorm]);
}
const pool = kernelPool();
if (!pool) throw new Error("serial-profile needs the lab's wasm kernels (the wasm backend with SIMD)");
const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
const orig = engine.runKernel.bind(engine);
const stat = new Map<string, { calls: number; wall: number; pool: number }>();
let depth = 0;
// The pool's running total of task time (its profile, read between kernel calls).
const poolMs = () => pool.profiledMs();
engine.runKernel = (name: string, inputs: unknown, attrs: unknown) => {
  if (depth > 0) return orig(name, inputs, attrs);
  depth++;
  const p0 = poolMs(), t0 = performance.now();
  try { return orig(name, inputs, attrs); } finally {
    const wall = performance.now() - t0, pm = poolMs() - p0;
    const s = stat.get(name) ?? { calls: 0, wall: 0, pool: 0 };
    s.calls++; s.wall += wall; s.pool += pm; stat.set(name, s); depth--;
  }
};
const N = Number(arg("steps", "6"));
let total = 0, totalPool = 0;
for (let i = 0; i < N; i++) {
  const b = batch();
  pool.startProfile();
  const t0 = performance.now();
  const r = trainer.trainStep(b); await r.loss.data();
  total += performance.now() - t0;
  totalPool += poolMs();
  pool.stopProfile();
  tf.dispose([r.loss, r.gradNorm]);
}
engine.runKernel = orig;
let kw = 0, kp = 0, calls = 0;
const rows = [...stat].map(([k, s]) => { kw += s.wall; kp += s.pool; calls += s.calls; return [k, s.calls / N, s.wall / N, s.pool / N, (s.wall - s.pool) / N] as const; }).sort((a, b) => b[4] - a[4]);
console.log(`threads ${threads}: step ${(total / N).toFixed(1)} ms, in the pool ${(totalPool / N).toFixed(1)} ms, serial ${((total - totalPool) / N).toFixed(1)} ms; top-level kernel calls ${(calls / N).toFixed(0)}, their serial ${((kw - kp) / N).toFixed(1)} ms, serial outside any kernel (tape, backprop, JS) ${((total - kw) / N).toFixed(1)} ms`);
console.log("kernel                 calls   wall ms  pool ms  serial ms");
for (const [k, c, w, p, s] of rows) console.log(`${k.padEnd(22)} ${c.toFixed(0).padStart(5)} ${w.toFixed(2).padStart(9)} ${p.toFixed(2).padStart(8)} ${s.toFixed(2).padStart(9)}`);
trainer.dispose(); model.dispose();
process.exit(0);
