// Node entry point for lib/: installs @tensorflow/tfjs with the wasm backend.
// (@tensorflow/tfjs-node downloads a binary at install time, which a machine
// without internet cannot do; wasm with SIMD is the fast CPU path that remains.)
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installTf } from "../tf.js";
import { chooseBackend, type BackendInfo } from "../backend.js";
import { registerKernelOverrides } from "../kernels.js";

let ready: Promise<BackendInfo> | null = null;
let current: string | null = null;

/** Install tfjs for lib/ and select a backend (wasm unless asked otherwise). Idempotent per backend. */
export function initNode(prefer: "wasm" | "cpu" = "wasm"): Promise<BackendInfo> {
  // Something else (lib/verify.ts, a test) may have switched the backend since.
  if (!ready || current !== prefer || tfjs.getBackend() !== prefer) {
    installTf(tfjs);
    registerKernelOverrides();
    current = prefer;
    ready = chooseBackend({ prefer });
  }
  return ready;
}
