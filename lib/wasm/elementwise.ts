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
// use the exp scheme of XNNPACK's (emitExpP5, no fused multiply-add) but their own
// order of operations and sums, so they differ from tfjs's in the last bits
// (test/unit/threads.test.ts bounds it); on one thread they are as fast as tfjs's.
// Every element is computed the same way whichever chunk holds it, so every
// result is the same at any thread count.
import { f32, Func, i32, v128 } from "./asm.js";
import { emitFor, type ExpConstants } from "./fused.js";

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
 * Below about -87.3 exp is 0 or subnormal (and emitExpP5's 2^n is garbage), and a
 * masked attention score (-1e9) must give a probability of exactly 0. This leaves
 * the v128 in `out` zero in the lanes where the v128 in `x0` (the input before any
 * clamp) is under `cutoff` (a NaN stays NaN).
 */
function emitZeroBelow(f: Func, x0: number, out: number, k: ExpConstants, cutoff = -87.3): void {
  f.get(out).get(x0).get(k.get(cutoff)!).f32x4Lt().v128AndNot().set(out);
}

/**
 * exp of the v128 in local x, left in local out (clobbers x and t), for inputs at
 * most 0 whose lanes under -87.34 the caller zeroes (emitZeroBelow): the "rr2-p5"
 * scheme of XNNPACK's softmax (tfjs's stock kernel), cheaper than emitExp's
 * Cephes polynomial by a third. n = round(x log2 e) comes from adding a magic
 * number that also carries the exponent bias, so its bits shifted left by 23 are
 * 2^n; r = x - n ln 2 in two parts; exp(x) = 2^n (1 + r p(r)) with p of degree 4
 * (constants: XNNPACK's f32 rr2-p5 kernels). Relative error about 1e-7, no
 * fused multiply-add, so the same bits on every machine and at every thread count.
 */
function emitExpP5(f: Func, x: number, out: number, t: number, k: ExpConstants): void {
  const c = (v: number) => f.get(k.get(v)!);
  f.get(x);
  c(P5.log2e).f32x4Mul();
  c(P5.magic).f32x4Add().tee(t); // magic + n, exactly
  f.i32c(23).i32x4Shl().set(out); // 2^n
  f.get(t);
  c(P5.magic).f32x4Sub().set(t); // n as a float
  // r = x - n ln2_hi - n ln2_lo
  f.get(t);
  c(P5.minusLn2Hi).f32x4Mul().get(x).f32x4Add().set(x);
  f.get(t);
  c(P5.minusLn2Lo).f32x4Mul().get(x).f32x4Add().set(x);
  // p = ((c5 r + c4) r + c3) r + c2) r + c1
  c(P5.c[4]).get(x).f32x4Mul();
  for (const v of [P5.c[3], P5.c[2], P5.c[1], P5.c[0]]) {
    c(v).f32x4Add().get(x).f32x4Mul();
  }
  // (the loop leaves p r on the stack) out = (r 2^n) p + 2^n, written as (p r) 2^n + 2^n
  f.get(out).f32x4Mul().get(out).f32x4Add().set(out);
}

const P5 = {
  log2e: 1.442695,
  magic: 12583039, // 1.5 * 2^23 + 127
  minusLn2Hi: -0.69314575,
  minusLn2Lo: -1.4286068e-06,
  c: [0.9999997, 0.4999915, 0.16667652, 0.041897822, 0.008289291],
  cutoff: -87.33654 // below this exp(x) is not a normal float
};

/** emitExpP5's constants (and the cutoff) in v128 locals, set once at a function's start. */
function expP5Constants(f: Func, extra: number[] = []): ExpConstants {
  const k: ExpConstants = new Map();
  for (const v of [P5.log2e, P5.magic, P5.minusLn2Hi, P5.minusLn2Lo, ...P5.c, P5.cutoff, ...extra]) {
    if (k.has(v)) continue;
    const l = f.local(v128);
    f.f32x4Const(v).set(l);
    k.set(v, l);
  }
  return k;
}

/** sigmoid(x, y, n): y = 1 / (1 + exp(-x)), n a multiple of 4 (0 where x < -87.3, as exp(-x) overflows there). */
export function sigmoidFunc(): Func {
  const f = new Func([i32, i32, i32]);
  const [x, y, n] = [0, 1, 2];
  const i = f.local(i32), nb = f.local(i32), pairs = f.local(i32);
  // Two independent streams of vectors per iteration, so the exp's long chain of dependent operations overlaps.
  const lanes = [0, 1].map(() => ({ xv: f.local(v128), x0: f.local(v128), e: f.local(v128), t: f.local(v128) }));
  const k = expP5Constants(f, [1, 88.3, -87.3]);
  const one = k.get(1)!;
  const one4 = (at: number, { xv, x0, e, t }: (typeof lanes)[number]) => {
    f.get(x).get(i).add().v128Load(at).tee(x0);
    // -x clamped to [cutoff, 88.3]: 2^n stays a normal float (n in [-126, 127]).
    f.v128Zero().get(x0).f32x4Sub().get(k.get(88.3)!).f32x4Pmin().get(k.get(P5.cutoff)!).f32x4Pmax().set(xv);
    emitExpP5(f, xv, e, t, k);
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

/**
 * softmax(x, y, rows, cols): y = exp(x - max) * (1 / sum(exp(x - max))) per row of
 * cols (exactly 0 where x - max < -87.3). As XNNPACK's (tfjs's stock kernel), it
 * multiplies by the sum's reciprocal rather than dividing each element (a vector
 * division costs as much as a dozen multiplies), and it runs two vectors of
 * exponentials per iteration so their long chains overlap; the sum still adds the
 * vectors in order, and every row is computed alone, so the bits do not depend on
 * the thread count. x - max is at most 0 and lanes under the cutoff are zeroed, so
 * the exp needs no clamp.
 *
 * masked: attention's scale, mask and softmax in one pass over the scores:
 * softmax(x * scale + mask[t]) with params (x, y, rows, cols, mask, t0, T, scale),
 * where row i of the chunk adds mask row t = (t0 + i) mod T (mask is [T, cols]).
 * x * scale + mask is rounded as the two tfjs ops round it, so the probabilities
 * are the same bits as Multiply, Add and this Softmax one after the other.
 */
export function softmaxFunc(masked = false): Func {
  const f = masked ? new Func([i32, i32, i32, i32, i32, i32, i32, f32]) : new Func([i32, i32, i32, i32]);
  const [x, y, rows, cols, mask, t0, T, scale] = [0, 1, 2, 3, 4, 5, 6, 7];
  const row = f.local(i32), j = f.local(i32), vb = f.local(i32), pb = f.local(i32), tb = f.local(i32), px = f.local(i32), py = f.local(i32);
  const t = f.local(i32), pm = f.local(i32), sc = f.local(v128), z = f.local(v128);
  const mv = f.local(v128), mv2 = f.local(v128), sv = f.local(v128), ms = f.local(v128), m = f.local(f32), sum = f.local(f32);
  const lanes = [0, 1].map(() => ({ xv: f.local(v128), x0: f.local(v128), e: f.local(v128), t: f.local(v128) }));
  const k = expP5Constants(f);
  const exp4 = (at: number, { xv, x0, e, t }: (typeof lanes)[number]) => {
    f.get(px).get(j).add().v128Load(at).get(ms).f32x4Sub().tee(x0).set(xv);
    emitExpP5(f, xv, e, t, k);
    emitZeroBelow(f, x0, e, k, P5.cutoff);
    f.get(py).get(j).add().get(e).v128Store(at);
  };
  f.get(cols).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(cols).i32c(-8).and().i32c(2).shl().set(pb);
  f.get(cols).i32c(2).shl().set(tb);
  if (masked) {
    f.get(t0).set(t);
    f.get(scale).f32x4Splat().set(sc);
  }
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(x).get(row).get(tb).mul().add().set(px);
    f.get(y).get(row).get(tb).mul().add().set(py);
    f.f32x4Const(-Infinity).tee(mv).set(mv2);
    if (masked) {
      // z = x * scale + mask[t] into y, and its max; the next passes read z from y.
      f.get(mask).get(t).get(tb).mul().add().set(pm);
      emitFor(f, j, () => f.i32c(0), vb, 16, () => {
        f.get(py).get(j).add();
        f.get(px).get(j).add().v128Load().get(sc).f32x4Mul().get(pm).get(j).add().v128Load().f32x4Add().tee(z);
        f.v128Store();
        f.get(mv).get(z).f32x4Pmax().set(mv);
      });
      f.get(mv).f32x4ExtractLane(0).get(mv).f32x4ExtractLane(1).f32Max().get(mv).f32x4ExtractLane(2).f32Max().get(mv).f32x4ExtractLane(3).f32Max().set(m);
      emitFor(f, j, () => f.get(vb), tb, 4, () => {
        f.get(py).get(j).add();
        f.get(px).get(j).add().f32Load().get(scale).f32Mul().get(pm).get(j).add().f32Load().f32Add();
        f.f32Store();
        f.get(m).get(py).get(j).add().f32Load().f32Max().set(m);
      });
      f.get(py).set(px);
      // t = (t + 1) mod T
      f.addTo(t, 1);
      f.get(t).get(T).eq().if_().i32c(0).set(t).end();
    } else {
      // The row's max (exact in any order): two accumulators over pairs of vectors.
      emitFor(f, j, () => f.i32c(0), pb, 32, () => {
        f.get(mv).get(px).get(j).add().v128Load().f32x4Pmax().set(mv);
        f.get(mv2).get(px).get(j).add().v128Load(16).f32x4Pmax().set(mv2);
      });
      emitFor(f, j, () => f.get(pb), vb, 16, () => f.get(mv).get(px).get(j).add().v128Load().f32x4Pmax().set(mv));
      f.get(mv).get(mv2).f32x4Pmax().set(mv);
      f.get(mv).f32x4ExtractLane(0).get(mv).f32x4ExtractLane(1).f32Max().get(mv).f32x4ExtractLane(2).f32Max().get(mv).f32x4ExtractLane(3).f32Max().set(m);
      emitFor(f, j, () => f.get(vb), tb, 4, () => f.get(m).get(px).get(j).add().f32Load().f32Max().set(m));
    }
    f.get(m).f32x4Splat().set(ms);
    // exp(x - max) into y, two vectors at a time, summed vector by vector in order.
    f.v128Zero().set(sv);
    emitFor(f, j, () => f.i32c(0), pb, 32, () => {
      exp4(0, lanes[0]);
      exp4(16, lanes[1]);
      f.get(sv).get(lanes[0].e).f32x4Add().get(lanes[1].e).f32x4Add().set(sv);
    });
    emitFor(f, j, () => f.get(pb), vb, 16, () => {
      exp4(0, lanes[0]);
      f.get(sv).get(lanes[0].e).f32x4Add().set(sv);
    });
    f.get(sv).f32x4ExtractLane(0).get(sv).f32x4ExtractLane(1).f32Add().get(sv).f32x4ExtractLane(2).f32Add().get(sv).f32x4ExtractLane(3).f32Add().set(sum);
    const { xv, x0, e, t: tt } = lanes[0];
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(px).get(j).add().f32Load().get(m).f32Sub().f32x4Splat().tee(x0).set(xv);
      emitExpP5(f, xv, e, tt, k);
      emitZeroBelow(f, x0, e, k, P5.cutoff);
      f.get(py).get(j).add().get(e).f32x4ExtractLane(0).f32Store();
      f.get(sum).get(e).f32x4ExtractLane(0).f32Add().set(sum);
    });
    // y *= 1 / sum
    f.f32Const(1).get(sum).f32Div().tee(sum).f32x4Splat().set(sv);
    emitFor(f, j, () => f.i32c(0), pb, 32, () => {
      f.get(py).get(j).add().set(px);
      f.get(px).get(px).v128Load().get(sv).f32x4Mul().v128Store();
      f.get(px).get(px).v128Load(16).get(sv).f32x4Mul().v128Store(16);
    });
    emitFor(f, j, () => f.get(pb), vb, 16, () => f.get(py).get(j).add().get(py).get(j).add().v128Load().get(sv).f32x4Mul().v128Store());
    emitFor(f, j, () => f.get(vb), tb, 4, () => f.get(py).get(j).add().get(py).get(j).add().f32Load().get(sum).f32Mul().f32Store());
  });
  return f;
}

/**
 * attnSoftmaxGrad(y, dy, dx, rows, cols, scale): the gradient of softmaxFunc(true)
 * with respect to its scores x: per row, s = sum(dy * y) (four lanes, then the
 * tail in order) and dx = (dy * y - s * y) * scale, as tfjs's Softmax gradient
 * and the scale's Multiply round it, in one pass instead of five kernels.
 */
export function attnSoftmaxGradFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, f32]);
  const [y, dy, dx, rows, cols, scale] = [0, 1, 2, 3, 4, 5];
  const row = f.local(i32), j = f.local(i32), vb = f.local(i32), tb = f.local(i32), off = f.local(i32);
  const sv = f.local(v128), s4 = f.local(v128), sc = f.local(v128), yv = f.local(v128), s = f.local(f32), ys = f.local(f32);
  f.get(cols).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(cols).i32c(2).shl().set(tb);
  f.get(scale).f32x4Splat().set(sc);
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(row).get(tb).mul().set(off);
    f.v128Zero().set(sv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(sv).get(dy).get(off).add().get(j).add().v128Load().get(y).get(off).add().get(j).add().v128Load().f32x4Mul().f32x4Add().set(sv);
    });
    f.get(sv).f32x4ExtractLane(0).get(sv).f32x4ExtractLane(1).f32Add().get(sv).f32x4ExtractLane(2).f32Add().get(sv).f32x4ExtractLane(3).f32Add().set(s);
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(s).get(dy).get(off).add().get(j).add().f32Load().get(y).get(off).add().get(j).add().f32Load().f32Mul().f32Add().set(s);
    });
    f.get(s).f32x4Splat().set(s4);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(dx).get(off).add().get(j).add();
      f.get(y).get(off).add().get(j).add().v128Load().set(yv);
      f.get(dy).get(off).add().get(j).add().v128Load().get(yv).f32x4Mul().get(s4).get(yv).f32x4Mul().f32x4Sub().get(sc).f32x4Mul();
      f.v128Store();
    });
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(dx).get(off).add().get(j).add();
      f.get(y).get(off).add().get(j).add().f32Load().set(ys);
      f.get(dy).get(off).add().get(j).add().f32Load().get(ys).f32Mul().get(s).get(ys).f32Mul().f32Sub().get(scale).f32Mul();
      f.f32Store();
    });
  });
  return f;
}

/**
 * rotary(x, c, s, y, rows, half, t0, T, back, ld): rotary position embedding of rows
 * of 2 * half (one head vector each) whose row i is at position t = (t0 + i) mod T,
 * with tables c, s of T rows of ld >= half elements (the first half of each row
 * used: [T, half], or doubled to [T, 2 half]); half a multiple of 4. Forward (back 0):
 *   y[j] = x[j] c[j] - x[j + half] s[j],  y[j + half] = x[j + half] c[j] + x[j] s[j];
 * backward (back 1, x holding dy) the transpose, the same with s negated. These
 * round as x * cos + rotateHalf(x) * sin does through tfjs ops (the rotation is a
 * signed permutation, exact), in one pass instead of a product and three kernels.
 */
export function rotaryFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32, i32, i32]);
  const [x, c, s, y, rows, half, t0, T, back, ld] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const row = f.local(i32), j = f.local(i32), hb = f.local(i32), lb = f.local(i32), t = f.local(i32), px = f.local(i32), py = f.local(i32), pc = f.local(i32), ps = f.local(i32);
  const lo = f.local(v128), hi = f.local(v128), cv = f.local(v128), svv = f.local(v128);
  f.get(half).i32c(2).shl().set(hb);
  f.get(ld).i32c(2).shl().set(lb);
  f.get(t0).set(t);
  const body = (backward: boolean) => {
    emitFor(f, j, () => f.i32c(0), hb, 16, () => {
      f.get(px).get(j).add().v128Load().set(lo);
      f.get(px).get(hb).add().get(j).add().v128Load().set(hi);
      f.get(pc).get(j).add().v128Load().set(cv);
      f.get(ps).get(j).add().v128Load().set(svv);
      f.get(py).get(j).add();
      f.get(lo).get(cv).f32x4Mul().get(hi).get(svv).f32x4Mul();
      if (backward) f.f32x4Add();
      else f.f32x4Sub();
      f.v128Store();
      f.get(py).get(hb).add().get(j).add();
      f.get(hi).get(cv).f32x4Mul().get(lo).get(svv).f32x4Mul();
      if (backward) f.f32x4Sub();
      else f.f32x4Add();
      f.v128Store();
    });
  };
  emitFor(f, row, () => f.i32c(0), rows, 1, () => {
    f.get(x).get(row).get(hb).mul().i32c(1).shl().add().set(px);
    f.get(y).get(row).get(hb).mul().i32c(1).shl().add().set(py);
    f.get(c).get(t).get(lb).mul().add().set(pc);
    f.get(s).get(t).get(lb).mul().add().set(ps);
    f.get(back).if_();
    body(true);
    f.else_();
    body(false);
    f.end();
    f.addTo(t, 1);
    f.get(t).get(T).eq().if_().i32c(0).set(t).end();
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

/**
 * sumSquares(x, n) -> f32: x[0]^2 + ... + x[n-1]^2 in float32, in a fixed order (two
 * vector accumulators over pairs of vectors, their lanes, then the tail), on the
 * calling thread: the squared norm of one gradient, in one pass.
 */
export function sumSquaresFunc(): Func {
  const f = new Func([i32, i32], [f32]);
  const [x, n] = [0, 1];
  const i = f.local(i32), vb = f.local(i32), pb = f.local(i32), nb = f.local(i32), a = f.local(v128), b = f.local(v128), v = f.local(v128), s = f.local(f32), e = f.local(f32);
  f.get(n).i32c(2).shl().set(nb);
  f.get(n).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(n).i32c(-8).and().i32c(2).shl().set(pb);
  f.v128Zero().tee(a).set(b);
  emitFor(f, i, () => f.i32c(0), pb, 32, () => {
    f.get(x).get(i).add().v128Load().tee(v).get(v).f32x4Mul().get(a).f32x4Add().set(a);
    f.get(x).get(i).add().v128Load(16).tee(v).get(v).f32x4Mul().get(b).f32x4Add().set(b);
  });
  emitFor(f, i, () => f.get(pb), vb, 16, () => f.get(x).get(i).add().v128Load().tee(v).get(v).f32x4Mul().get(a).f32x4Add().set(a));
  f.get(a).get(b).f32x4Add().set(a);
  f.get(a).f32x4ExtractLane(0).get(a).f32x4ExtractLane(1).f32Add().get(a).f32x4ExtractLane(2).f32Add().get(a).f32x4ExtractLane(3).f32Add().set(s);
  emitFor(f, i, () => f.get(vb), nb, 4, () => f.get(s).get(x).get(i).add().f32Load().tee(e).get(e).f32Mul().f32Add().set(s));
  f.get(s);
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
