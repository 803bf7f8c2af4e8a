// SIMD kernels for the wasm backend, written as WebAssembly at run time
// (lib/wasm/asm.ts) and run on the backend's own memory, so operands are read
// where tfjs keeps them and no bytes are copied in or out:
//  - gemm: a float32 matrix product for any layout (strided, transposed,
//    broadcast), the kernel that most of a training step spends its time in;
//  - copyRuns: strided row copies (the transposes attention needs);
//  - adamW: one AdamW update in one pass;
//  - the fused layers of lib/wasm/fused.ts (RMSNorm, SwiGLU's gate, cross-entropy).
//
// The GEMM. tfjs 4.22's wasm matmuls (XNNPACK) reach 15-20 GFLOP/s on one
// thread here. This is the standard blocked GEMM (Goto/BLIS): the right operand
// is packed in panels of NR columns, the left in panels of MR rows, both for a
// KC-long slice of the inner dimension; an unrolled MR x NR micro-kernel keeps
// its tile of C in SIMD registers for the whole slice. Where the engine has
// relaxed SIMD (Chrome and Node 22+ by default; Node 20 behind
// --experimental-wasm-relaxed-simd) the micro-kernel uses f32x4.relaxed_madd, a
// fused multiply-add on x86 with FMA and on ARM, which halves its instructions;
// elsewhere it uses mul + add. 4 x 8 measured best here (25-45 GFLOP/s): larger
// tiles run out of the 16 SIMD registers V8 has on x86-64 and spill. Operands may
// be strided (transposed, or broadcast with stride 0): packing reads any layout,
// so transposes cost no extra pass.
import { Func, f32, i32, moduleBytes, v128 } from "./asm.js";
import { expGradFunc, rmsNormFunc, rmsNormGradFunc, siluMulGradFunc, softmaxStatsFunc } from "./fused.js";
import { attnSoftmaxGradFunc, BINARY_OPS, binaryFunc, rotaryFunc, rowSumFunc, sigmoidFunc, softmaxFunc, sumSquaresFunc, type BinaryOp, type BinaryPlan } from "./elementwise.js";
import { KernelPool } from "../threads/pool.js";
import { TASK, type TaskExports } from "../threads/tasks.js";

export interface SimdOptions {
  /** Rows of the micro-kernel tile. */
  mr?: number;
  /** Columns of the micro-kernel tile (a multiple of 4). */
  nr?: number;
  /** Use f32x4.relaxed_madd (requires relaxed SIMD; see relaxedSimdSupported). */
  relaxed?: boolean;
  /** Length of the inner-dimension slice packed at once. */
  kc?: number;
  /** Rows of the left operand packed at once. */
  mc?: number;
}

/** Offsets and strides in float32 elements; pointers are byte addresses in the memory. */
export interface GemmArgs {
  a: number; b: number; c: number;
  m: number; n: number; k: number;
  /** Element strides of A along its rows (i) and the inner dimension (k). */
  sAm: number; sAk: number;
  /** Element strides of B along the inner dimension (k) and its columns (j). */
  sBk: number; sBn: number;
  /** Products in a batch (default 1), and the byte steps from one entry's A, B and C to the next (0: broadcast). */
  batch?: number; aStep?: number; bStep?: number; cStep?: number;
}

/**
 * Products smaller than this many multiply-adds run on the calling thread alone:
 * handing a task to another thread and meeting it at the barrier costs a few
 * microseconds, about what 2^18 multiply-adds take.
 */
export const SMALL_GEMM = 1 << 18;
/**
 * Elementwise work smaller than this many elements runs on the calling thread
 * alone (a few microseconds of memory traffic, about what handing it out costs).
 */
export const SMALL_ELEMENTWISE = 1 << 15;
/** Rows of RMSNorm's gradient per partial sum of its weight gradient (fixed: the sum's order must not depend on the thread count). */
export const RMS_GRAD_BLOCK = 64;

/** One AdamW update (see lib/kernels.ts adamW); pointers are byte addresses of float32 arrays of n. */
export interface AdamWArgs {
  w: number; m: number; v: number; g: number;
  w2: number; m2: number; v2: number;
  n: number;
  scale: number; beta1: number; beta2: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  bc1: number; bc2: number;
  eps: number; lr: number; decay: number;
}

export interface SimdKernels {
  /** The threads the kernels run on (KernelPool.setThreads). */
  readonly pool: KernelPool;
  readonly mr: number;
  readonly nr: number;
  readonly relaxed: boolean;
  /** The GEMM's block of the inner dimension: each output sums kc products from zero, then adds that partial to C, block by block. */
  readonly kc: number;
  /** The address of a float 1.0 in the memory (a row of ones, read with stride 0). */
  readonly one: number;
  /** C[m, n] (row-major, contiguous) = A[m, k] B[k, n]. */
  gemm(args: GemmArgs): void;
  /**
   * g' = g scale; m2 = beta1 m + (1 - beta1) g'; v2 = beta2 v + (1 - beta2) g'^2;
   * w2 = w decay - lr (m2 / bc1) / (sqrt(v2 / bc2) + eps), in float32.
   */
  adamW(args: AdamWArgs): void;
  /**
   * Copy runs of `run` bytes gathered from src by up to three strided loops
   * (counts n, byte strides s, outermost first) into dst, contiguously.
   */
  copyRuns(src: number, dst: number, n: [number, number, number], s: [number, number, number], run: number): void;
  /** The fused layers (lib/wasm/fused.ts); byte addresses, counts in elements. */
  rmsNorm(x: number, w: number, y: number, r: number, n: number, c: number, eps: number): void;
  rmsNormGrad(x: number, w: number, r: number, dy: number, dx: number, dw: number, n: number, c: number): void;
  siluMulGrad(g: number, u: number, s: number, dy: number, dg: number, du: number, n: number): void;
  softmaxStats(x: number, n: number, v: number, maxOut: number, sumOut: number): void;
  expGrad(x: number, lse: number, dy: number, g: number, n: number, v: number): void;
  /** out = a op b, broadcast as `plan` lays them out (lib/wasm/elementwise.ts binaryPlan); byte addresses. */
  binary(op: BinaryOp, plan: BinaryPlan, a: number, b: number, out: number): void;
  /** y = 1 / (1 + exp(-x)) for n elements. */
  sigmoid(x: number, y: number, n: number): void;
  /** Softmax of each row of cols. */
  softmax(x: number, y: number, rows: number, cols: number): void;
  /** The sum of each row of cols, left to right. */
  rowSum(x: number, y: number, rows: number, cols: number): void;
  /** Attention's softmax(x * scale + mask[t]) per row of cols, row r at position t = r mod T (mask [T, cols]). */
  attnSoftmax(x: number, mask: number, y: number, rows: number, cols: number, T: number, scale: number): void;
  /** Its gradient with respect to x, from the probabilities y and their gradient dy. */
  attnSoftmaxGrad(y: number, dy: number, dx: number, rows: number, cols: number, scale: number): void;
  /** Rotary embedding of rows of 2 * half, row r at position r mod T, tables of T rows of ld (the first half used); back: its transpose (the gradient). */
  rotary(x: number, c: number, s: number, y: number, rows: number, half: number, T: number, back: boolean, ld: number): void;
  /** The sum of the squares of n floats, in a fixed order, on the calling thread. */
  sumSquares(x: number, n: number): number;
}

/** Does the engine validate a one-function module that `body` writes (a v128 result)? */
function validates(body: (f: Func) => void): boolean {
  try {
    const f = new Func([], [v128]);
    body(f);
    return WebAssembly.validate(moduleBytes([{ name: "f", func: f }]));
  } catch {
    return false;
  }
}

// Asked once per engine (Node sets its relaxed-SIMD flag before lib/ compiles anything).
let hasRelaxed: boolean | undefined;
let hasSimd: boolean | undefined;

/** Does this engine have relaxed SIMD (f32x4.relaxed_madd)? */
export function relaxedSimdSupported(): boolean {
  return (hasRelaxed ??= validates((f) => f.v128Zero().v128Zero().v128Zero().f32x4RelaxedMadd()));
}

/** Does this engine have fixed-width SIMD at all? */
export function simdSupported(): boolean {
  return (hasSimd ??= validates((f) => f.v128Zero().v128Zero().f32x4Add()));
}

/**
 * pack(src, sOuter, sK, count, kc, dst): copy `count` rows (or columns) of a
 * strided operand into panels of R, each panel kc steps long with R values per
 * step, padding the last panel with zeros. Strides are in bytes.
 */
function packFunc(r: number): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32]);
  const [src, sOuter, sK, count, kc, dst] = [0, 1, 2, 3, 4, 5];
  const p0 = f.local(i32), k = f.local(i32), q = f.local(i32), valid = f.local(i32), panel = f.local(i32);
  // for k in 0..kc: q = panel + k * sK; body(); dst += R * 4
  const overK = (body: () => void) => {
    f.i32c(0).set(k);
    f.block().loop();
    f.get(k).get(kc).geS().brIf(1);
    f.get(panel).get(k).get(sK).mul().add().set(q);
    body();
    f.addTo(dst, r * 4).addTo(k, 1).br(0);
    f.end().end();
  };
  f.i32c(0).set(p0).get(src).set(panel);
  f.block().loop();
  f.get(p0).get(count).geS().brIf(1);
  // valid = min(R, count - p0)
  f.i32c(r).get(count).get(p0).sub().get(count).get(p0).sub().i32c(r).gtS().selectOp().set(valid);
  f.get(valid).i32c(r).eq().if_();
  {
    if (r % 4 === 0) {
      // A whole panel whose R values lie side by side (sOuter = 4 bytes): vector copies.
      f.get(sOuter).i32c(4).eq().if_();
      overK(() => {
        for (let v = 0; v < r / 4; v++) f.get(dst).get(q).v128Load(v * 16).v128Store(v * 16);
      });
      f.else_();
    }
    // A whole panel, strided: R scalar copies per step, no bounds tests.
    overK(() => {
      for (let i = 0; i < r; i++) {
        f.get(dst).get(q).f32Load().f32Store(i * 4);
        if (i < r - 1) f.addLocal(q, sOuter);
      }
    });
    if (r % 4 === 0) f.end();
  }
  f.else_();
  // The last, partial panel: copy the valid values, pad with zeros.
  overK(() => {
    for (let i = 0; i < r; i++) {
      f.i32c(i).get(valid).ltS().if_();
      f.get(dst).get(q).f32Load().f32Store(i * 4);
      f.else_();
      f.get(dst).f32Const0().f32Store(i * 4);
      f.end();
      if (i < r - 1) f.addLocal(q, sOuter);
    }
  });
  f.end();
  // next panel: panel += R * sOuter
  f.get(panel).i32c(r).get(sOuter).mul().add().set(panel);
  f.addTo(p0, r).br(0);
  f.end().end();
  return f;
}

/**
 * macro(ap, bp, kc, mc, c, ldc, nvalid, accumulate, scratch): for one packed
 * column panel of B (NR wide) and all packed row panels of A (mc rows), compute
 * the MR x NR tiles of C = A B (or C += A B when accumulate is 1). ldc is C's
 * row stride in bytes; edge tiles go through `scratch` (MR * NR floats).
 */
function macroFunc(mr: number, nr: number, relaxed: boolean): Func {
  const nv = nr / 4;
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [ap, bp, kc, mc, c, ldc, nvalid, accumulate, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ir = f.local(i32), a = f.local(i32), b = f.local(i32), k = f.local(i32);
  const crow = f.local(i32), mvalid = f.local(i32), i = f.local(i32), j = f.local(i32), src = f.local(i32), dstp = f.local(i32);
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, () => f.local(v128)));
  const bv = Array.from({ length: nv }, () => f.local(v128));
  const av = f.local(v128);

  f.i32c(0).set(ir);
  f.block().loop();
  f.get(ir).get(mc).geS().brIf(1);
  // a = ap + ir * kc * 4 (row panels are MR * kc floats each); b = bp
  f.get(ap).get(ir).get(kc).mul().i32c(2).shl().add().set(a);
  f.get(bp).set(b);
  f.get(kc).set(k);
  for (const row of acc) for (const x of row) f.v128Zero().set(x);
  // The inner loop: NR/4 vector loads of B, MR splats of A, MR * NR/4 multiply-adds.
  f.loop();
  for (let v = 0; v < nv; v++) f.get(b).v128Load(v * 16).set(bv[v]);
  for (let r = 0; r < mr; r++) {
    f.get(a).v128Load32Splat(r * 4).set(av);
    for (let v = 0; v < nv; v++) {
      if (relaxed) f.get(av).get(bv[v]).get(acc[r][v]).f32x4RelaxedMadd().set(acc[r][v]);
      else f.get(acc[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(acc[r][v]);
    }
  }
  f.addTo(a, mr * 4).addTo(b, nr * 4);
  f.get(k).i32c(1).sub().tee(k).brIf(0);
  f.end();
  // mvalid = min(MR, mc - ir); crow = c + ir * ldc
  f.i32c(mr).get(mc).get(ir).sub().get(mc).get(ir).sub().i32c(mr).gtS().selectOp().set(mvalid);
  f.get(c).get(ir).get(ldc).mul().add().set(crow);
  f.get(mvalid).i32c(mr).eq().get(nvalid).i32c(nr).eq().and().if_();
  {
    // A whole tile: store the registers straight into C.
    f.get(accumulate).if_();
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) f.get(crow).get(crow).v128Load(v * 16).get(acc[r][v]).f32x4Add().v128Store(v * 16);
      if (r < mr - 1) f.addLocal(crow, ldc);
    }
    f.else_();
    f.get(c).get(ir).get(ldc).mul().add().set(crow);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) f.get(crow).get(acc[r][v]).v128Store(v * 16);
      if (r < mr - 1) f.addLocal(crow, ldc);
    }
    f.end();
  }
  f.else_();
  {
    // An edge tile: spill the registers to scratch, copy the valid part.
    for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) f.get(scratch).get(acc[r][v]).v128Store((r * nr + v * 4) * 4);
    f.i32c(0).set(i);
    f.block().loop();
    f.get(i).get(mvalid).geS().brIf(1);
    f.get(scratch).get(i).i32c(nr * 4).mul().add().set(src);
    f.get(crow).set(dstp);
    f.i32c(0).set(j);
    f.block().loop();
    f.get(j).get(nvalid).geS().brIf(1);
    f.get(dstp);
    f.get(src).f32Load();
    f.get(accumulate).ifF32();
    f.get(dstp).f32Load();
    f.else_();
    f.f32Const0();
    f.end();
    f.f32Add();
    f.f32Store();
    f.addTo(src, 4).addTo(dstp, 4).addTo(j, 1).br(0);
    f.end().end();
    f.addLocal(crow, ldc);
    f.addTo(i, 1).br(0);
    f.end().end();
  }
  f.end();
  f.addTo(ir, mr).br(0);
  f.end().end();
  return f;
}

/**
 * copyRuns(src, dst, n0, n1, n2, s0, s1, s2, run): for each (i0, i1, i2) in
 * order, copy `run` bytes from src + i0*s0 + i1*s1 + i2*s2 to the next place in
 * dst. A transpose that keeps the last axis in place (a head split or merge,
 * [B, T, H, D] <-> [B, H, T, D]) is exactly this.
 */
function copyRunsFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [src, dst, n0, n1, n2, s0, s1, s2, run] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const i0 = f.local(i32), i1 = f.local(i32), i2 = f.local(i32), p0 = f.local(i32), p1 = f.local(i32), p2 = f.local(i32);
  const nest = (i: number, n: number, body: () => void) => {
    f.i32c(0).set(i);
    f.block().loop();
    f.get(i).get(n).geS().brIf(1);
    body();
    f.addTo(i, 1).br(0);
    f.end().end();
  };
  f.get(src).set(p0);
  nest(i0, n0, () => {
    f.get(p0).set(p1);
    nest(i1, n1, () => {
      f.get(p1).set(p2);
      nest(i2, n2, () => {
        f.get(dst).get(p2).get(run).memoryCopy();
        f.addLocal(dst, run).addLocal(p2, s2);
      });
      f.addLocal(p1, s1);
    });
    f.addLocal(p0, s0);
  });
  return f;
}

/** adamW(w, m, v, g, w2, m2, v2, n, scale, beta1, beta2, 1-beta1, 1-beta2, 1/bc1, 1/bc2, eps, lr, decay), n a multiple of 4. */
function adamWFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32]);
  const [w, m, v, g, w2, m2, v2, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const i = f.local(i32), end = f.local(i32);
  const [S, B1, B2, C1, C2, I1, I2, EPS, LR, DEC] = Array.from({ length: 10 }, (_, j) => {
    const x = f.local(v128);
    f.get(8 + j).f32x4Splat().set(x);
    return x;
  });
  const gi = f.local(v128), mi = f.local(v128), vi = f.local(v128);
  const at = (base: number) => f.get(base).get(i).add();
  f.i32c(0).set(i);
  f.get(n).i32c(2).shl().set(end);
  f.block().loop();
  f.get(i).get(end).geS().brIf(1);
  at(g).v128Load().get(S).f32x4Mul().set(gi);
  at(m).v128Load().get(B1).f32x4Mul().get(gi).get(C1).f32x4Mul().f32x4Add().set(mi);
  at(v).v128Load().get(B2).f32x4Mul().get(gi).get(gi).f32x4Mul().get(C2).f32x4Mul().f32x4Add().set(vi);
  at(m2).get(mi).v128Store();
  at(v2).get(vi).v128Store();
  at(w2);
  at(w).v128Load().get(DEC).f32x4Mul();
  f.get(LR).get(mi).get(I1).f32x4Mul().f32x4Mul();
  f.get(vi).get(I2).f32x4Mul().f32x4Sqrt().get(EPS).f32x4Add();
  f.f32x4Div().f32x4Sub().v128Store();
  f.addTo(i, 16).br(0);
  f.end().end();
  return f;
}

interface Exports {
  adamW(...args: number[]): void;
  rmsNorm(...args: number[]): void;
  rmsNormGrad(...args: number[]): void;
  siluMulGrad(...args: number[]): void;
  softmaxStats(...args: number[]): void;
  expGrad(...args: number[]): void;
  copyRuns(src: number, dst: number, n0: number, n1: number, n2: number, s0: number, s1: number, s2: number, run: number): void;
  sigmoid(x: number, y: number, n: number): void;
  sumSquares(x: number, n: number): number;
  pack(src: number, sOuter: number, sK: number, count: number, kc: number, dst: number): void;
  packB(src: number, sOuter: number, sK: number, count: number, kc: number, dst: number): void;
  macro(ap: number, bp: number, kc: number, mc: number, c: number, ldc: number, nvalid: number, accumulate: number, scratch: number): void;
}

/**
 * Build the kernels over `memory`. The GEMM's scratch space (packed panels) is
 * allocated with `alloc` (bytes -> address) and released with `free` when it
 * must grow.
 */
export function createSimdKernels(
  memory: WebAssembly.Memory,
  alloc: (bytes: number) => number,
  free: (ptr: number) => void,
  options: SimdOptions = {}
): SimdKernels {
  const relaxed = options.relaxed ?? relaxedSimdSupported();
  const mr = options.mr ?? 4;
  const nr = options.nr ?? 8;
  const kcMax = options.kc ?? 256;
  const mcMax = options.mc ?? 128;
  if (nr % 4 !== 0 || mr < 1 || nr < 4) throw new Error(`gemm: tile ${mr}x${nr} must have nr a multiple of 4`);
  const bytes = moduleBytes([
    { name: "pack", func: packFunc(mr) },
    { name: "packB", func: packFunc(nr) },
    { name: "macro", func: macroFunc(mr, nr, relaxed) },
    { name: "copyRuns", func: copyRunsFunc() },
    { name: "adamW", func: adamWFunc() },
    { name: "rmsNorm", func: rmsNormFunc() },
    { name: "rmsNormGrad", func: rmsNormGradFunc() },
    { name: "siluMulGrad", func: siluMulGradFunc() },
    { name: "softmaxStats", func: softmaxStatsFunc() },
    { name: "expGrad", func: expGradFunc() },
    ...BINARY_OPS.map((op) => ({ name: op, func: binaryFunc(op) })),
    { name: "sigmoid", func: sigmoidFunc() },
    { name: "softmax", func: softmaxFunc() },
    { name: "rowSum", func: rowSumFunc() },
    { name: "attnSoftmax", func: softmaxFunc(true) },
    { name: "attnSoftmaxGrad", func: attnSoftmaxGradFunc() },
    { name: "rotary", func: rotaryFunc() },
    { name: "sumSquares", func: sumSquaresFunc() }
  ], { shared: typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const ex = instance.exports as unknown as Exports;
  const pool = new KernelPool(ex as unknown as TaskExports, memory, bytes, alloc, free);
  // Chunks per thread for the tasks split by rows or elements (a few, so a thread held up elsewhere costs less).
  const rowChunks = (rows: number, least: number) => (pool.threads === 1 ? 1 : Math.max(1, Math.min(Math.ceil(rows / least), 2 * pool.threads)));
  let partsPtr = 0;
  let partsBytes = 0;

  // Chunks for elementwise work of n elements (or rows of n elements each): one while it is small.
  const elementChunks = (n: number, perItem: number) => (pool.threads === 1 || n * perItem < SMALL_ELEMENTWISE ? 1 : Math.min(n, 2 * pool.threads));

  const one = alloc(32);
  if (!one) throw new Error("gemm: could not allocate 32 bytes");
  new Float32Array(memory.buffer, one, 1)[0] = 1;
  // Four floats after the 1.0 (16-byte aligned): the last n % 4 elements of a sigmoid go through the vector code here.
  const tail = (one + 4 + 15) & ~15;

  return {
    pool, mr, nr, relaxed, kc: kcMax, one,
    adamW({ w, m, v, g, w2, m2, v2, n, scale, beta1, beta2, bc1, bc2, eps, lr, decay }: AdamWArgs) {
      const body = n - (n % 4);
      const chunks = rowChunks(body / 4, 4096);
      const per = Math.ceil(body / 4 / chunks) * 4;
      pool.run(TASK.adamW, Math.ceil(body / per) || 0, (a, f) => {
        a.set([w, m, v, g, w2, m2, v2, body, per], 16);
        f.set([scale, beta1, beta2, 1 - beta1, 1 - beta2, 1 / bc1, 1 / bc2, eps, lr, decay], 48);
      });
      // The last n % 4 elements.
      const view = (p: number) => new Float32Array(memory.buffer, p, n);
      const [W, M, V, G, W2, M2, V2] = [w, m, v, g, w2, m2, v2].map(view);
      for (let i = body; i < n; i++) {
        const gi = G[i] * scale;
        const mi = (M2[i] = beta1 * M[i] + (1 - beta1) * gi);
        const vi = (V2[i] = beta2 * V[i] + (1 - beta2) * gi * gi);
        W2[i] = W[i] * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
      }
    },
    rmsNorm(x, w, y, r, n, c, eps) {
      const per = Math.ceil(n / rowChunks(n, 32));
      pool.run(TASK.rmsNorm, Math.ceil(n / per), (a, f) => {
        a.set([x, w, y, r, n, c, per], 16);
        f[48] = eps;
      });
    },
    rmsNormGrad(x, w, r, dy, dx, dw, n, c) {
      // Each block of rows writes its share of dw to a partial; the partials are summed in block order here.
      const blocks = Math.ceil(n / RMS_GRAD_BLOCK);
      if (blocks * c * 4 > partsBytes) {
        if (partsPtr) free(partsPtr);
        partsBytes = blocks * c * 4 * 2;
        partsPtr = alloc(partsBytes);
        if (!partsPtr) throw new Error(`rmsNormGrad: could not allocate ${partsBytes} bytes`);
      }
      const parts = partsPtr;
      pool.run(TASK.rmsNormGrad, blocks, (a) => a.set([x, w, r, dy, dx, parts, n, c, RMS_GRAD_BLOCK], 16));
      const P = new Float32Array(memory.buffer, parts, blocks * c);
      const DW = new Float32Array(memory.buffer, dw, c);
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let b = 0; b < blocks; b++) s = Math.fround(s + P[b * c + j]);
        DW[j] = s;
      }
    },
    siluMulGrad(g, u, s, dy, dg, du, n) {
      const quads = n / 4;
      const per = Math.ceil(quads / rowChunks(quads, 4096)) * 4;
      pool.run(TASK.siluMulGrad, Math.ceil(n / per) || 0, (a) => a.set([g, u, s, dy, dg, du, n, per], 16));
    },
    softmaxStats(x, n, v, maxOut, sumOut) {
      const per = Math.ceil(n / rowChunks(n, 16));
      pool.run(TASK.softmaxStats, Math.ceil(n / per), (a) => a.set([x, n, v, maxOut, sumOut, per], 16));
    },
    expGrad(x, lse, dy, g, n, v) {
      const per = Math.ceil(n / rowChunks(n, 16));
      pool.run(TASK.expGrad, Math.ceil(n / per), (a) => a.set([x, lse, dy, g, n, v, per], 16));
    },
    copyRuns(src, dst, [n0, n1, n2], [s0, s1, s2], run) {
      const outer = n0 * n1;
      const chunks = elementChunks(outer, (n2 * run) / 4);
      if (chunks === 1) return ex.copyRuns(src, dst, n0, n1, n2, s0, s1, s2, run);
      const per = Math.ceil(outer / chunks);
      pool.run(TASK.copyRuns, Math.ceil(outer / per), (a) => a.set([src, dst, n0, n1, n2, s0, s1, s2, run, per], 16));
    },
    binary(op, { rows, cols, a: pa, b: pb }, a, b, out) {
      // Chunks of whole rows where there are enough rows, else of columns (a multiple of 4).
      const chunks = elementChunks(rows * cols, 1);
      let rowsPer = rows;
      let colsPer = cols;
      if (chunks > 1) {
        if (rows >= chunks) rowsPer = Math.ceil(rows / chunks);
        else {
          rowsPer = 1;
          colsPer = Math.ceil(cols / Math.ceil(chunks / rows) / 4) * 4;
        }
      }
      const colBlocks = Math.ceil(cols / colsPer);
      pool.run(TASK.binary, Math.ceil(rows / rowsPer) * colBlocks, (x) =>
        x.set([BINARY_OPS.indexOf(op), a, pa.rowStride * 4, pa.colStride * 4, b, pb.rowStride * 4, pb.colStride * 4, out, rows, cols, rowsPer, colsPer, colBlocks], 16));
    },
    sigmoid(x, y, n) {
      const body = n - (n % 4);
      if (body > 0) {
        const per = Math.ceil(body / 4 / elementChunks(body / 4, 4)) * 4;
        pool.run(TASK.sigmoid, Math.ceil(body / per), (a) => a.set([x, y, body, per], 16));
      }
      if (body < n) {
        const t = new Float32Array(memory.buffer, tail, 4);
        t.fill(0).set(new Float32Array(memory.buffer, x + body * 4, n - body));
        ex.sigmoid(tail, tail, 4);
        new Float32Array(memory.buffer, y + body * 4, n - body).set(t.subarray(0, n - body));
      }
    },
    softmax(x, y, rows, cols) {
      const per = Math.ceil(rows / elementChunks(rows, cols));
      pool.run(TASK.softmax, Math.ceil(rows / per), (a) => a.set([x, y, rows, cols, per], 16));
    },
    rowSum(x, y, rows, cols) {
      const per = Math.ceil(rows / elementChunks(rows, cols));
      pool.run(TASK.rowSum, Math.ceil(rows / per), (a) => a.set([x, y, rows, cols, per], 16));
    },
    attnSoftmax(x, mask, y, rows, cols, T, scale) {
      const per = Math.ceil(rows / elementChunks(rows, cols));
      pool.run(TASK.attnSoftmax, Math.ceil(rows / per), (a, f) => {
        a.set([x, y, rows, cols, mask, T, per], 16);
        f[48] = scale;
      });
    },
    attnSoftmaxGrad(y, dy, dx, rows, cols, scale) {
      const per = Math.ceil(rows / elementChunks(rows, cols));
      pool.run(TASK.attnSoftmaxGrad, Math.ceil(rows / per), (a, f) => {
        a.set([y, dy, dx, rows, cols, per], 16);
        f[48] = scale;
      });
    },
    sumSquares(x, n) {
      return ex.sumSquares(x, n);
    },
    rotary(x, c, s, y, rows, half, T, back, ld) {
      const per = Math.ceil(rows / elementChunks(rows, 2 * half));
      pool.run(TASK.rotary, Math.ceil(rows / per), (a) => a.set([x, c, s, y, rows, half, T, back ? 1 : 0, per, ld], 16));
    },
    gemm({ a, b, c, m, n, k, sAm, sAk, sBk, sBn, batch = 1, aStep = 0, bStep = 0, cStep = m * n * 4 }: GemmArgs) {
      if (m === 0 || n === 0 || batch === 0) return;
      if (k === 0) {
        for (let e = 0; e < batch; e++) new Float32Array(memory.buffer, c + e * cStep, m * n).fill(0);
        return;
      }
      // Chunks are blocks of C: whole batch entries when there are enough of them,
      // else rows (when B is the smaller operand, so each chunk packs all of B) or
      // columns (each packs all of A). Never a slice of k: see lib/threads/tasks.ts.
      const T = pool.threads;
      let entriesPer = batch;
      let rowsPer = m;
      let colsPer = n;
      if (T > 1 && batch * m * n * k >= SMALL_GEMM) {
        if (batch >= 2 * T) entriesPer = Math.ceil(batch / Math.min(batch, 4 * T));
        else {
          entriesPer = 1;
          const per = Math.ceil((2 * T) / batch);
          if (n <= m) rowsPer = Math.max(mr, Math.ceil(m / per / mr) * mr);
          else colsPer = Math.max(nr, Math.ceil(n / per / nr) * nr);
        }
      }
      const rowBlocks = Math.ceil(m / rowsPer);
      const colBlocks = Math.ceil(n / colsPer);
      const kc0 = Math.min(kcMax, k);
      const mc0 = Math.min(mcMax, Math.ceil(rowsPer / mr) * mr);
      pool.ensureScratch(Math.ceil(colsPer / nr) * nr * kc0 * 4 + Math.ceil(mc0 / mr) * mr * kc0 * 4 + mr * nr * 4 + 64);
      const chunks = Math.ceil(batch / entriesPer) * rowBlocks * colBlocks;
      pool.run(TASK.gemm, chunks, (x) => x.set([a, b, c, m, n, k, sAm, sAk, sBk, sBn, batch, aStep, bStep, cStep, rowsPer, colsPer, rowBlocks, colBlocks, entriesPer, kcMax, mcMax, mr, nr], 16));
    }
  };
}
