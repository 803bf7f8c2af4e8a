// Browser entry point for lib/: installs the bundled tfjs (src/vendor/, built by
// scripts/build-tfjs-bundle.mjs), points the wasm backend at its binaries, and
// picks a backend through lib/backend.ts.
import * as tfjs from "../vendor/tfjs.js";
import { installTf } from "../lib/tf.js";
import { chooseBackend, type BackendInfo, type BackendPreference } from "../lib/backend.js";
import { registerKernelOverrides } from "../lib/kernels.js";
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
let current: { prefer: BackendPreference; info: Promise<BackendInfo> } | null = null;

/** Installs tfjs for lib/ (once) and selects a backend; asking again for the same preference is free. */
export function initTf({ prefer = "auto" }: { prefer?: BackendPreference } = {}): Promise<BackendInfo> {
  if (!installed) {
    installTf(tfjs);
    registerKernelOverrides();
    tfjs.wasm.setWasmPaths(WASM_PATHS);
    installed = true;
  }
  if (current?.prefer !== prefer) {
    const previous = current?.info ?? Promise.resolve();
    current = {
      prefer,
      info: previous
        .catch(() => undefined)
        .then(() => chooseBackend({ prefer, loadWebGpu: () => import("../vendor/tfjs-webgpu.js") }))
    };
  }
  return current.info;
}

/** One line for the page: "wasm (SIMD with FMA, 4 threads)". */
export function describeBackend(info: BackendInfo): string {
  const details: string[] = [];
  if (info.name === "wasm") {
    // With relaxed SIMD the lab's matrix products (lib/wasm/simd.ts) use fused multiply-add.
    if (info.simd) details.push(relaxedSimdSupported() ? "SIMD with FMA" : "SIMD");
    details.push(info.threads > 1 ? `${info.threads} threads` : "1 thread");
  }
  if (info.name === "cpu") details.push("pure JavaScript");
  if (info.name === "webgpu" || info.name === "webgl") {
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
