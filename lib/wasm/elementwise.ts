// Elementwise and row kernels in WebAssembly SIMD, generated with lib/wasm/asm.ts
// and linked into lib/wasm/simd.ts's module, so the kernel threads
// (lib/threads/tasks.ts) can split them: tfjs's own Add, Sub, Multiply, RealDiv
// (with the broadcasts a transformer step uses), Sigmoid, Softmax over the last
// axis and Sum over the last axis ran on one thread and were a third of a
// 2-thread training step (lib/kernels.ts, item 9).
//
// Bits: the four binary operations are single IEEE float32 operations per
// element, so these give exactly tfjs's results; so does the row sum, which adds
// each row left to right in float32 as tfjs's wasm Sum does. Sigmoid and Softmax
// go through Cephes' expf (lib/wasm/fused.ts emitExp), not XNNPACK's, so they
// differ from tfjs's in the last bits (test/unit/threads.test.ts bounds it).
// Every element is computed the same way whichever chunk holds it, so every
// result is the same at any thread count.
import { f32, Func, i32, v128 } from "./asm.js";
import { emitExp, emitFor, expConstants, type ExpConstants } from "./fused.js";

/** The binary operations, in the order of their ids in the tasks. */
export const BINARY_OPS = ["add", "sub", "mul", "div"] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

function emitVecOp(f: Func, op: BinaryOp): void {
  if (op === "add") f.f32x4Add();
  else if (op === "sub") f.f32x4Sub();
  else if (op === "mul") f.f32x4Mul();
  else f.f32x4Div();
}

function emitScalarOp(f: Func, op: BinaryOp): void {
  if (op === "add") f.f32Add();
  else if (op === "sub") f.f32Sub();
  else if (op === "mul") f.f32Mul();
  else f.f32Div();
}

/**
 * op(a, aso, asi, b, bso, bsi, out, ldo, rows, cols): out[r, j] = a[r, j] op b[r, j]
 * for rows x cols, where operand X's element (r, j) is at X + r * xso + j * xsi
 * (byte strides; xsi is 4, or 0 for one value splat along the row) and out's at
 * out + r * ldo + 4 j. asi and bsi are not both 0.
 */
export function binaryFunc(op: BinaryOp): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [a, aso, asi, b, bso, bsi, out, ldo, rows, cols] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const row = f.local(i32), j = f.local(i32), pa = f.local(i32), pb = f.local(i32), po = f.local(i32), vb = f.local(i32), tb = f.local(i32);
  const s = f.local(v128);
  f.get(cols).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(cols).i32c(2).shl().set(tb);
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(a).get(row).get(aso).mul().add().set(pa);
    f.get(b).get(row).get(bso).mul().add().set(pb);
    f.get(out).get(row).get(ldo).mul().add().set(po);
    // Whole vectors: both operands along the row, or one splat.
    f.get(asi).get(bsi).and().if_();
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(po).get(j).add();
      f.get(pa).get(j).add().v128Load().get(pb).get(j).add().v128Load();
      emitVecOp(f, op);
      f.v128Store();
    });
    f.else_();
    f.get(asi).if_();
    f.get(pb).f32Load().f32x4Splat().set(s);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(po).get(j).add().get(pa).get(j).add().v128Load().get(s);
      emitVecOp(f, op);
      f.v128Store();
    });
    f.else_();
    f.get(pa).f32Load().f32x4Splat().set(s);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(po).get(j).add().get(s).get(pb).get(j).add().v128Load();
      emitVecOp(f, op);
      f.v128Store();
    });
    f.end();
    f.end();
    // The row's last cols % 4 elements, one at a time (xsi / 4 is 1 or 0).
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(po).get(j).add();
      f.get(pa).get(j).i32c(2).shrU().get(asi).mul().add().f32Load();
      f.get(pb).get(j).i32c(2).shrU().get(bsi).mul().add().f32Load();
      emitScalarOp(f, op);
      f.f32Store();
    });
  });
  return f;
}

/**
 * emitExp clamps its input at -87.3, where exp is about 1.2e-38: below that the
 * true value is 0 or subnormal, and a masked attention score (-1e9) must give a
 * probability of exactly 0. This leaves the v128 in `out` zero in the lanes where
 * the v128 in `x0` (the input before the clamp) is under -87.3 (a NaN stays NaN).
 */
function emitZeroBelow(f: Func, x0: number, out: number, k: ExpConstants): void {
  f.get(out).get(x0).get(k.get(-87.3)!).f32x4Lt().v128AndNot().set(out);
}

/** sigmoid(x, y, n): y = 1 / (1 + exp(-x)), n a multiple of 4 (0 where x < -87.3, as exp(-x) overflows there). */
export function sigmoidFunc(): Func {
  const f = new Func([i32, i32, i32]);
  const [x, y, n] = [0, 1, 2];
  const i = f.local(i32), nb = f.local(i32), pairs = f.local(i32);
  // Two independent streams of vectors per iteration, so the exp's long chain of dependent operations overlaps.
  const lanes = [0, 1].map(() => ({ xv: f.local(v128), x0: f.local(v128), e: f.local(v128), t: f.local(v128) }));
  const k = expConstants(f);
  const one = k.get(1)!;
  const one4 = (at: number, { xv, x0, e, t }: (typeof lanes)[number]) => {
    f.get(x).get(i).add().v128Load(at).tee(x0);
    f.v128Zero().get(x0).f32x4Sub().set(xv);
    emitExp(f, xv, e, t, k);
    f.get(one).get(one).get(e).f32x4Add().f32x4Div().set(e);
    emitZeroBelow(f, x0, e, k);
  };
  f.get(n).i32c(2).shl().set(nb);
  f.get(nb).i32c(-32).and().set(pairs);
  emitFor(f, i, () => f.i32c(0), pairs, 32, () => {
    // Both exps first, then both stores: the two chains are interleaved by the engine's scheduler.
    one4(0, lanes[0]);
    one4(16, lanes[1]);
    f.get(y).get(i).add().get(lanes[0].e).v128Store();
    f.get(y).get(i).add().get(lanes[1].e).v128Store(16);
  });
  emitFor(f, i, () => f.get(pairs), nb, 16, () => {
    one4(0, lanes[0]);
    f.get(y).get(i).add().get(lanes[0].e).v128Store();
  });
  return f;
}

/** softmax(x, y, rows, cols): y = exp(x - max) / sum(exp(x - max)) per row of cols (exactly 0 where x - max < -87.3). */
export function softmaxFunc(): Func {
  const f = new Func([i32, i32, i32, i32]);
  const [x, y, rows, cols] = [0, 1, 2, 3];
  const row = f.local(i32), j = f.local(i32), vb = f.local(i32), tb = f.local(i32), px = f.local(i32), py = f.local(i32);
  const mv = f.local(v128), sv = f.local(v128), e = f.local(v128), t = f.local(v128), xv = f.local(v128), x0 = f.local(v128), m = f.local(f32), sum = f.local(f32);
  const k = expConstants(f);
  f.get(cols).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(cols).i32c(2).shl().set(tb);
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(x).get(row).get(tb).mul().add().set(px);
    f.get(y).get(row).get(tb).mul().add().set(py);
    f.f32x4Const(-Infinity).set(mv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => f.get(mv).get(px).get(j).add().v128Load().f32x4Pmax().set(mv));
    f.get(mv).f32x4ExtractLane(0).get(mv).f32x4ExtractLane(1).f32Max().get(mv).f32x4ExtractLane(2).f32Max().get(mv).f32x4ExtractLane(3).f32Max().set(m);
    emitFor(f, j, () => f.get(vb), tb, 4, () => f.get(m).get(px).get(j).add().f32Load().f32Max().set(m));
    // exp(x - max) into y, summed
    f.v128Zero().set(sv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(px).get(j).add().v128Load().get(m).f32x4Splat().f32x4Sub().tee(x0).set(xv);
      emitExp(f, xv, e, t, k);
      emitZeroBelow(f, x0, e, k);
      f.get(py).get(j).add().get(e).v128Store();
      f.get(sv).get(e).f32x4Add().set(sv);
    });
    f.get(sv).f32x4ExtractLane(0).get(sv).f32x4ExtractLane(1).f32Add().get(sv).f32x4ExtractLane(2).f32Add().get(sv).f32x4ExtractLane(3).f32Add().set(sum);
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(px).get(j).add().f32Load().get(m).f32Sub().f32x4Splat().tee(x0).set(xv);
      emitExp(f, xv, e, t, k);
      emitZeroBelow(f, x0, e, k);
      f.get(py).get(j).add().get(e).f32x4ExtractLane(0).f32Store();
      f.get(sum).get(e).f32x4ExtractLane(0).f32Add().set(sum);
    });
    // y /= sum
    f.get(sum).f32x4Splat().set(sv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => f.get(py).get(j).add().get(py).get(j).add().v128Load().get(sv).f32x4Div().v128Store());
    emitFor(f, j, () => f.get(vb), tb, 4, () => f.get(py).get(j).add().get(py).get(j).add().f32Load().get(sum).f32Div().f32Store());
  });
  return f;
}

/** rowSum(x, y, rows, cols): y[r] = x[r, 0] + x[r, 1] + ... in float32, left to right. */
export function rowSumFunc(): Func {
  const f = new Func([i32, i32, i32, i32]);
  const [x, y, rows, cols] = [0, 1, 2, 3];
  const row = f.local(i32), j = f.local(i32), tb = f.local(i32), px = f.local(i32), s = f.local(f32);
  f.get(cols).i32c(2).shl().set(tb);
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(x).get(row).get(tb).mul().add().set(px);
    f.f32Const0().set(s);
    emitFor(f, j, () => f.i32c(0), tb, 4, () => f.get(s).get(px).get(j).add().f32Load().f32Add().set(s));
    f.get(y).get(row).i32c(2).shl().add().get(s).f32Store();
  });
  return f;
}

/** One operand of a broadcast binary operation laid out as rows x cols (strides in elements). */
export interface BinaryOperand {
  /** Elements from one row to the next (0: every row reads the same). */
  rowStride: number;
  /** 1: along the row; 0: one value for the whole row. */
  colStride: 0 | 1;
}

export interface BinaryPlan {
  rows: number;
  cols: number;
  a: BinaryOperand;
  b: BinaryOperand;
}

/**
 * How a broadcast of shapes a and b to out reads as rows x cols with each
 * operand whole, repeated for every row, one value per row, or one value: the
 * split into leading (rows) and trailing (cols) axes with the longest rows, or
 * null when there is none (the stock kernel takes those).
 */
export function binaryPlan(aShape: number[], bShape: number[], outShape: number[]): BinaryPlan | null {
  const r = outShape.length;
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const count = (from: number, to: number) => outShape.slice(from, to).reduce((p, q) => p * q, 1);
  const every = (from: number, to: number, test: (d: number) => boolean) => {
    for (let d = from; d < to; d++) if (!test(d)) return false;
    return true;
  };
  const shapes = [pad(aShape), pad(bShape)];
  for (let p = 0; p <= r; p++) {
    const rows = count(0, p);
    const cols = count(p, r);
    const operands: BinaryOperand[] = [];
    for (const s of shapes) {
      const innerWhole = every(p, r, (d) => s[d] === outShape[d]);
      const outerWhole = every(0, p, (d) => s[d] === outShape[d]);
      const outerOne = every(0, p, (d) => s[d] === 1);
      if (!(innerWhole || every(p, r, (d) => s[d] === 1)) || !(outerWhole || outerOne)) break;
      const colStride = innerWhole ? 1 : 0;
      operands.push({ colStride, rowStride: outerOne ? 0 : colStride ? cols : 1 });
    }
    // (Both one value per row would mean rows of one element, which are whole.)
    if (operands.length === 2) return { rows, cols, a: operands[0], b: operands[1] };
  }
  return null;
}
