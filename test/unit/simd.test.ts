// lib/wasm/simd.ts's GEMM computes A B for any layout, on its own memory (no tfjs), against
// a float64 reference; and lib/wasm/asm.ts writes modules the engine accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import v8 from "node:v8";
import { createSimdKernels, relaxedSimdSupported, simdSupported, type SimdOptions } from "../../lib/wasm/simd.js";
import { Rng } from "../../lib/rng.js";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd"); // as lib/node/runtime.ts does

function harness(options: SimdOptions, shared = false) {
  const memory = shared ? new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true }) : new WebAssembly.Memory({ initial: 64 });
  let top = 1024;
  const alloc = (bytes: number) => {
    const p = top;
    top += Math.ceil(bytes / 16) * 16;
    const need = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536;
    if (need > 0) memory.grow(need);
    return p;
  };
  return { memory, alloc, k: createSimdKernels(memory, alloc, () => {}, options) };
}

const rng = new Rng(5);

interface Case { m: number; n: number; k: number; ta: boolean; tb: boolean; batchA?: number }

/** Multiply with the GEMM (operands laid out as the transposes say) and compare with float64 loops. */
function check(h: ReturnType<typeof harness>, { m, n, k, ta, tb }: Case) {
  const a = Float32Array.from({ length: m * k }, () => rng.normal());
  const b = Float32Array.from({ length: k * n }, () => rng.normal());
  const aPtr = h.alloc(a.length * 4 + 4), bPtr = h.alloc(b.length * 4 + 4), cPtr = h.alloc(m * n * 4 + 4);
  new Float32Array(h.memory.buffer, aPtr, a.length).set(a);
  new Float32Array(h.memory.buffer, bPtr, b.length).set(b);
  // A is stored [m, k] (or [k, m] when transposed), B [k, n] (or [n, k]).
  const [sAm, sAk] = ta ? [1, m] : [k, 1];
  const [sBk, sBn] = tb ? [1, k] : [n, 1];
  const guard = new Float32Array(h.memory.buffer, cPtr + m * n * 4, 1);
  guard[0] = 12345;
  new Float32Array(h.memory.buffer, cPtr, m * n).fill(NaN); // every output must be written
  h.k.gemm({ a: aPtr, b: bPtr, c: cPtr, m, n, k, sAm, sAk, sBk, sBn });
  const c = new Float32Array(h.memory.buffer, cPtr, m * n);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let want = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const term = a[i * sAm + p * sAk] * b[p * sBk + j * sBn];
        want += term;
        mag += Math.abs(term);
      }
      // The textbook bound for a float32 dot product of length k: k u sum|a b|, u = 2^-24.
      worst = Math.max(worst, Math.abs(c[i * n + j] - want) / (k * 2 ** -24 * mag + 1e-30));
    }
  }
  assert.equal(guard[0], 12345, `${m}x${k}x${n}: wrote past the end of C`);
  assert.ok(worst <= 1, `${m}x${k}x${n} ta=${ta} tb=${tb}: error ${worst} times the rounding bound`);
}

const shapes: Case[] = [];
for (const [m, n, k] of [[1, 1, 1], [3, 5, 2], [4, 8, 1], [9, 17, 13], [33, 20, 300], [128, 32, 128], [70, 130, 41]]) {
  for (const ta of [false, true]) for (const tb of [false, true]) shapes.push({ m, n, k, ta, tb });
}

test("wasm SIMD is available in this Node (the GEMM needs it)", () => {
  assert.ok(simdSupported());
});

for (const relaxed of [false, true]) {
  test(`the default 4x8 GEMM${relaxed ? " with relaxed-SIMD FMA" : ""} matches float64 loops for every layout and edge`, (t) => {
    if (relaxed && !relaxedSimdSupported()) return t.skip("no relaxed SIMD in this engine");
    const h = harness({ relaxed });
    for (const c of shapes) check(h, c);
  });
}

test("small blocks (kc 5, mc 6) exercise accumulation across k slices and several row blocks; odd tiles work", () => {
  for (const options of [{ kc: 5, mc: 6 }, { mr: 3, nr: 4, kc: 7, mc: 9 }, { mr: 1, nr: 12 }]) {
    const h = harness(options);
    for (const c of shapes) check(h, c);
  }
});

test("zero strides broadcast one value: a row of ones sums the columns", () => {
  const h = harness({});
  const rows = 300, cols = 19;
  const x = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const one = h.alloc(4), xPtr = h.alloc(x.length * 4), out = h.alloc(cols * 4);
  new Float32Array(h.memory.buffer, one, 1)[0] = 1;
  new Float32Array(h.memory.buffer, xPtr, x.length).set(x);
  h.k.gemm({ a: one, b: xPtr, c: out, m: 1, n: cols, k: rows, sAm: 0, sAk: 0, sBk: cols, sBn: 1 });
  const got = new Float32Array(h.memory.buffer, out, cols);
  for (let j = 0; j < cols; j++) {
    let want = 0;
    for (let i = 0; i < rows; i++) want += x[i * cols + j];
    assert.ok(Math.abs(got[j] - want) < 1e-4, `column ${j}: ${got[j]} vs ${want}`);
  }
});

test("k = 0 gives zeros; m = 0 or n = 0 writes nothing", () => {
  const h = harness({});
  const c = h.alloc(16 * 4);
  new Float32Array(h.memory.buffer, c, 16).fill(7);
  h.k.gemm({ a: 0, b: 0, c, m: 2, n: 3, k: 0, sAm: 0, sAk: 1, sBk: 3, sBn: 1 });
  assert.deepEqual(Array.from(new Float32Array(h.memory.buffer, c, 7)), [0, 0, 0, 0, 0, 0, 7]);
  h.k.gemm({ a: 0, b: 0, c, m: 0, n: 3, k: 4, sAm: 4, sAk: 1, sBk: 3, sBn: 1 });
  assert.equal(new Float32Array(h.memory.buffer, c + 24, 1)[0], 7);
});

test("it links against a shared memory (a threaded build's) and still multiplies right", () => {
  const h = harness({}, true);
  check(h, { m: 9, n: 17, k: 13, ta: false, tb: true });
});

test("copyRuns gathers strided rows: the [B, T, H, D] -> [B, H, T, D] head split", () => {
  const h = harness({});
  const [B, T, H, D] = [2, 3, 4, 5];
  const x = Float32Array.from({ length: B * T * H * D }, (_, i) => i);
  const src = h.alloc(x.length * 4), dst = h.alloc(x.length * 4);
  new Float32Array(h.memory.buffer, src, x.length).set(x);
  h.k.copyRuns(src, dst, [B, H, T], [T * H * D * 4, D * 4, H * D * 4], D * 4);
  const got = new Float32Array(h.memory.buffer, dst, x.length);
  for (let b = 0; b < B; b++) for (let hh = 0; hh < H; hh++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) {
    assert.equal(got[((b * H + hh) * T + t) * D + d], x[((b * T + t) * H + hh) * D + d]);
  }
});

test("adamW updates weights and moments as the formula says, the last n % 4 elements too", () => {
  const h = harness({});
  const n = 23;
  const arrays = [0, 1, 2, 3].map(() => Float32Array.from({ length: n }, () => rng.normal()));
  arrays[2] = arrays[2].map(Math.abs); // v >= 0
  const [w, m, v, g] = arrays.map((a) => {
    const p = h.alloc(n * 4);
    new Float32Array(h.memory.buffer, p, n).set(a);
    return p;
  });
  const [w2, m2, v2] = [0, 1, 2].map(() => h.alloc(n * 4));
  const hp = { scale: 0.7, beta1: 0.9, beta2: 0.95, bc1: 0.271, bc2: 0.142625, eps: 1e-8, lr: 3e-3, decay: 1 - 3e-4 };
  h.k.adamW({ w, m, v, g, w2, m2, v2, n, ...hp });
  const [W, M, V, G] = arrays;
  const [gotW, gotM, gotV] = [w2, m2, v2].map((p) => new Float32Array(h.memory.buffer, p, n));
  for (let i = 0; i < n; i++) {
    const gi = G[i] * hp.scale;
    const mi = hp.beta1 * M[i] + (1 - hp.beta1) * gi;
    const vi = hp.beta2 * V[i] + (1 - hp.beta2) * gi * gi;
    const wi = W[i] * hp.decay - (hp.lr * (mi / hp.bc1)) / (Math.sqrt(vi / hp.bc2) + hp.eps);
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    assert.ok(close(gotM[i], mi) && close(gotV[i], vi) && close(gotW[i], wi), `element ${i}: (${gotW[i]}, ${gotM[i]}, ${gotV[i]}) vs (${wi}, ${mi}, ${vi})`);
  }
});
