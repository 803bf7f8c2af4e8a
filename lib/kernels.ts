// Kernel overrides for the wasm backend of tfjs 4.22 (pinned in package.json:
// these reach into the backend's internals). Each fixes a measured waste; the
// results are the same numbers, checked in test/unit/kernels.test.ts.
//
// 1. BatchMatMul: the stock kernel reaches XNNPACK only for one unbatched,
//    untransposed product and runs everything else (every batched attention
//    product, every transposed operand autodiff asks for) in a scalar loop at
//    0.1-1 GFLOP/s; XNNPACK itself peaks at 15-20 GFLOP/s here. This one runs
//    every float32 product, batched or transposed, through lib/wasm/simd.ts, a
//    blocked SIMD GEMM generated at run time that reads the operands in place through
//    strides (no transpose pass, no copies) at 25-45 GFLOP/s. Where the engine
//    has no wasm SIMD it falls back to XNNPACK per batch entry (see
//    batchMatMulXnnpack), which also avoids a stale-cache bug of the stock kernel.
// 2. Identity, and Cast to the dtype a tensor already has (the gradient of every
//    multiply casts both inputs to float32): the stock kernels copy the buffer;
//    these share it (as the cpu backend does).
// 3. Slice: the stock kernel copies the whole input out of the wasm heap for every
//    slice; this one reads the input in place and copies only the slice.
// 4. Transpose: attention's head split and merge ([B, T, H, D] <-> [B, H, T, D])
//    keep the last axis in place; the stock kernel still moves them one element
//    at a time (about 1 ms per 2048 x 128 tensor). This one copies whole rows
//    with memory.copy (lib/wasm/simd.ts copyRuns). Other permutations go to the
//    stock kernel.
// 5. Sum over leading axes (the gradient of every broadcast weight, e.g. each
//    RMSNorm gain: [N, C] -> [C]): the stock kernel transposes the input with its
//    slow element-wise Transpose first (1.3 ms for 2048 x 128). This one is a
//    product with a row of ones, which the GEMM reads from a single 1.0 through
//    zero strides.
// 6. GatherV2 on the first axis (the embedding lookup): the stock kernel moves
//    one element at a time through generic strides (11 ms for 2048 rows of 128);
//    this one copies whole rows.
// 7. StlmAdamW (a kernel of the lab's own, not an override): one AdamW update of
//    one parameter in a single pass over its weights, moments and gradient,
//    where the same update in tfjs ops is about 16 kernels and 16 passes per
//    parameter. lib/train/optim.ts uses it where the backend has it (wasm) and the
//    plain ops elsewhere; StlmAdamWAll runs every parameter's pass from one kernel
//    call (tfjs's dispatch of 38 calls was serial time a step).
// 9. Add, Sub, Multiply, RealDiv (float32, with the broadcasts a step uses: a
//    scalar, a trailing block repeated, one value per row), Sigmoid, Softmax over
//    the last axis, and Sum over the last axis: the stock kernels run on one
//    thread, and with the products on every core they were a third of a
//    2-thread step. These are lib/wasm/elementwise.ts's SIMD loops, split across
//    the kernel threads by rows or elements. The binary operations and the sum
//    give tfjs's bits exactly; Sigmoid and Softmax use XNNPACK's exp scheme in
//    their own order of operations and differ in the last bits
//    (test/unit/threads.test.ts); on one thread they are as fast as tfjs's.
// 8. Fused layers (kernels of the lab's own, with their gradients): the
//    cross-entropy of the targets (log-softmax, pick, and its backward), RMSNorm,
//    and the backward of SwiGLU's silu(gate) * up. Through tfjs ops each is 6 to
//    12 kernels and as many passes over the activations; here each is one or two
//    passes (lib/wasm/fused.ts). lib/models/layers.ts uses them where the backend has
//    them (wasm) and the tfjs ops elsewhere; test/unit/layers.test.ts checks both
//    against finite differences and against each other. The embedding table's
//    gradient (StlmEmbeddingGrad) adds each row of dy to its id's row in the
//    GEMM's own order, instead of oneHot(ids)^T @ dy: the same bits without the
//    one-hot matrix (a OneHot and a Cast on one thread, and a product of zeros).
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import { tf } from "./tf.js";
import { createSimdKernels, simdSupported, type SimdKernels } from "./wasm/simd.js";
import { binaryPlan, type BinaryOp } from "./wasm/elementwise.js";
import type { KernelPool, WorkerHost } from "./threads/pool.js";

interface WasmData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

interface WasmBackend {
  wasm: {
    /** The single-threaded builds export their memory; the threaded build imports a shared one. */
    asm: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    cwrap: (name: string, ret: null, args: string[]) => (...a: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): WasmData };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: Record<string, unknown> };

let registered = false;
const stock = new Map<string, KernelConfig>();

/** The name of the fused AdamW kernel (see adamW); registered for wasm with the overrides. */
export const ADAMW_KERNEL = "StlmAdamW";
/**
 * Every parameter's AdamW update in one kernel call: inputs w0, m0, v0, g0, w1, ...
 * (and optionally `scale`), attrs as AdamWAttrs with `decay` one per parameter;
 * outputs [w0', m0', v0', w1', ...]. The same per-parameter pass as ADAMW_KERNEL
 * (the same bits), without tfjs's dispatch and bookkeeping for each of the 38
 * parameters of a step.
 */
export const ADAMW_ALL_KERNEL = "StlmAdamWAll";

/** The fused layer kernels (see item 8 above), registered for wasm with the overrides. */
export const FUSED = {
  /** logits [N, V], targets int32 [N] -> [logp [N], lse [N]] */
  targetLogProbs: "StlmTargetLogProbs",
  /** logits, targets, lse, dy [N] -> dlogits [N, V] */
  targetLogProbsGrad: "StlmTargetLogProbsGrad",
  /** x [N, C], w [C]; attr eps -> [y [N, C], r [N]] with r = 1 / rms(x) */
  rmsNorm: "StlmRmsNorm",
  /** x, w, r, dy -> [dx [N, C], dw [C]] */
  rmsNormGrad: "StlmRmsNormGrad",
  /** g, u, s = sigmoid(g), dy (one shape) -> [dg, du] of h = g s u */
  siluMulGrad: "StlmSiluMulGrad",
  /** scores x [..., T, C], mask [T, C]; attr scale -> softmax(x * scale + mask) over the last axis */
  attnSoftmax: "StlmAttnSoftmax",
  /** probabilities y, dy (one shape); attr scale -> the gradient with respect to the scores */
  attnSoftmaxGrad: "StlmAttnSoftmaxGrad",
  /** x [..., T, D], cos and sin [T, D/2] (or doubled to [T, D]); attr back (0 or 1) -> x cos + rotateHalf(x) sin, or its transpose applied to x */
  rotary: "StlmRotary",
  /** any number of float32 tensors (inputs named by position) -> the scalar sum of all their squares: the squared global norm of the gradients */
  squaredNorm: "StlmSquaredNorm",
  /**
   * ids int32 [N], dy [N, C]; attr rows V -> [V, C], row v the sum of dy's rows i with ids[i] = v: the embedding
   * table's gradient, the same bits as oneHot(ids)^T @ dy through the lab's GEMM (see embeddingGrad below)
   */
  embeddingGrad: "StlmEmbeddingGrad"
} as const;

/**
 * Can the current backend run this lab kernel? Registered, and on wasm the SIMD
 * kernels built over its memory (a tfjs whose internals moved falls back to
 * tfjs ops rather than failing mid-run).
 */
export function hasKernel(name: string): boolean {
  const backend = tf.getBackend();
  if (tf.getKernel(name, backend) === undefined) return false;
  return backend !== "wasm" || simdFor(tf.backend() as unknown as WasmBackend) !== null;
}

/** Attributes of one fused AdamW update (bias corrections and decay precomputed). */
export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  /** 1 - beta1^t and 1 - beta2^t. */
  bc1: number;
  bc2: number;
  eps: number;
  /** Multiplier of the weights before the update: 1 - lr * weightDecay, or 1. */
  decay: number;
}

/** Install the overrides (idempotent). Call before the first op on the wasm backend. */
export function registerKernelOverrides(): void {
  if (registered) return;
  registered = true;
  const overrides: [string, (args: KernelArgs) => TensorInfo][] = [
    ["BatchMatMul", batchMatMul],
    ["Identity", identity],
    ["Cast", cast],
    ["Slice", slice],
    ["Transpose", transpose],
    ["Sum", sum],
    ["GatherV2", gatherV2],
    ["Add", binary("add", "Add")],
    ["Sub", binary("sub", "Sub")],
    ["Multiply", binary("mul", "Multiply")],
    ["RealDiv", binary("div", "RealDiv")],
    ["Sigmoid", sigmoid],
    ["Softmax", softmax]
  ];
  for (const [name, kernelFunc] of overrides) {
    const original = tf.getKernel(name, "wasm");
    if (!original) continue; // the wasm backend is not bundled here
    stock.set(name, original);
    tf.unregisterKernel(name, "wasm");
    // The stock setup still runs when the backend starts: other stock kernels call
    // some of these (Transpose) directly, not through the registry.
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernelFunc as unknown as KernelFunc, setupFunc: original.setupFunc });
  }
  if (tf.getKernel("BatchMatMul", "wasm") && simdSupported()) {
    for (const [name, kernelFunc] of labKernels()) tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernelFunc as unknown as KernelFunc });
  }
}

/** Put the stock kernels back (for tests that compare the two). */
export function unregisterKernelOverrides(): void {
  if (!registered) return;
  const backend = tf.findBackend("wasm");
  for (const [name, config] of stock) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
    if (backend) config.setupFunc?.(backend);
  }
  stock.clear();
  for (const [name] of labKernels()) if (tf.getKernel(name, "wasm")) tf.unregisterKernel(name, "wasm");
  registered = false;
}

function callStock(name: string, args: KernelArgs): TensorInfo {
  const config = stock.get(name)!;
  return (config.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)(args);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function identity({ inputs: { x }, backend }: KernelArgs): TensorInfo {
  if (x.dtype === "string") return callStock("Identity", { inputs: { x }, backend, attrs: {} });
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The lab's own kernels on wasm: the fused AdamW update and the fused layers. */
function labKernels(): [string, (args: KernelArgs) => TensorInfo | TensorInfo[]][] {
  const f32 = (backend: WasmBackend, t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;
  const at = (backend: WasmBackend, t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const rows = (t: TensorInfo) => size(t.shape.slice(0, -1));
  const last = (t: TensorInfo) => t.shape[t.shape.length - 1];
  const floats = (...ts: TensorInfo[]) => {
    for (const t of ts) if (t.dtype !== "float32") throw new Error(`lab kernel: expected float32, got ${t.dtype}`);
  };
  const simd = (backend: WasmBackend) => {
    const k = simdFor(backend);
    if (!k) throw new Error("the lab's wasm kernels need wasm SIMD");
    return k;
  };
  // The SIMD code runs whole vectors of 4; an odd width goes through plain loops.
  return [
    /*
     * inputs w, m, v, g (and optionally a scalar `scale`, the clipping factor);
     * outputs [w', m', v'] with
     *   g' = g * scale;  m' = beta1 m + (1 - beta1) g';  v' = beta2 v + (1 - beta2) g'^2
     *   w' = w * decay - lr * (m' / bc1) / (sqrt(v' / bc2) + eps)
     * which is lib/train/optim.ts's update in tfjs ops, computed in one pass.
     */
    [ADAMW_KERNEL, ({ inputs: { w, m, v, g, scale }, backend, attrs }) => {
      const { lr, beta1, beta2, bc1, bc2, eps, decay } = attrs as unknown as AdamWAttrs;
      for (const t of [w, m, v, g]) {
        if (t.dtype !== "float32" || t.shape.join("x") !== w.shape.join("x")) throw new Error(`${ADAMW_KERNEL}: w, m, v and g must be float32 of one shape (got [${t.shape}] ${t.dtype} for [${w.shape}])`);
      }
      const outs = [0, 1, 2].map(() => backend.makeOutput(w.shape, "float32"));
      simd(backend).adamW({
        w: at(backend, w), m: at(backend, m), v: at(backend, v), g: at(backend, g),
        w2: at(backend, outs[0]), m2: at(backend, outs[1]), v2: at(backend, outs[2]), n: size(w.shape),
        scale: scale ? f32(backend, scale)[0] : 1,
        beta1, beta2, bc1, bc2, eps, lr, decay
      });
      return outs;
    }],
    [ADAMW_ALL_KERNEL, ({ inputs, backend, attrs }) => {
      const { lr, beta1, beta2, bc1, bc2, eps } = attrs as unknown as AdamWAttrs;
      const decay = attrs.decay as unknown as number[];
      const scale = inputs.scale ? f32(backend, inputs.scale)[0] : 1;
      const k = simd(backend);
      const outs: TensorInfo[] = [];
      for (let i = 0; i < decay.length; i++) {
        const [w, m, v, g] = [inputs[`w${i}`], inputs[`m${i}`], inputs[`v${i}`], inputs[`g${i}`]];
        for (const t of [w, m, v, g]) {
          if (!t || t.dtype !== "float32" || t.shape.join("x") !== w.shape.join("x")) throw new Error(`${ADAMW_ALL_KERNEL}: parameter ${i}: w, m, v and g must be float32 of one shape`);
        }
        const o = [0, 1, 2].map(() => backend.makeOutput(w.shape, "float32"));
        k.adamW({
          w: at(backend, w), m: at(backend, m), v: at(backend, v), g: at(backend, g),
          w2: at(backend, o[0]), m2: at(backend, o[1]), v2: at(backend, o[2]), n: size(w.shape),
          scale, beta1, beta2, bc1, bc2, eps, lr, decay: decay[i]
        });
        outs.push(...o);
      }
      return outs;
    }],
    [FUSED.embeddingGrad, ({ inputs: { ids, dy }, backend, attrs }) => embeddingGrad(backend, ids, dy, attrs.rows as number, simd(backend).kc)],
    [FUSED.targetLogProbs, ({ inputs: { logits, targets }, backend }) => {
      floats(logits);
      const N = rows(logits), V = last(logits);
      const outs = [backend.makeOutput([N], "float32"), backend.makeOutput([N], "float32")];
      // Row maxima into the first output, sums of exp(x - max) into the second; then the log here.
      simd(backend).softmaxStats(at(backend, logits), N, V, at(backend, outs[0]), at(backend, outs[1]));
      const X = f32(backend, logits), T = backend.typedArrayFromHeap(targets) as Int32Array;
      const [LP, LSE] = outs.map((o) => f32(backend, o));
      for (let i = 0; i < N; i++) {
        const t = T[i];
        if (!(t >= 0 && t < V)) {
          outs.forEach((o) => backend.disposeData(o.dataId));
          throw new RangeError(`target ${t} at row ${i} is outside the vocabulary [0, ${V})`);
        }
        const lse = LP[i] + Math.log(LSE[i]);
        LSE[i] = lse;
        LP[i] = X[i * V + t] - lse;
      }
      return outs;
    }],
    [FUSED.targetLogProbsGrad, ({ inputs: { logits, targets, lse, dy }, backend }) => {
      floats(logits, lse, dy);
      const N = rows(logits), V = last(logits);
      const out = backend.makeOutput(logits.shape, "float32");
      simd(backend).expGrad(at(backend, logits), at(backend, lse), at(backend, dy), at(backend, out), N, V);
      const T = backend.typedArrayFromHeap(targets) as Int32Array, DY = f32(backend, dy), G = f32(backend, out);
      for (let i = 0; i < N; i++) G[i * V + T[i]] += DY[i];
      return out;
    }],
    [FUSED.rmsNorm, ({ inputs: { x, w }, backend, attrs }) => {
      floats(x, w);
      const N = rows(x), C = last(x), eps = attrs.eps as number;
      const outs = [backend.makeOutput(x.shape, "float32"), backend.makeOutput([N], "float32")];
      if (C % 4 === 0) {
        simd(backend).rmsNorm(at(backend, x), at(backend, w), at(backend, outs[0]), at(backend, outs[1]), N, C, eps);
        return outs;
      }
      const X = f32(backend, x), W = f32(backend, w);
      const [Y, R] = outs.map((o) => f32(backend, o));
      for (let i = 0; i < N; i++) {
        let ss = 0;
        for (let j = 0; j < C; j++) ss += X[i * C + j] ** 2;
        const r = (R[i] = 1 / Math.sqrt(ss / C + eps));
        for (let j = 0; j < C; j++) Y[i * C + j] = X[i * C + j] * r * W[j];
      }
      return outs;
    }],
    [FUSED.rmsNormGrad, ({ inputs: { x, w, r, dy }, backend }) => {
      floats(x, w, r, dy);
      const N = rows(x), C = last(x);
      const outs = [backend.makeOutput(x.shape, "float32"), backend.makeOutput([C], "float32")];
      if (C % 4 === 0) {
        simd(backend).rmsNormGrad(at(backend, x), at(backend, w), at(backend, r), at(backend, dy), at(backend, outs[0]), at(backend, outs[1]), N, C);
        return outs;
      }
      const X = f32(backend, x), W = f32(backend, w), R = f32(backend, r), DY = f32(backend, dy);
      const [DX, DW] = outs.map((o) => f32(backend, o));
      DW.fill(0);
      for (let i = 0; i < N; i++) {
        let dot = 0;
        for (let j = 0; j < C; j++) {
          dot += DY[i * C + j] * W[j] * X[i * C + j];
          DW[j] += DY[i * C + j] * X[i * C + j] * R[i];
        }
        const k = (R[i] ** 3 * dot) / C;
        for (let j = 0; j < C; j++) DX[i * C + j] = R[i] * DY[i * C + j] * W[j] - X[i * C + j] * k;
      }
      return outs;
    }],
    [FUSED.attnSoftmax, ({ inputs: { x, mask }, backend, attrs }) => {
      floats(x, mask);
      const r = x.shape.length, C = last(x), T = x.shape[r - 2];
      if (r < 2 || mask.shape.length !== 2 || mask.shape[0] !== T || mask.shape[1] !== C) throw new Error(`${FUSED.attnSoftmax}: mask must be [${T}, ${C}] for scores [${x.shape}], got [${mask.shape}]`);
      const out = backend.makeOutput(x.shape, "float32");
      if (size(x.shape) > 0) simd(backend).attnSoftmax(at(backend, x), at(backend, mask), at(backend, out), rows(x), C, T, attrs.scale as number);
      return out;
    }],
    [FUSED.attnSoftmaxGrad, ({ inputs: { y, dy }, backend, attrs }) => {
      floats(y, dy);
      const out = backend.makeOutput(y.shape, "float32");
      if (size(y.shape) > 0) simd(backend).attnSoftmaxGrad(at(backend, y), at(backend, dy), at(backend, out), rows(y), last(y), attrs.scale as number);
      return out;
    }],
    [FUSED.rotary, ({ inputs: { x, cos, sin }, backend, attrs }) => {
      floats(x, cos, sin);
      const r = x.shape.length, D = last(x), T = x.shape[r - 2], half = D / 2;
      if (r < 2 || D % 8 !== 0) throw new Error(`${FUSED.rotary}: the head size must be a multiple of 8, got ${D}`);
      const ld = cos.shape[1];
      for (const t of [cos, sin]) if (t.shape.length !== 2 || t.shape[0] !== T || t.shape[1] !== ld || (ld !== half && ld !== D)) throw new Error(`${FUSED.rotary}: tables must both be [${T}, ${half}] or doubled to [${T}, ${D}] for x [${x.shape}], got [${cos.shape}] and [${sin.shape}]`);
      const out = backend.makeOutput(x.shape, "float32");
      if (size(x.shape) > 0) simd(backend).rotary(at(backend, x), at(backend, cos), at(backend, sin), at(backend, out), rows(x), half, T, attrs.back === 1, ld);
      return out;
    }],
    [FUSED.squaredNorm, ({ inputs, backend }) => {
      // One pass per tensor in input order, each tensor's sum added in that order: the same bits at any thread count.
      const k = simd(backend);
      let total = 0;
      for (const t of Object.values(inputs)) {
        floats(t);
        total = Math.fround(total + k.sumSquares(at(backend, t), size(t.shape)));
      }
      const out = backend.makeOutput([], "float32");
      f32(backend, out)[0] = total;
      return out;
    }],
    [FUSED.siluMulGrad, ({ inputs: { g, u, s, dy }, backend }) => {
      floats(g, u, s, dy);
      const outs = [backend.makeOutput(g.shape, "float32"), backend.makeOutput(g.shape, "float32")];
      const n = size(g.shape);
      const body = n - (n % 4);
      simd(backend).siluMulGrad(at(backend, g), at(backend, u), at(backend, s), at(backend, dy), at(backend, outs[0]), at(backend, outs[1]), body);
      const G = f32(backend, g), U = f32(backend, u), S = f32(backend, s), DY = f32(backend, dy);
      const [DG, DU] = outs.map((o) => f32(backend, o));
      for (let i = body; i < n; i++) {
        DU[i] = DY[i] * G[i] * S[i];
        DG[i] = DY[i] * U[i] * (S[i] + G[i] * S[i] * (1 - S[i]));
      }
      return outs;
    }]
  ];
}

function cast(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  if (attrs.dtype !== x.dtype || x.dtype === "string") return callStock("Cast", args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function slice(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  if (x.dtype === "string") return callStock("Slice", args);
  const rank = x.shape.length;
  const [begin, sz] = tf.slice_util.parseSliceParams(x as never, attrs.begin as number[], attrs.size as number[]);
  const out = backend.makeOutput(sz, x.dtype);
  // Views taken after makeOutput: an allocation can grow the heap and detach older views.
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) {
    const start = tf.slice_util.computeFlatOffset(begin, strides);
    dst.set(src.subarray(start, start + size(sz)));
    return out;
  }
  // Copy runs of the last axis, walking the outer indices like an odometer.
  const inner = sz[rank - 1];
  const outer = size(sz.slice(0, -1));
  const idx = new Array(Math.max(rank - 1, 0)).fill(0);
  for (let o = 0; o < outer; o++) {
    let from = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) from += (begin[d] + idx[d]) * strides[d];
    dst.set(src.subarray(from, from + inner), o * inner);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < sz[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function transpose(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const perm = attrs.perm as number[];
  const r = x.shape.length;
  const g = (x.dtype === "float32" || x.dtype === "int32") && r >= 2 && r <= 4 && perm[r - 1] === r - 1 ? simdFor(backend) : null;
  if (!g) return callStock("Transpose", args);
  const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
  if (size(x.shape) === 0) return out;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // The output's leading axes, outermost first, padded to three with single steps.
  const n: number[] = [];
  const s: number[] = [];
  for (let j = 0; j < r - 1; j++) {
    n.push(x.shape[perm[j]]);
    s.push(strides[perm[j]] * 4);
  }
  while (n.length < 3) {
    n.unshift(1);
    s.unshift(0);
  }
  g.copyRuns(backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, n as [number, number, number], s as [number, number, number], x.shape[r - 1] * 4);
  return out;
}

/** Add, Sub, Multiply or RealDiv of float32 tensors whose broadcast reads as rows (lib/wasm/elementwise.ts binaryPlan); the rest to the stock kernel. */
function binary(op: BinaryOp, name: string): (args: KernelArgs) => TensorInfo {
  return (args) => {
    const { inputs: { a, b }, backend } = args;
    const g = a.dtype === "float32" && b.dtype === "float32" ? simdFor(backend) : null;
    if (!g) return callStock(name, args);
    const shape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const plan = binaryPlan(a.shape, b.shape, shape);
    if (!plan) return callStock(name, args);
    const out = backend.makeOutput(shape, "float32");
    if (plan.rows * plan.cols > 0) g.binary(op, plan, backend.dataIdMap.get(a.dataId).memoryOffset, backend.dataIdMap.get(b.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset);
    return out;
  };
}

function sigmoid(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend } = args;
  const g = x.dtype === "float32" ? simdFor(backend) : null;
  if (!g) return callStock("Sigmoid", args);
  const out = backend.makeOutput(x.shape, "float32");
  g.sigmoid(backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, size(x.shape));
  return out;
}

function softmax(args: KernelArgs): TensorInfo {
  const { inputs: { logits }, backend, attrs } = args;
  const r = logits.shape.length;
  const dim = attrs.dim as number;
  const g = logits.dtype === "float32" && r >= 1 && (dim === -1 || dim === r - 1) ? simdFor(backend) : null;
  if (!g) return callStock("Softmax", args);
  const out = backend.makeOutput(logits.shape, "float32");
  const cols = logits.shape[r - 1];
  if (cols > 0) g.softmax(backend.dataIdMap.get(logits.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, size(logits.shape) / cols, cols);
  return out;
}

function sum(args: KernelArgs): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const r = x.shape.length;
  const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((p, q) => p - q);
  const trailing = axes.length > 0 && axes.length < r && axes.every((ax, i) => ax === r - axes.length + i);
  const rs = trailing && x.dtype === "float32" ? simdFor(backend) : null;
  if (rs) {
    // Each row's sum, left to right (as the stock kernel adds them).
    const cols = size(x.shape.slice(r - axes.length));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < r - axes.length ? d : 1)) : x.shape.slice(0, r - axes.length);
    const out = backend.makeOutput(outShape, "float32");
    const rows = size(outShape);
    if (rows > 0) {
      if (cols === 0) (backend.typedArrayFromHeap(out) as Float32Array).fill(0);
      else rs.rowSum(backend.dataIdMap.get(x.dataId).memoryOffset, backend.dataIdMap.get(out.dataId).memoryOffset, rows, cols);
    }
    return out;
  }
  const leading = axes.length > 0 && axes.length < r && axes.every((ax, i) => ax === i);
  const g = leading && x.dtype === "float32" ? simdFor(backend) : null;
  if (!g) return callStock("Sum", args);
  const outer = size(x.shape.slice(0, axes.length));
  const inner = size(x.shape.slice(axes.length));
  const keep = attrs.keepDims as boolean;
  const out = backend.makeOutput(keep ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length), "float32");
  // [1, outer] of ones @ x as [outer, inner]: the ones are one float read with strides 0.
  g.gemm({ a: g.one, b: backend.dataIdMap.get(x.dataId).memoryOffset, c: backend.dataIdMap.get(out.dataId).memoryOffset, m: 1, n: inner, k: outer, sAm: 0, sAk: 0, sBk: inner, sBn: 1 });
  return out;
}

/**
 * The embedding table's gradient without the one-hot matrix: the product
 * oneHot(ids)^T [V, N] @ dy [N, C] was a Cast and a OneHot of N x V values on one
 * thread and a product of V x N x C multiply-adds, nearly all by 0. The GEMM sums
 * each output over the inner dimension in blocks of kc: from zero within a block,
 * then block partial added to C in order. Multiplying by exactly 1 or 0 changes
 * nothing (1 * d = d, and + 0 leaves a sum as it is), so the same sums in the same
 * order give the same bits: per block of kc rows, each row's dy added to its
 * id's partial in row order, then the partials added to the table. Thread-count
 * independent (one thread).
 */
function embeddingGrad(backend: WasmBackend, ids: TensorInfo, dy: TensorInfo, V: number, kc: number): TensorInfo {
  if (ids.dtype !== "int32" || dy.dtype !== "float32" || dy.shape.length !== 2 || dy.shape[0] !== size(ids.shape)) {
    throw new Error(`${FUSED.embeddingGrad}: expected int32 ids [N] and float32 dy [N, C] (got ${ids.dtype} [${ids.shape}], ${dy.dtype} [${dy.shape}])`);
  }
  const [N, C] = dy.shape;
  const out = backend.makeOutput([V, C], "float32");
  const G = backend.typedArrayFromHeap(out) as Float32Array;
  G.fill(0);
  const I = backend.typedArrayFromHeap(ids) as Int32Array;
  const DY = backend.typedArrayFromHeap(dy) as Float32Array;
  const partial = new Float32Array(V * C);
  const seen = new Uint8Array(V);
  const touched: number[] = [];
  for (let i0 = 0; i0 < N; i0 += kc) {
    const i1 = Math.min(N, i0 + kc);
    for (let i = i0; i < i1; i++) {
      const v = I[i];
      if (!(v >= 0 && v < V)) continue; // a one-hot row of an id out of range is all zeros
      const p = v * C, d = i * C;
      if (!seen[v]) {
        seen[v] = 1;
        touched.push(v);
        for (let j = 0; j < C; j++) partial[p + j] = 0 + DY[d + j];
      } else {
        for (let j = 0; j < C; j++) partial[p + j] += DY[d + j];
      }
    }
    for (const v of touched) {
      const p = v * C;
      for (let j = 0; j < C; j++) G[p + j] += partial[p + j];
      seen[v] = 0;
    }
    touched.length = 0;
  }
  return out;
}

function gatherV2(args: KernelArgs): TensorInfo {
  const { inputs: { x, indices }, backend, attrs } = args;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  if (axis !== 0 || (attrs.batchDims as number) !== 0 || !(x.dtype === "float32" || x.dtype === "int32") || indices.dtype !== "int32") return callStock("GatherV2", args);
  const rows = x.shape[0];
  const row = size(x.shape.slice(1));
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const ids = backend.typedArrayFromHeap(indices);
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  // One view of the whole heap (both dtypes are 4 bytes) and copyWithin per row: a subarray per row was a view
  // object made and dropped for each of the 2,048 rows of a step's lookup.
  const heap = new Int32Array(src.buffer);
  const s0 = src.byteOffset >> 2, d0 = dst.byteOffset >> 2;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < rows)) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${id} is not in [0, ${rows - 1}]`);
    }
    heap.copyWithin(d0 + i * row, s0 + id * row, s0 + id * row + row);
  }
  return out;
}

let wasmMatMul: ((...a: unknown[]) => void) | null = null;

/** Which engine runs float32 products on the wasm backend. */
export type MatMulEngine = "gemm" | "xnnpack";
let engine: MatMulEngine = "gemm";
// One kernel set per wasm memory (a backend made anew has a new memory); null: unavailable.
const kernelSets = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/** Choose the matmul engine: "gemm" (the default; XNNPACK where the engine lacks wasm SIMD) or "xnnpack". */
export function setMatMulEngine(e: MatMulEngine): void {
  engine = e;
}

/**
 * Run the lab's wasm kernels (the GEMM, the fused layers, AdamW) on `threads`
 * threads, the calling one included (lib/threads/pool.ts), on the current wasm
 * backend. Results are bit-identical at every thread count. More than one thread
 * needs the backend's memory shared (Node: lib/node/runtime.ts makes it so; a
 * browser: the threaded build, on a cross-origin-isolated page) and a host that
 * starts workers. Returns the threads now in use (1 where the kernels are not
 * available).
 */
export async function setKernelThreads(threads: number, host: WorkerHost | null): Promise<number> {
  const k = tf.getBackend() === "wasm" ? simdFor(tf.backend() as unknown as WasmBackend) : null;
  if (!k) return 1;
  await k.pool.setThreads(threads, host);
  return k.pool.threads;
}

/** The lab's kernel thread pool on the current wasm backend, or null (another backend, or no SIMD kernels). */
export function kernelPool(): KernelPool | null {
  if (!registered) return null; // tfjs not installed, or no overrides: no pool either
  const k = tf.getBackend() === "wasm" ? simdFor(tf.backend() as unknown as WasmBackend) : null;
  return k ? k.pool : null;
}

/** What multiplies float32 matrices on the wasm backend now ("stock": tfjs's own kernel, overrides removed). */
export function matMulInfo(): { engine: MatMulEngine | "stock"; relaxedSimd: boolean } {
  if (!registered) return { engine: "stock", relaxedSimd: false };
  const k = engine === "gemm" && tf.getBackend() === "wasm" ? simdFor(tf.backend() as unknown as WasmBackend) : null;
  return k ? { engine: "gemm", relaxedSimd: k.relaxed } : { engine: "xnnpack", relaxedSimd: false };
}

function simdFor(backend: WasmBackend): SimdKernels | null {
  const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
  if (!(memory instanceof WebAssembly.Memory)) return null;
  let g = kernelSets.get(memory);
  if (g === undefined) {
    try {
      g = simdSupported() ? createSimdKernels(memory, (n) => backend.wasm._malloc(n), (p) => backend.wasm._free(p)) : null;
    } catch (e) {
      console.warn(`lib/kernels.ts: the SIMD GEMM could not be built here (${(e as Error).message}); using XNNPACK`);
      g = null;
    }
    kernelSets.set(memory, g);
  }
  return g;
}

/** The shapes of a product, or null when it is not float32 with simple batch broadcasting (the stock kernel takes those). */
interface MatMulShape {
  m: number; k: number; n: number;
  batch: number; batchA: number; batchB: number;
  batchShape: number[];
  transposeA: boolean; transposeB: boolean;
}

function matMulShape({ inputs: { a, b }, attrs }: KernelArgs): MatMulShape | null {
  const transposeA = attrs.transposeA as boolean;
  const transposeB = attrs.transposeB as boolean;
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const batchA = size(aBatchShape);
  const batchB = size(bBatchShape);
  if (a.dtype !== "float32" || b.dtype !== "float32" || !(batchA === batchB || batchA === 1 || batchB === 1)) return null;
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  return { m, k, n, batch: Math.max(batchA, batchB), batchA, batchB, batchShape, transposeA, transposeB };
}

function batchMatMul(args: KernelArgs): TensorInfo {
  const shape = matMulShape(args);
  if (!shape) return callStock("BatchMatMul", args);
  const g = engine === "gemm" ? simdFor(args.backend) : null;
  if (!g) return batchMatMulXnnpack(args, shape);
  const { inputs: { a, b }, backend } = args;
  const { m, k, n, batch, batchA, batchB, batchShape, transposeA, transposeB } = shape;
  const out = backend.makeOutput([...batchShape, m, n], "float32");
  const aOff = backend.dataIdMap.get(a.dataId).memoryOffset;
  const bOff = backend.dataIdMap.get(b.dataId).memoryOffset;
  const cOff = backend.dataIdMap.get(out.dataId).memoryOffset;
  // A stored [m, k] has strides (k, 1); stored transposed, [k, m], (1, m). Likewise B.
  const [sAm, sAk] = transposeA ? [1, m] : [k, 1];
  const [sBk, sBn] = transposeB ? [1, k] : [n, 1];
  // One task for the whole batch: the threads split it by entries, or by blocks of C (lib/threads/tasks.ts).
  g.gemm({ a: aOff, b: bOff, c: cOff, m, n, k, sAm, sAk, sBk, sBn, batch, aStep: batchA === 1 ? 0 : m * k * 4, bStep: batchB === 1 ? 0 : k * n * 4, cStep: m * n * 4 });
  return out;
}

/** The same product through XNNPACK, one call per batch entry (where the engine lacks wasm SIMD, or --matmul xnnpack). */
function batchMatMulXnnpack(args: KernelArgs, { m, k, n, batch, batchA, batchB, batchShape, transposeA, transposeB }: MatMulShape): TensorInfo {
  const { inputs: { a, b }, backend } = args;
  wasmMatMul ??= backend.wasm.cwrap("BatchMatMul", null, ["number", "array", "number", "number", "array", "number", "number", "number", "number"]);

  const temps: TensorInfo[] = [];
  const plain = (t: TensorInfo, transposed: boolean, rows: number, cols: number): TensorInfo => {
    if (!transposed) return t;
    // [..., cols, rows] -> [..., rows, cols], one pass in C.
    const r = t.shape.length;
    const perm = [...Array(r - 2).keys(), r - 1, r - 2];
    const out = (tf.getKernel("Transpose", "wasm")!.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)({ inputs: { x: t }, backend, attrs: { perm } });
    temps.push(out);
    return { ...out, shape: [...t.shape.slice(0, -2), rows, cols] };
  };
  const aPlain = plain(a, transposeA, m, k);
  const bPlain = plain(b, transposeB, k, n);
  const out = backend.makeOutput([...batchShape, m, n], "float32");
  const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  const aShape = shapeBytes([1, m, k]);
  const bShape = shapeBytes([1, k, n]);
  const aData = backend.dataIdMap.get(aPlain.dataId);
  const bData = backend.dataIdMap.get(bPlain.dataId);
  const outData = backend.dataIdMap.get(out.dataId);
  // Every product reads its operands through views: ids registered at an offset
  // into the operands' memory, then dropped (dropping an id frees no memory; it
  // clears XNNPACK's operator cache for it). The right operand must be a fresh id
  // even unbatched: XNNPACK's cache is keyed by that id alone, and a reshape or a
  // clone shares its buffer's id, so one buffer met again as [k', n'] would be
  // multiplied with the [k, n] weights packed the first time (wrong numbers, or
  // an abort). The stock kernel has this bug; this one does not.
  const { tfjs } = backend.wasm;
  for (let i = 0; i < batch; i++) {
    const ids = [backend.dataIdNextNumber++, backend.dataIdNextNumber++, backend.dataIdNextNumber++];
    tfjs.registerTensor(ids[0], m * k, aData.memoryOffset + (batchA === 1 ? 0 : i) * m * k * 4);
    tfjs.registerTensor(ids[1], k * n, bData.memoryOffset + (batchB === 1 ? 0 : i) * k * n * 4);
    tfjs.registerTensor(ids[2], m * n, outData.memoryOffset + i * m * n * 4);
    wasmMatMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
    for (const id of ids) tfjs.disposeData(id);
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}
