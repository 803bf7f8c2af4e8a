// Backend choice: the only module that calls tf.setBackend.
//
// Browser order for "auto": WebGPU, then WebGL, then wasm (SIMD, threads when the
// page is cross-origin isolated), then the pure-JS cpu backend. A GPU backend is
// kept only if it runs on real hardware and a small forward pass on it agrees
// with the cpu backend: the WebGPU and WebGL backends are known to return zeros or
// garbage on some drivers, and on a machine without a GPU both fall back to a
// software rasteriser (SwiftShader) that is many times slower than wasm.
// Node has no GPU backend here: wasm (threads are hard-coded off there), else cpu.
import { tf } from "./tf.js";

export type BackendName = "webgpu" | "webgl" | "wasm" | "cpu";
export type BackendPreference = "auto" | BackendName;

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ["auto", "webgpu", "webgl", "wasm", "cpu"];

/** WebGPU and WebGL: a step's kernels are queued to a device (real or software) and read back, not computed on the caller's threads. */
export function isGpuBackend(name: string): boolean {
  return name === "webgpu" || name === "webgl";
}

export interface BackendInfo {
  /** The backend tfjs now runs on. */
  name: BackendName;
  requested: BackendPreference;
  /** CPU threads the backend computes with: wasm's thread pool, 1 for cpu, 0 for GPU backends. */
  threads: number;
  /** wasm only: whether the SIMD build runs. */
  simd: boolean;
  /** Why the backends tried before this one were passed over, when any were. */
  fallbackReason?: string;
  /** GPU backends: the renderer or adapter, as the browser names it, when it says. */
  device?: string;
  /** GPU backends: whether that device is a software rasteriser (SwiftShader, llvmpipe, a fallback adapter). */
  software?: boolean;
}

export interface ChooseBackendOptions {
  prefer?: BackendPreference;
  /** Check a GPU backend against the cpu backend before keeping it (default true). */
  verify?: boolean;
  /**
   * Registers the WebGPU backend (a dynamic import of it). It is called only after
   * an adapter was found, because importing the backend can throw in browsers
   * without WebGPU. Without it WebGPU is tried only if already registered.
   */
  loadWebGpu?: () => Promise<unknown>;
}

const AUTO_ORDER: readonly BackendName[] = ["webgpu", "webgl", "wasm", "cpu"];
const NODE_ORDER: readonly BackendName[] = ["wasm", "cpu"];

/** Largest |difference| allowed between a candidate's probe output and cpu's. */
export const VERIFY_TOLERANCE = 1e-3;

export async function chooseBackend(opts: ChooseBackendOptions = {}): Promise<BackendInfo> {
  const requested = opts.prefer ?? "auto";
  if (!BACKEND_PREFERENCES.includes(requested)) {
    throw new Error(`Unknown backend "${String(requested)}"; choose one of: ${BACKEND_PREFERENCES.join(", ")}.`);
  }
  const verify = opts.verify ?? true;
  const node = isNode();
  const fallbacks = node ? NODE_ORDER : AUTO_ORDER;
  const order = requested === "auto" ? fallbacks : [requested, ...fallbacks.filter((b) => b !== requested)];
  const skipped: string[] = [];
  let reference: Float32Array | null = null;

  for (const name of order) {
    const strict = name === requested;
    const unusable = await whyUnusable(name, { node, strict, loadWebGpu: opts.loadWebGpu });
    if (unusable) {
      skipped.push(`${name}: ${unusable}`);
      continue;
    }
    if (verify && isGpuBackend(name)) {
      reference ??= await probeOn("cpu");
      const diff = await probeOn(name).then(
        (got) => maxAbsDiff(got, reference!),
        (e: unknown) => e as Error
      );
      if (diff instanceof Error) {
        skipped.push(`${name}: the check computation failed (${diff.message})`);
        continue;
      }
      if (!(diff <= VERIFY_TOLERANCE)) {
        skipped.push(`${name}: its results differ from the cpu backend's by ${diff.toExponential(2)} (> ${VERIFY_TOLERANCE})`);
        continue;
      }
    }
    if (!(await use(name))) {
      skipped.push(`${name}: it failed to initialise`);
      continue;
    }
    return {
      name,
      requested,
      ...(await parallelism(name)),
      ...(await deviceOf(name)),
      ...(skipped.length > 0 ? { fallbackReason: skipped.join("; ") } : {})
    };
  }
  throw new Error(`No TensorFlow.js backend could start (${skipped.join("; ")}).`);
}

async function whyUnusable(
  name: BackendName,
  ctx: { node: boolean; strict: boolean; loadWebGpu?: () => Promise<unknown> }
): Promise<string | null> {
  if (name === "cpu") return null;
  if (name === "wasm") return tf.findBackendFactory("wasm") ? null : "the wasm backend is not loaded";
  if (ctx.node) return "no GPU backend in Node";
  if (name === "webgl") {
    if (!tf.findBackendFactory("webgl")) return "the webgl backend is not loaded";
    const renderer = webglRenderer();
    if (renderer === null) return "WebGL is not available";
    if (!ctx.strict && isSoftwareRenderer(renderer)) return `software renderer (${renderer}), slower than wasm`;
    return null;
  }
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return "this browser has no WebGPU";
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return `requesting an adapter failed (${(e as Error).message})`;
  }
  if (!adapter) return "no WebGPU adapter";
  if (!ctx.strict && (adapter.info?.isFallbackAdapter || adapter.isFallbackAdapter)) {
    return "only a software (fallback) adapter, slower than wasm";
  }
  if (!tf.findBackendFactory("webgpu")) {
    if (!ctx.loadWebGpu) return "the webgpu backend is not loaded";
    try {
      await ctx.loadWebGpu();
    } catch (e) {
      return `loading the webgpu backend failed (${(e as Error).message})`;
    }
    if (!tf.findBackendFactory("webgpu")) return "the webgpu backend did not register";
  }
  return null;
}

/**
 * Largest |difference| between the check computation on `name` and on the cpu
 * backend. Leaves `name` as the current backend.
 */
export async function differenceFromCpu(name: BackendName): Promise<number> {
  const reference = await probeOn("cpu");
  return maxAbsDiff(await probeOn(name), reference);
}

async function use(name: BackendName): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

/**
 * A small attention-like forward pass on fixed data: a scaled matmul, a softmax
 * over the last axis, a weighted sum and an RMS norm.
 */
async function probeOn(name: BackendName): Promise<Float32Array> {
  if (!(await use(name))) throw new Error(`${name} failed to initialise`);
  const [t, d] = [16, 32];
  const out = tf.tidy(() => {
    const x = tf.tensor2d(fixedValues(t * d, 1), [t, d]); // [T, D]
    const w = tf.tensor2d(fixedValues(d * d, 2), [d, d]); // [D, D]
    const q = tf.matMul(x, w); // [T, D]
    const att = tf.softmax(tf.matMul(q, x, false, true).mul(1 / Math.sqrt(d))); // [T, T]
    const y = tf.matMul(att, q); // [T, D]
    return y.div(tf.sqrt(y.square().mean(-1, true).add(1e-5))); // [T, D]
  });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

function fixedValues(n: number, salt: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.37 + salt * 1.7) * 0.5;
  return v;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

async function parallelism(name: BackendName): Promise<{ threads: number; simd: boolean }> {
  if (name === "cpu") return { threads: 1, simd: false };
  if (name !== "wasm") return { threads: 0, simd: false };
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT").then(Boolean, () => false);
  // The wasm module keeps its thread count; tfjs exposes it only on the backend object.
  const wasm = (tf.backend() as { wasm?: { PThread?: unknown; tfjs?: { getThreadsCount?: () => number } } }).wasm;
  const threads = wasm && "PThread" in wasm ? (wasm.tfjs?.getThreadsCount?.() ?? 1) : 1;
  return { threads, simd };
}

/** The GPU a GPU backend draws on, and whether it is software. */
async function deviceOf(name: BackendName): Promise<{ device?: string; software?: boolean }> {
  if (name === "webgl") {
    const renderer = webglRenderer();
    return renderer === null ? {} : { device: renderer, software: isSoftwareRenderer(renderer) };
  }
  if (name !== "webgpu") return {};
  try {
    const adapter = await (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu?.requestAdapter();
    if (!adapter) return {};
    const info = adapter.info ?? {};
    const device = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || undefined;
    const software = Boolean(info.isFallbackAdapter || adapter.isFallbackAdapter) || (device !== undefined && isSoftwareRenderer(device));
    return { ...(device ? { device } : {}), software };
  } catch {
    return {};
  }
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === "string" && typeof (globalThis as { window?: unknown }).window === "undefined";
}

/** The WebGL renderer's name, or null when no WebGL context can be made. */
function webglRenderer(): string | null {
  const Canvas = (globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } })
    .OffscreenCanvas;
  if (!Canvas) return null;
  const gl = (new Canvas(1, 1).getContext("webgl2") ?? new Canvas(1, 1).getContext("webgl")) as GlLike | null;
  if (!gl) return null;
  const ext = gl.getExtension("WEBGL_debug_renderer_info") as { UNMASKED_RENDERER_WEBGL: number } | null;
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? "unknown");
  (gl.getExtension("WEBGL_lose_context") as { loseContext(): void } | null)?.loseContext();
  return renderer;
}

function isSoftwareRenderer(renderer: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render|microsoft basic/i.test(renderer);
}

interface GlLike {
  RENDERER: number;
  getExtension(name: string): unknown;
  getParameter(p: number): unknown;
}
interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; description?: string };
}
interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}
