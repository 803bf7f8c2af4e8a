// Kernel overrides for the wasm backend of tfjs 4.22 (pinned in package.json:
// these reach into the backend's internals). Each fixes a measured waste; the
// results are the same numbers, checked in test/unit/kernels.test.ts.
//
// 1. BatchMatMul: the stock kernel reaches XNNPACK only for one unbatched,
//    untransposed product and runs everything else (every batched attention
//    product, every transposed operand autodiff asks for) in a scalar loop at
//    0.1-1 GFLOP/s. Here transposed operands are transposed once in C, and a
//    batched product runs as one XNNPACK product per batch entry on views of the
//    operands' memory (tensor ids registered at an offset, no copies). It also
//    avoids a stale-cache bug of the stock kernel (see batchMatMul).
// 2. Identity: the engine clones each tensor it saves for the backward pass; the
//    stock kernel copies the buffer, this one shares it (as the cpu backend does).
// 3. Slice: the stock kernel copies the whole input out of the wasm heap for every
//    slice; this one reads the input in place and copies only the slice.
import type { KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs";
import { tf } from "./tf.js";

interface WasmData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: string;
  refCount: number;
}

interface WasmBackend {
  wasm: {
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

/** Install the overrides (idempotent). Call before the first op on the wasm backend. */
export function registerKernelOverrides(): void {
  if (registered) return;
  registered = true;
  const overrides: [string, (args: KernelArgs) => TensorInfo][] = [
    ["BatchMatMul", batchMatMul],
    ["Identity", identity],
    ["Slice", slice]
  ];
  for (const [name, kernelFunc] of overrides) {
    const original = tf.getKernel(name, "wasm");
    if (!original) continue; // the wasm backend is not bundled here
    stock.set(name, original);
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: kernelFunc as unknown as KernelFunc });
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
  setUp.clear();
  registered = false;
}

// A stock kernel registered before the backend started had its setup run then;
// one replaced before that never did, so it is set up on first use.
const setUp = new Set<string>();
function callStock(name: string, args: KernelArgs): TensorInfo {
  const config = stock.get(name)!;
  if (!setUp.has(name)) {
    config.setupFunc?.(args.backend as never);
    setUp.add(name);
  }
  return (config.kernelFunc as unknown as (a: KernelArgs) => TensorInfo)(args);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function identity({ inputs: { x }, backend }: KernelArgs): TensorInfo {
  if (x.dtype === "string") return callStock("Identity", { inputs: { x }, backend, attrs: {} });
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

let wasmMatMul: ((...a: unknown[]) => void) | null = null;

function batchMatMul(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const transposeA = attrs.transposeA as boolean;
  const transposeB = attrs.transposeB as boolean;
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const batchA = size(aBatchShape);
  const batchB = size(bBatchShape);
  const useStock = a.dtype !== "float32" || b.dtype !== "float32" || !(batchA === batchB || batchA === 1 || batchB === 1);
  if (useStock) return callStock("BatchMatMul", args);

  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  if (k !== kb) throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const batch = Math.max(batchA, batchB);
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
