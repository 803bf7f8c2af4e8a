// The work the lab's kernel threads share: one task at a time (a matrix product,
// a fused layer, an AdamW update), cut into chunks that threads claim with
// Atomics.add until none are left. The calling thread claims chunks too.
//
// Bit-identical at any thread count: a chunk is a block of *outputs* (rows and
// columns of a product, never a slice of its inner dimension; rows of a fused
// layer; a range of an AdamW update), and each output is computed by the same code
// in the same order whichever thread takes its chunk. The one reduction over rows
// (RMSNorm's weight gradient) is summed in blocks of a fixed number of rows, one
// partial per block, added up in block order on the calling thread.
//
// `runChunks` and `workerLoop` are written to be sent to a worker as source text
// (Function.prototype.toString): they use nothing but their arguments and the
// globals every JavaScript thread has (Atomics, performance). The calling thread
// runs the very same `runChunks`.

/** Int32 slots of the control block (a SharedArrayBuffer). */
export const CTRL = {
  /** Incremented to hand out a task; workers wait on it. */
  gen: 0,
  /**
   * The next chunk to claim, tagged with the task: (gen & 0x7fff) << 16 | chunk.
   * A thread claims by compare-and-swap and only for the task it read its
   * arguments for, so one that wakes late never runs a chunk of the next task.
   */
  next: 1,
  /** Chunks finished. */
  done: 2,
  kind: 3,
  chunks: 4,
  /** 1: workers exit. */
  stop: 5,
  /** Set (with the message in ERROR_TEXT) when a chunk threw. */
  error: 6,
  /** Integer arguments of the task start here. */
  args: 16,
  /** Float32 arguments (same buffer, Float32Array view) start here. */
  fargs: 48,
  /** Per thread t: scratch address at SCRATCH + 2t, its bytes at SCRATCH + 2t + 1. */
  scratch: 64,
  /** Float64 slots (index into a Float64Array view): busy ms of thread t at BUSY + t. */
  busy: 128,
  /** Bytes of the control block. */
  bytes: 4096,
  /** The most threads one block serves. */
  maxThreads: 32
} as const;

export const TASK = {
  gemm: 1,
  rmsNorm: 2,
  rmsNormGrad: 3,
  siluMulGrad: 4,
  softmaxStats: 5,
  expGrad: 6,
  adamW: 7,
  binary: 8,
  sigmoid: 9,
  softmax: 10,
  rowSum: 11,
  copyRuns: 12,
  attnSoftmax: 13,
  attnSoftmaxGrad: 14,
  rotary: 15
} as const;

/** The exports of lib/wasm/simd.ts's module that the tasks call. */
export interface TaskExports {
  pack(src: number, sOuter: number, sK: number, count: number, kc: number, dst: number): void;
  packB(src: number, sOuter: number, sK: number, count: number, kc: number, dst: number): void;
  macro(ap: number, bp: number, kc: number, mc: number, c: number, ldc: number, nvalid: number, accumulate: number, scratch: number): void;
  rmsNorm(...a: number[]): void;
  rmsNormGrad(...a: number[]): void;
  siluMulGrad(...a: number[]): void;
  softmaxStats(...a: number[]): void;
  expGrad(...a: number[]): void;
  adamW(...a: number[]): void;
  add(...a: number[]): void;
  sub(...a: number[]): void;
  mul(...a: number[]): void;
  div(...a: number[]): void;
  sigmoid(x: number, y: number, n: number): void;
  softmax(x: number, y: number, rows: number, cols: number): void;
  rowSum(x: number, y: number, rows: number, cols: number): void;
  copyRuns(src: number, dst: number, n0: number, n1: number, n2: number, s0: number, s1: number, s2: number, run: number): void;
  attnSoftmax(x: number, y: number, rows: number, cols: number, mask: number, t0: number, T: number, scale: number): void;
  attnSoftmaxGrad(y: number, dy: number, dx: number, rows: number, cols: number, scale: number): void;
  rotary(x: number, c: number, s: number, y: number, rows: number, half: number, t0: number, T: number, back: number, ld: number): void;
}

/**
 * Claim and run chunks of the current task until none are left; returns how many
 * this thread ran. `t` is the thread's index (0: the calling thread).
 */
export function runChunks(ex: TaskExports, ctrl: Int32Array, fl: Float32Array, t: number, gen: number): number {
  const A = 16;
  const F = 48;
  let ran = 0;
  const tag = (gen & 0x7fff) << 16;
  for (;;) {
    const v = Atomics.load(ctrl, 1);
    if ((v & ~0xffff) !== tag || (v & 0xffff) >= Atomics.load(ctrl, 4)) break;
    if (Atomics.compareExchange(ctrl, 1, v, v + 1) !== v) continue;
    // Claimed: the task cannot change before this chunk is counted done, so its arguments are read now.
    const j = v & 0xffff;
    const kind = ctrl[3];
    const scratch = ctrl[64 + 2 * t];
    ran++;
    // A chunk that throws (it should not: the caller checked the shapes) still counts as done, so no thread waits forever; the caller reports it.
    try {
    if (kind === 1) {
      // GEMM. Chunk j: batch entry, then a block of rows and a block of columns.
      const a = ctrl[A], b = ctrl[A + 1], c = ctrl[A + 2], m = ctrl[A + 3], n = ctrl[A + 4], k = ctrl[A + 5];
      const sAm = ctrl[A + 6], sAk = ctrl[A + 7], sBk = ctrl[A + 8], sBn = ctrl[A + 9];
      const aStep = ctrl[A + 11], bStep = ctrl[A + 12], cStep = ctrl[A + 13];
      const rowsPer = ctrl[A + 14], colsPer = ctrl[A + 15], rowBlocks = ctrl[A + 16], colBlocks = ctrl[A + 17];
      const entriesPer = ctrl[A + 18], kcMax = ctrl[A + 19], mcMax = ctrl[A + 20], mr = ctrl[A + 21], nr = ctrl[A + 22];
      const blocks = rowBlocks * colBlocks;
      const first = Math.floor(j / blocks) * entriesPer;
      const within = j % blocks;
      const i0 = Math.floor(within / colBlocks) * rowsPer;
      const j0 = (within % colBlocks) * colsPer;
      const rows = Math.min(rowsPer, m - i0);
      const cols = Math.min(colsPer, n - j0);
      const last = Math.min(first + entriesPer, ctrl[A + 10]);
      const kc0 = Math.min(kcMax, k);
      const nPanels = Math.ceil(cols / nr);
      const mc0 = Math.min(mcMax, Math.ceil(rows / mr) * mr);
      const bpack = (scratch + 15) & ~15;
      const apack = bpack + nPanels * nr * kc0 * 4;
      const tile = apack + Math.ceil(mc0 / mr) * mr * kc0 * 4;
      for (let e = first; e < last; e++) {
        const ae = a + e * aStep + i0 * sAm * 4;
        const be = b + e * bStep + j0 * sBn * 4;
        const ce = c + e * cStep + (i0 * n + j0) * 4;
        for (let pc = 0; pc < k; pc += kc0) {
          const kc = Math.min(kc0, k - pc);
          ex.packB(be + pc * sBk * 4, sBn * 4, sBk * 4, cols, kc, bpack);
          for (let ic = 0; ic < rows; ic += mc0) {
            const mc = Math.min(mc0, rows - ic);
            ex.pack(ae + (ic * sAm + pc * sAk) * 4, sAm * 4, sAk * 4, mc, kc, apack);
            for (let p = 0; p < nPanels; p++) {
              const jr = p * nr;
              ex.macro(apack, bpack + p * nr * kc * 4, kc, mc, ce + (ic * n + jr) * 4, n * 4, Math.min(nr, cols - jr), pc > 0 ? 1 : 0, tile);
            }
          }
        }
      }
    } else if (kind === 2) {
      // RMSNorm, rows [r0, r0 + per).
      const per = ctrl[A + 6], c = ctrl[A + 5], r0 = j * per, rows = Math.min(per, ctrl[A + 4] - r0);
      ex.rmsNorm(ctrl[A] + r0 * c * 4, ctrl[A + 1], ctrl[A + 2] + r0 * c * 4, ctrl[A + 3] + r0 * 4, rows, c, fl[F]);
    } else if (kind === 3) {
      // RMSNorm's gradient, rows of block j; its weight gradient's partial at parts + j * c.
      const per = ctrl[A + 8], c = ctrl[A + 7], r0 = j * per, rows = Math.min(per, ctrl[A + 6] - r0);
      ex.rmsNormGrad(ctrl[A] + r0 * c * 4, ctrl[A + 1], ctrl[A + 2] + r0 * 4, ctrl[A + 3] + r0 * c * 4, ctrl[A + 4] + r0 * c * 4, ctrl[A + 5] + j * c * 4, rows, c);
    } else if (kind === 4) {
      // SwiGLU's gradient, elements [e0, e0 + per) (per a multiple of 4).
      const per = ctrl[A + 7], e0 = j * per, len = Math.min(per, ctrl[A + 6] - e0) * 4, o = e0 * 4;
      ex.siluMulGrad(ctrl[A] + o, ctrl[A + 1] + o, ctrl[A + 2] + o, ctrl[A + 3] + o, ctrl[A + 4] + o, ctrl[A + 5] + o, len / 4);
    } else if (kind === 5) {
      // Row maxima and sums of exponentials, rows [r0, r0 + per).
      const per = ctrl[A + 5], v = ctrl[A + 2], r0 = j * per, rows = Math.min(per, ctrl[A + 1] - r0);
      ex.softmaxStats(ctrl[A] + r0 * v * 4, rows, v, ctrl[A + 3] + r0 * 4, ctrl[A + 4] + r0 * 4);
    } else if (kind === 6) {
      // The cross-entropy's gradient, rows [r0, r0 + per).
      const per = ctrl[A + 6], v = ctrl[A + 5], r0 = j * per, rows = Math.min(per, ctrl[A + 4] - r0);
      ex.expGrad(ctrl[A] + r0 * v * 4, ctrl[A + 1] + r0 * 4, ctrl[A + 2] + r0 * 4, ctrl[A + 3] + r0 * v * 4, rows, v);
    } else if (kind === 7) {
      // AdamW, elements [e0, e0 + per) (per a multiple of 4).
      const per = ctrl[A + 8], e0 = j * per, len = Math.min(per, ctrl[A + 7] - e0), o = e0 * 4;
      ex.adamW(ctrl[A] + o, ctrl[A + 1] + o, ctrl[A + 2] + o, ctrl[A + 3] + o, ctrl[A + 4] + o, ctrl[A + 5] + o, ctrl[A + 6] + o, len,
        fl[F], fl[F + 1], fl[F + 2], fl[F + 3], fl[F + 4], fl[F + 5], fl[F + 6], fl[F + 7], fl[F + 8], fl[F + 9]);
    } else if (kind === 8) {
      // A broadcast binary operation over rows x cols: a block of rows and a block of columns.
      const op = ctrl[A], a = ctrl[A + 1], aso = ctrl[A + 2], asi = ctrl[A + 3], b = ctrl[A + 4], bso = ctrl[A + 5], bsi = ctrl[A + 6];
      const out = ctrl[A + 7], rows = ctrl[A + 8], cols = ctrl[A + 9], rowsPer = ctrl[A + 10], colsPer = ctrl[A + 11], colBlocks = ctrl[A + 12];
      const r0 = Math.floor(j / colBlocks) * rowsPer, c0 = (j % colBlocks) * colsPer;
      const fn = op === 0 ? ex.add : op === 1 ? ex.sub : op === 2 ? ex.mul : ex.div;
      fn(a + r0 * aso + c0 * asi, aso, asi, b + r0 * bso + c0 * bsi, bso, bsi, out + (r0 * cols + c0) * 4, cols * 4, Math.min(rowsPer, rows - r0), Math.min(colsPer, cols - c0));
    } else if (kind === 9) {
      // Sigmoid, elements [e0, e0 + per) (per a multiple of 4).
      const per = ctrl[A + 3], e0 = j * per;
      ex.sigmoid(ctrl[A] + e0 * 4, ctrl[A + 1] + e0 * 4, Math.min(per, ctrl[A + 2] - e0));
    } else if (kind === 10 || kind === 11) {
      // Softmax / sum of each row, rows [r0, r0 + per).
      const per = ctrl[A + 4], cols = ctrl[A + 3], r0 = j * per, rows = Math.min(per, ctrl[A + 2] - r0);
      if (kind === 10) ex.softmax(ctrl[A] + r0 * cols * 4, ctrl[A + 1] + r0 * cols * 4, rows, cols);
      else ex.rowSum(ctrl[A] + r0 * cols * 4, ctrl[A + 1] + r0 * 4, rows, cols);
    } else if (kind === 12) {
      // Strided row copies (a transpose): outer indices q = i0 * n1 + i1 in [q0, q0 + per), each n2 runs.
      const src = ctrl[A], dst = ctrl[A + 1], n1 = ctrl[A + 3], n2 = ctrl[A + 4], s0 = ctrl[A + 5], s1 = ctrl[A + 6], s2 = ctrl[A + 7], run = ctrl[A + 8], per = ctrl[A + 9];
      const q0 = j * per, q1 = Math.min(q0 + per, ctrl[A + 2] * n1);
      for (let q = q0; q < q1; q++) ex.copyRuns(src + Math.floor(q / n1) * s0 + (q % n1) * s1, dst + q * n2 * run, 1, 1, n2, 0, 0, s2, run);
    } else if (kind === 13) {
      // Attention's masked, scaled softmax, rows [r0, r0 + per); row r adds mask row r mod T.
      const cols = ctrl[A + 3], T = ctrl[A + 5], per = ctrl[A + 6], r0 = j * per;
      ex.attnSoftmax(ctrl[A] + r0 * cols * 4, ctrl[A + 1] + r0 * cols * 4, Math.min(per, ctrl[A + 2] - r0), cols, ctrl[A + 4], r0 % T, T, fl[F]);
    } else if (kind === 14) {
      // Its gradient, rows [r0, r0 + per).
      const cols = ctrl[A + 4], per = ctrl[A + 5], r0 = j * per, o = r0 * cols * 4;
      ex.attnSoftmaxGrad(ctrl[A] + o, ctrl[A + 1] + o, ctrl[A + 2] + o, Math.min(per, ctrl[A + 3] - r0), cols, fl[F]);
    } else if (kind === 15) {
      // Rotary embedding, rows [r0, r0 + per) of 2 * half; row r at position r mod T.
      const half = ctrl[A + 5], T = ctrl[A + 6], per = ctrl[A + 8], r0 = j * per, o = r0 * half * 8;
      ex.rotary(ctrl[A] + o, ctrl[A + 1], ctrl[A + 2], ctrl[A + 3] + o, Math.min(per, ctrl[A + 4] - r0), half, r0 % T, T, ctrl[A + 7], ctrl[A + 9]);
    }
    } catch {
      Atomics.store(ctrl, 6, 1);
    }
  }
  return ran;
}

/**
 * A worker's life: wait for a task (spinning up to 2 ms, then Atomics.wait), run
 * chunks, count them done, wake the caller when the last is done. Exits on stop.
 */
export function workerLoop(ex: TaskExports, ctrl: Int32Array, fl: Float32Array, busy: Float64Array, t: number, run: typeof runChunks): void {
  let seen = Atomics.load(ctrl, 0);
  for (;;) {
    // Spin for up to 2 ms after the last task before sleeping: a training step
    // hands out a task every few hundred microseconds, with tfjs's own kernels
    // running on the calling thread in between, and waking a sleeping thread can
    // take the scheduler longer than that on a busy machine.
    const idleFrom = performance.now();
    while (Atomics.load(ctrl, 0) === seen && performance.now() - idleFrom < 2) {
      for (let i = 0; i < 256 && Atomics.load(ctrl, 0) === seen; i++);
    }
    if (Atomics.load(ctrl, 0) === seen) Atomics.wait(ctrl, 0, seen);
    if (Atomics.load(ctrl, 5) === 1) return;
    const gen = Atomics.load(ctrl, 0);
    if (gen === seen) continue;
    seen = gen;
    const t0 = performance.now();
    const ran = run(ex, ctrl, fl, t, gen);
    busy[128 + t] += performance.now() - t0;
    if (ran > 0 && Atomics.add(ctrl, 2, ran) + ran >= ctrl[4]) Atomics.notify(ctrl, 2);
  }
}

/**
 * The source of a worker: receives { memory, module bytes, control block, index }
 * in its first message, builds the kernels over the shared memory, says "ready",
 * then runs workerLoop. `host` is "node" (worker_threads) or "web" (a Web Worker).
 */
export function workerSource(host: "node" | "web"): string {
  const start =
    host === "node"
      ? `const { parentPort } = require("node:worker_threads"); const post = (m) => parentPort.postMessage(m); parentPort.once("message", (m) => boot(m));`
      : `const post = (m) => self.postMessage(m); self.onmessage = (e) => { self.onmessage = null; boot(e.data); };`;
  return `"use strict";
var __name = (f) => f;
const runChunks = ${runChunks.toString()};
const workerLoop = ${workerLoop.toString()};
function boot({ memory, bytes, control, index }) {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const ctrl = new Int32Array(control), fl = new Float32Array(control), busy = new Float64Array(control);
    post({ ready: true });
    workerLoop(instance.exports, ctrl, fl, busy, index, runChunks);
    post({ exited: true });
  } catch (e) {
    post({ error: String(e && e.stack || e) });
  }
}
${start}
`;
}
