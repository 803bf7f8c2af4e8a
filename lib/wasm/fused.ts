// Fused layer kernels in WebAssembly SIMD, generated with lib/wasm/asm.ts and
// linked into lib/wasm/simd.ts's module: RMSNorm and its gradient, the gradient
// of SwiGLU's silu(gate) * up, and the two passes of the cross-entropy
// (row max and sum of exponentials; the gradient of the targets' log-probability).
// Each replaces 6 to 12 tfjs kernels, each a pass over the activations, with one
// or two passes. Lengths along the vectorised axis must be multiples of 4 except
// in the cross-entropy, whose rows (258 logits) end in a scalar tail.
import { f32, Func, i32, v128 } from "./asm.js";

/**
 * exp of the v128 in local x, left in local out (clobbers x and t), float32:
 * Cephes' expf (range reduction by ln 2 in two parts, a degree-6 polynomial,
 * the power of two built in the exponent bits); relative error about 1e-7.
 * Inputs are clamped to [-87.3, 88.3], where the result stays finite and normal.
 * n = round(x / ln 2) comes from adding 1.5 * 2^23: the sum's low mantissa bits
 * are then n itself, so 2^n is (bits - bits(1.5 * 2^23) + 127) << 23, with no
 * float-to-int conversion (which V8 emits as a long sequence on x86).
 */
export function emitExp(f: Func, x: number, out: number, t: number, k?: ExpConstants): void {
  // A constant from its hoisted local (see expConstants), or made in place.
  const c = (v: number) => (k ? f.get(k.get(v)!) : f.f32x4Const(v));
  f.get(x);
  // pmin / pmax: the same values as min / max here (a NaN stays NaN), in one instruction each on x86.
  c(88.3).f32x4Pmin();
  c(-87.3).f32x4Pmax().set(x);
  f.get(x);
  c(Math.LOG2E).f32x4Mul();
  c(EXP_MAGIC).f32x4Add().set(t); // MAGIC + n, exactly
  f.get(t);
  c(EXP_MAGIC).f32x4Sub().set(out); // n as a float
  // r = x - n * 0.693359375 - n * -2.12194440e-4
  f.get(x).get(out);
  c(0.693359375).f32x4Mul().f32x4Sub().get(out);
  c(-2.12194440e-4).f32x4Mul().f32x4Sub().set(x);
  c(EXP_POLY[0]);
  for (const v of EXP_POLY.slice(1)) {
    f.get(x).f32x4Mul();
    c(v).f32x4Add();
  }
  // p * r^2 + r + 1
  f.get(x).f32x4Mul().get(x).f32x4Mul().get(x).f32x4Add();
  c(1).f32x4Add();
  // * 2^n
  f.get(t);
  if (k) f.get(k.get(EXP_BIAS)!);
  else f.i32c(EXP_BIAS).i32x4Splat();
  f.i32x4Add().i32c(23).i32x4Shl();
  f.f32x4Mul().set(out);
}

const EXP_MAGIC = 12582912; // 1.5 * 2^23
const EXP_BIAS = 127 - 0x4b400000; // 127 - bits(1.5 * 2^23), an i32 in every lane
const EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** emitExp's constants held in v128 locals (value -> local), made once at a function's start rather than in every loop. */
export type ExpConstants = Map<number, number>;

/**
 * Locals holding emitExp's constants, set where this is emitted (before the
 * loops): the same operations on the same values, so the same bits, without
 * materialising a dozen 128-bit constants per vector of exponentials.
 */
export function expConstants(f: Func): ExpConstants {
  const k: ExpConstants = new Map();
  for (const v of [88.3, -87.3, Math.LOG2E, EXP_MAGIC, 0.693359375, -2.12194440e-4, ...EXP_POLY, 1]) {
    if (k.has(v)) continue;
    const l = f.local(v128);
    f.f32x4Const(v).set(l);
    k.set(v, l);
  }
  const bias = f.local(v128);
  f.i32c(EXP_BIAS).i32x4Splat().set(bias);
  k.set(EXP_BIAS, bias);
  return k;
}

/** Sum of the four lanes of the v128 in local v, left on the stack as an f32. */
function emitLaneSum(f: Func, v: number): void {
  f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add().get(v).f32x4ExtractLane(2).f32Add().get(v).f32x4ExtractLane(3).f32Add();
}

/** for (i = from; i < end; i += step) body() (elementwise.ts uses it too) */
export function emitFor(f: Func, i: number, from: () => void, end: number, step: number, body: () => void): void {
  from();
  f.set(i);
  f.block().loop();
  f.get(i).get(end).geS().brIf(1);
  body();
  f.addTo(i, step).br(0);
  f.end().end();
}

/** rmsNorm(x, w, y, r, n, c, eps): y = x * r * w per row of c, r = 1 / sqrt(mean(x^2) + eps). */
export function rmsNormFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, f32]);
  const [x, w, y, r, n, c, eps] = [0, 1, 2, 3, 4, 5, 6];
  const row = f.local(i32), j = f.local(i32), xr = f.local(i32), yr = f.local(i32), cb = f.local(i32);
  const acc = f.local(v128), v = f.local(v128), rv = f.local(v128), rr = f.local(f32);
  f.get(c).i32c(2).shl().set(cb);
  emitFor(f, row, () => f.i32c(0), n, 1, () => {
    f.get(x).get(row).get(cb).mul().add().set(xr);
    f.get(y).get(row).get(cb).mul().add().set(yr);
    f.v128Zero().set(acc);
    emitFor(f, j, () => f.i32c(0), cb, 16, () => {
      f.get(xr).get(j).add().v128Load().tee(v).get(v).f32x4Mul().get(acc).f32x4Add().set(acc);
    });
    f.f32Const(1);
    emitLaneSum(f, acc);
    f.get(c).f32FromI32().f32Div().get(eps).f32Add().f32Sqrt().f32Div().set(rr);
    f.get(r).get(row).i32c(2).shl().add().get(rr).f32Store();
    f.get(rr).f32x4Splat().set(rv);
    emitFor(f, j, () => f.i32c(0), cb, 16, () => {
      f.get(yr).get(j).add();
      f.get(xr).get(j).add().v128Load().get(rv).f32x4Mul().get(w).get(j).add().v128Load().f32x4Mul();
      f.v128Store();
    });
  });
  return f;
}

/**
 * rmsNormGrad(x, w, r, dy, dx, dw, n, c): with g = dy * w,
 * dx = r g - x r^3 sum(g x) / c per row, and dw = sum over rows of dy x r.
 */
export function rmsNormGradFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32, i32]);
  const [x, w, r, dy, dx, dw, n, c] = [0, 1, 2, 3, 4, 5, 6, 7];
  const row = f.local(i32), j = f.local(i32), off = f.local(i32), cb = f.local(i32);
  const acc = f.local(v128), d = f.local(v128), xv = f.local(v128), rv = f.local(v128), kv = f.local(v128), rr = f.local(f32);
  f.get(c).i32c(2).shl().set(cb);
  emitFor(f, j, () => f.i32c(0), cb, 16, () => f.get(dw).get(j).add().v128Zero().v128Store());
  emitFor(f, row, () => f.i32c(0), n, 1, () => {
    f.get(r).get(row).i32c(2).shl().add().f32Load().tee(rr).f32x4Splat().set(rv);
    f.v128Zero().set(acc);
    emitFor(f, j, () => f.i32c(0), cb, 16, () => {
      f.get(row).get(cb).mul().get(j).add().set(off);
      f.get(dy).get(off).add().v128Load().set(d);
      f.get(x).get(off).add().v128Load().set(xv);
      f.get(d).get(xv).f32x4Mul().get(w).get(j).add().v128Load().f32x4Mul().get(acc).f32x4Add().set(acc);
      f.get(dw).get(j).add();
      f.get(dw).get(j).add().v128Load().get(d).get(xv).f32x4Mul().get(rv).f32x4Mul().f32x4Add();
      f.v128Store();
    });
    // k = r^3 * dot / c
    f.get(rr).get(rr).f32Mul().get(rr).f32Mul();
    emitLaneSum(f, acc);
    f.f32Mul().get(c).f32FromI32().f32Div().f32x4Splat().set(kv);
    emitFor(f, j, () => f.i32c(0), cb, 16, () => {
      f.get(row).get(cb).mul().get(j).add().set(off);
      f.get(dx).get(off).add();
      f.get(dy).get(off).add().v128Load().get(w).get(j).add().v128Load().f32x4Mul().get(rv).f32x4Mul();
      f.get(x).get(off).add().v128Load().get(kv).f32x4Mul().f32x4Sub();
      f.v128Store();
    });
  });
  return f;
}

/**
 * siluMulGrad(g, u, s, dy, dg, du, n) for h = g s u with s = sigmoid(g) (saved
 * from the forward pass, where tfjs's own vectorised Sigmoid makes it):
 * du = dy g s; dg = dy u (s + g s (1 - s)). n a multiple of 4.
 */
export function siluMulGradFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32, i32]);
  const [g, u, sg, dy, dg, du, n] = [0, 1, 2, 3, 4, 5, 6];
  const i = f.local(i32), nb = f.local(i32);
  const s = f.local(v128), silu = f.local(v128), d = f.local(v128);
  f.get(n).i32c(2).shl().set(nb);
  emitFor(f, i, () => f.i32c(0), nb, 16, () => {
    f.get(sg).get(i).add().v128Load().set(s);
    f.get(g).get(i).add().v128Load().get(s).f32x4Mul().set(silu);
    f.get(dy).get(i).add().v128Load().set(d);
    f.get(du).get(i).add().get(d).get(silu).f32x4Mul().v128Store();
    f.get(dg).get(i).add();
    f.get(d).get(u).get(i).add().v128Load().f32x4Mul();
    f.get(s).get(silu).f32x4Const(1).get(s).f32x4Sub().f32x4Mul().f32x4Add();
    f.f32x4Mul().v128Store();
  });
  return f;
}

/**
 * softmaxStats(x, n, v, maxOut, sumOut): per row of v logits, the max and the sum
 * of exp(x - max). (The log, one per row, is taken in JavaScript.)
 */
export function softmaxStatsFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32]);
  const [x, n, v, maxOut, sumOut] = [0, 1, 2, 3, 4];
  const row = f.local(i32), j = f.local(i32), vb = f.local(i32), tb = f.local(i32), base = f.local(i32);
  const mv = f.local(v128), sv = f.local(v128), e = f.local(v128), t = f.local(v128), xv = f.local(v128), m = f.local(f32), sum = f.local(f32);
  const k = expConstants(f);
  f.get(v).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(v).i32c(2).shl().set(tb);
  emitFor(f, row, () => f.i32c(0), n, 1, () => {
    f.get(x).get(row).get(tb).mul().add().set(base);
    // max
    f.f32x4Const(-Infinity).set(mv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => f.get(base).get(j).add().v128Load().get(mv).f32x4Max().set(mv));
    f.get(mv).f32x4ExtractLane(0).get(mv).f32x4ExtractLane(1).f32Max().get(mv).f32x4ExtractLane(2).f32Max().get(mv).f32x4ExtractLane(3).f32Max().set(m);
    emitFor(f, j, () => f.get(vb), tb, 4, () => f.get(m).get(base).get(j).add().f32Load().f32Max().set(m));
    // sum of exp(x - max)
    f.v128Zero().set(sv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(base).get(j).add().v128Load().get(m).f32x4Splat().f32x4Sub().set(xv);
      emitExp(f, xv, e, t, k);
      f.get(sv).get(e).f32x4Add().set(sv);
    });
    emitLaneSum(f, sv);
    f.set(sum);
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(base).get(j).add().f32Load().get(m).f32Sub().f32x4Splat().set(xv);
      emitExp(f, xv, e, t, k);
      f.get(sum).get(e).f32x4ExtractLane(0).f32Add().set(sum);
    });
    f.get(maxOut).get(row).i32c(2).shl().add().get(m).f32Store();
    f.get(sumOut).get(row).i32c(2).shl().add().get(sum).f32Store();
  });
  return f;
}

/** expGrad(x, lse, dy, g, n, v): g = -dy exp(x - lse) per row (the target's +dy is added in JavaScript). */
export function expGradFunc(): Func {
  const f = new Func([i32, i32, i32, i32, i32, i32]);
  const [x, lse, dy, g, n, v] = [0, 1, 2, 3, 4, 5];
  const row = f.local(i32), j = f.local(i32), vb = f.local(i32), tb = f.local(i32), base = f.local(i32), gbase = f.local(i32);
  const lv = f.local(v128), dv = f.local(v128), e = f.local(v128), t = f.local(v128), xv = f.local(v128);
  const k = expConstants(f);
  f.get(v).i32c(-4).and().i32c(2).shl().set(vb);
  f.get(v).i32c(2).shl().set(tb);
  emitFor(f, row, () => f.i32c(0), n, 1, () => {
    f.get(row).get(tb).mul().set(base);
    f.get(g).get(base).add().set(gbase);
    f.get(x).get(base).add().set(base);
    f.get(lse).get(row).i32c(2).shl().add().f32Load().f32x4Splat().set(lv);
    f.get(dy).get(row).i32c(2).shl().add().f32Load().f32x4Splat().f32x4Const(-1).f32x4Mul().set(dv);
    emitFor(f, j, () => f.i32c(0), vb, 16, () => {
      f.get(base).get(j).add().v128Load().get(lv).f32x4Sub().set(xv);
      emitExp(f, xv, e, t, k);
      f.get(gbase).get(j).add().get(e).get(dv).f32x4Mul().v128Store();
    });
    emitFor(f, j, () => f.get(vb), tb, 4, () => {
      f.get(base).get(j).add().f32Load().f32x4Splat().get(lv).f32x4Sub().set(xv);
      emitExp(f, xv, e, t, k);
      f.get(gbase).get(j).add().get(e).get(dv).f32x4Mul().f32x4ExtractLane(0).f32Store();
    });
  });
  return f;
}

