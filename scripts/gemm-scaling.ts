// How far the lab's GEMM alone scales from 1 to 2 kernel threads, on the products of a
// micro training step and on one 2048^2 product, beside PyTorch's (OpenBLAS) on the
// same shapes (scripts/gemm_scaling_torch.py). GFLOP/s per thread count, best of 5
// rounds of 20 products, one after the other. Run at measurement priority:
//   scripts/measure.sh node --import tsx scripts/gemm-scaling.ts
import { initNodeThreads } from "../lib/node/runtime.js";
import { nodeWorkerHost } from "../lib/node/threads.js";
import { setKernelThreads } from "../lib/kernels.js";
import { tf } from "../lib/tf.js";

await initNodeThreads(1);
// [m, k, n, transposeA, transposeB]: a micro step's forward, input-gradient and weight-gradient products, then a big square one.
const shapes: [number, number, number, boolean, boolean][] = [
  [2048, 128, 384, false, false],
  [2048, 384, 128, false, true],
  [128, 2048, 384, true, false],
  [2048, 2048, 2048, false, false]
];
const rows: Record<string, unknown>[] = [];
for (const [m, k, n, ta, tb] of shapes) {
  const a = tf.randomNormal(ta ? [k, m] : [m, k]);
  const b = tf.randomNormal(tb ? [n, k] : [k, n]);
  const gflops: number[] = [];
  for (const threads of [1, 2]) {
    await setKernelThreads(threads, nodeWorkerHost);
    const reps = m * n * k > 1e9 ? 3 : 20;
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) tf.matMul(a, b, ta, tb).dispose();
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    gflops.push(Math.round((2 * m * n * k) / best / 1e6 * 10) / 10); // best is in ms
  }
  rows.push({ m, k, n, transposeA: ta, transposeB: tb, gflops1: gflops[0], gflops2: gflops[1], speedup: Math.round((gflops[1] / gflops[0]) * 100) / 100 });
  tf.dispose([a, b]);
}
await setKernelThreads(1, nodeWorkerHost);
console.log(JSON.stringify({ system: "lab", rows }));
