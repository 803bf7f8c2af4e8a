// Browser entry point for lib/: installs the bundled tfjs (src/vendor/, built by
// scripts/build-tfjs-bundle.mjs), points the wasm backend at its binaries, and
// picks a backend through lib/backend.ts.
import * as tfjs from "../vendor/tfjs.js";
import { installTf } from "../lib/tf.js";
import { chooseBackend, isGpuBackend, type BackendInfo, type BackendPreference } from "../lib/backend.js";
import { matMulInfo, registerKernelOverrides, setKernelThreads } from "../lib/kernels.js";
import { webKernelThreads, webWorkerHost } from "../lib/threads/web.js";
import { relaxedSimdSupported } from "../lib/wasm/simd.js";

// import.meta.resolve of a node_modules file makes Framework copy it into dist/.
const WASM_PATHS = {
  "tfjs-backend-wasm.wasm": import.meta.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"),
  "tfjs-backend-wasm-simd.wasm": import.meta.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm"),
  "tfjs-backend-wasm-threaded-simd.wasm": import.meta.resolve(
    "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm"
  )
};

let installed = false;
/**
 * A backend, the threads the lab's own kernels (lib/threads/) run on (more than 1 only
 * on wasm, cross-origin isolated), and whether its matrix products use fused multiply-add
 * (`fma`, what a run record's runtime.fma says; see labFma).
 */
export type LabBackendInfo = BackendInfo & { kernelThreads: number; fma: boolean | null };

/**
 * Whether the matrix products on this backend, as installed now, use fused multiply-add:
 * on wasm, whether the lab's kernels were built with relaxed SIMD's f32x4.relaxed_madd
 * (lib/wasm/simd.ts, chosen by feature detection in this browser) — false when tfjs's own
 * kernel multiplies; false on cpu (JavaScript multiplies and adds separately); null on
 * WebGL and WebGPU, whose shader compilers may or may not fuse and do not say.
 */
export function labFma(backend: string): boolean | null {
  if (backend === "wasm") return matMulInfo().relaxedSimd;
  if (backend === "cpu") return false;
  return null;
}

let current: { prefer: BackendPreference; info: Promise<LabBackendInfo> } | null = null;

/**
 * Installs tfjs for lib/ (once) and selects a backend; asking again for the same
 * preference is free. On wasm in a cross-origin-isolated context the lab's kernels
 * then run on every core the browser reports (lib/threads/web.ts), from the thread
 * that calls this: the lab's worker (lab-worker.ts), where every page's model work runs.
 */
export function initTf({ prefer = "auto" }: { prefer?: BackendPreference } = {}): Promise<LabBackendInfo> {
  if (!installed) {
    installTf(tfjs);
    registerKernelOverrides();
    tfjs.wasm.setWasmPaths(WASM_PATHS);
    // WebGL programs take tensor shapes as uniforms, not compiled-in constants: one program per op
    // and rank instead of one per shape. Sampling (a snapshot's sample, the page's writing) grows its
    // context by a byte at a time, so without this every byte compiled every program anew.
    tfjs.env().set("WEBGL_USE_SHAPES_UNIFORMS", true);
    installed = true;
  }
  if (current?.prefer !== prefer) {
    const previous = current?.info ?? Promise.resolve();
    current = {
      prefer,
      info: previous
        .catch(() => undefined)
        .then(() => chooseBackend({ prefer, loadWebGpu: () => import("../vendor/tfjs-webgpu.js") }))
        .then(async (info) => ({ ...info, kernelThreads: await startKernelThreads(info), fma: labFma(info.name) }))
    };
  }
  return current.info;
}

/** The backend the last initTf chose (and the kernel threads it started), or null before the first. */
export function currentBackend(): Promise<LabBackendInfo> | null {
  return current?.info ?? null;
}

/** The lab's kernels on `threads` threads where this context allows more than one (else 1); returns the threads in use. */
async function startKernelThreads(info: BackendInfo, threads = webKernelThreads()): Promise<number> {
  if (info.name !== "wasm") return 1;
  try {
    return await setKernelThreads(threads, threads > 1 ? webWorkerHost : null);
  } catch (e) {
    console.warn(`the lab's kernels stay on one thread: ${(e as Error).message}`);
    return setKernelThreads(1, null);
  }
}

/**
 * Run the lab's kernels on `threads` threads (1 .. webKernelThreads()) on the current
 * backend, e.g. to time one thread against all; returns the threads in use.
 */
export async function setLabThreads(threads: number): Promise<number> {
  const info = await (current?.info ?? initTf());
  return startKernelThreads(info, Math.max(1, Math.min(threads, webKernelThreads())));
}

/** One line for the page: "wasm (SIMD with FMA, 4 threads)". */
export function describeBackend(info: BackendInfo & { kernelThreads?: number; fma?: boolean | null }): string {
  const details: string[] = [];
  if (info.name === "wasm") {
    // With relaxed SIMD the lab's matrix products (lib/wasm/simd.ts) use fused multiply-add.
    if (info.simd) details.push((info.fma ?? relaxedSimdSupported()) ? "SIMD with FMA" : "SIMD");
    // The lab's kernels (products, fused layers, elementwise) run on kernelThreads; tfjs's own pool on threads.
    const threads = Math.max(info.threads, info.kernelThreads ?? 1);
    details.push(threads > 1 ? `${threads} threads` : "1 thread");
  }
  if (info.name === "cpu") details.push("pure JavaScript");
  if (isGpuBackend(info.name)) {
    // SwiftShader and its kind draw on the CPU: say so rather than "GPU".
    details.push(info.software ? `software renderer, no GPU${info.device ? `: ${shortDevice(info.device)}` : ""}` : `GPU${info.device ? `: ${shortDevice(info.device)}` : ""}`);
  }
  return `${info.name}${details.length ? ` (${details.join(", ")})` : ""}`;
}

/** "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) ...), SwiftShader driver)" → its first meaningful part. */
function shortDevice(device: string): string {
  const m = /SwiftShader|llvmpipe|softpipe|Microsoft Basic Render/i.exec(device);
  if (m) return m[0];
  return device.length > 60 ? `${device.slice(0, 57)}…` : device;
}

export { tfjs };
