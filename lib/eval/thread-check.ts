// Do the lab's kernel threads change the numbers? Trains the same small model from
// the same seed on the same bytes at 1 thread and at N, and compares every loss and
// every weight bit for bit (lib/threads/tasks.ts: each output is computed in the
// same order whatever the thread count). No Node APIs: the bench page runs it in
// the browser, test/unit/threads.test.ts in Node.
import { presetConfig } from "../config.js";
import { createModel } from "../models/models.js";
import { Rng } from "../rng.js";
import { BatchSampler } from "../text/data.js";
import { Trainer } from "../train/trainer.js";

export interface ThreadCheck {
  /** The thread counts compared, as they were in use: [1, N]. */
  threads: number[];
  steps: number;
  /** Losses per thread count, in order. */
  losses: number[][];
  /** Every loss and every weight the same bits at each thread count. */
  same: boolean;
  /** Where they first differ ("loss 3", "weight 5"), or null. */
  firstDifference: string | null;
}

const bitsOf = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

function differs(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return true;
  const x = bitsOf(a);
  const y = bitsOf(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return true;
  return false;
}

/**
 * Train `steps` steps of nano (context 64, batch 8) at 1 thread, then at `threads`,
 * through `setThreads` (which returns the threads in use), and compare; the kernels
 * are left on `threads` threads.
 */
export async function checkThreads(setThreads: (threads: number) => Promise<number>, threads: number, { steps = 4 } = {}): Promise<ThreadCheck> {
  const { model: mc, train } = presetConfig("nano", { model: { blockSize: 64 }, train: { steps, warmupSteps: 1, batchSize: 8, seed: 3 } });
  const text = new Uint8Array(16_384);
  const r = new Rng(9);
  for (let i = 0; i < text.length; i++) text[i] = 97 + r.int(26);
  const used: number[] = [];
  const runs: { losses: Float32Array; weights: Float32Array[] }[] = [];
  for (const t of [1, threads]) {
    used.push(await setThreads(t));
    const model = createModel({ kind: "bytes", model: mc }, 7);
    const trainer = new Trainer({ model, data: new BatchSampler(text), train });
    try {
      const losses: number[] = [];
      for await (const e of trainer.run()) if (e.kind === "step") losses.push(e.loss);
      const weights = await Promise.all(model.params.map(async (p) => (await p.variable.data()) as Float32Array));
      runs.push({ losses: Float32Array.from(losses), weights });
    } finally {
      trainer.dispose();
      model.dispose();
    }
  }
  let firstDifference: string | null = null;
  const [a, b] = runs;
  for (let i = 0; i < a.losses.length && !firstDifference; i++) if (differs(a.losses.subarray(i, i + 1), b.losses.subarray(i, i + 1))) firstDifference = `loss ${i + 1}`;
  for (let i = 0; i < a.weights.length && !firstDifference; i++) if (differs(a.weights[i], b.weights[i])) firstDifference = `weight ${i}`;
  if (a.losses.length !== b.losses.length) firstDifference ??= "the number of steps";
  return { threads: used, steps, losses: runs.map((x) => Array.from(x.losses)), same: firstDifference === null, firstDifference };
}
