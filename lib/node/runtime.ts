// Node entry point for lib/: installs @tensorflow/tfjs with the wasm backend.
// (@tensorflow/tfjs-node downloads a binary at install time, which a machine
// without internet cannot do; wasm with SIMD is the fast CPU path that remains.)
import v8 from "node:v8";
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installTf } from "../tf.js";
import { chooseBackend, type BackendInfo } from "../backend.js";
import { registerKernelOverrides, setKernelThreads } from "../kernels.js";
import { instantiatingShared } from "../threads/shared-heap.js";
import { nodeWorkerHost } from "./threads.js";

// Relaxed SIMD (part of WebAssembly 3.0; on by default in Chrome and in Node 22+)
// sits behind a flag in Node 20. lib/wasm/simd.ts checks for it and uses its fused
// multiply-add when present (about 1.3x on matmuls here), mul + add otherwise.
// The flag must be set before the GEMM module is compiled; on engines that
// already have the feature it changes nothing.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

let ready: Promise<BackendInfo> | null = null;
let current: string | null = null;

/** Install tfjs for lib/ and select a backend (wasm unless asked otherwise). Idempotent per backend. */
export function initNode(prefer: "wasm" | "cpu" = "wasm"): Promise<BackendInfo> {
  // Something else (lib/eval/verify.ts, a test) may have switched the backend since.
  if (!ready || current !== prefer || tfjs.getBackend() !== prefer) {
    installTf(tfjs);
    registerKernelOverrides();
    current = prefer;
    // The wasm heap is made shared as it is instantiated, so kernel threads can work in it (lib/threads/shared-heap.ts).
    ready = instantiatingShared(() => chooseBackend({ prefer }));
  }
  return ready;
}

/**
 * Install tfjs (initNode) and run the lab's wasm kernels on `threads` threads, the
 * calling one included; returns the threads in use (1 on the cpu backend).
 */
export async function initNodeThreads(threads: number, prefer: "wasm" | "cpu" = "wasm"): Promise<BackendInfo & { kernelThreads: number }> {
  const info = await initNode(prefer);
  const kernelThreads = await setKernelThreads(threads, nodeWorkerHost);
  return { ...info, kernelThreads };
}
