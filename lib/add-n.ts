// tf.addN that stays within the WebGPU device's binding limit.
//
// tfjs-webgpu 4.22's AddN kernel compiles one shader with a storage-buffer binding
// per input plus one for the output, and never checks the device's
// maxStorageBuffersPerShaderStage. tfjs-webgpu asks for no more than WebGPU's default
// (8), whatever the adapter offers, so tf.addN of 8 or more tensors makes an invalid
// pipeline on every WebGPU device: Dawn only warns ("The number of storage buffers (21)
// in the Compute stage exceeds the maximum per-stage limit (8)"), the command buffer
// holding it (up to WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE kernels) is dropped, and AddN and
// its neighbours return whatever their pooled buffers held. scripts/webgpu-addn.ts shows
// it (data/runs/agreement/webgpu-addn.json). Here the inputs are summed in groups the
// device can bind, then the groups' sums, so no AddN exceeds the limit. Elsewhere
// (cpu, wasm, webgl) this is tf.addN itself, bit for bit.
import type { Tensor } from "@tensorflow/tfjs";
import { tf } from "./tf.js";

/** The most inputs one AddN may take on the current backend (Infinity where there is no limit). */
export function addNMaxInputs(): number {
  if (tf.getBackend() !== "webgpu") return Infinity;
  const limit = (tf.backend() as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device?.limits?.maxStorageBuffersPerShaderStage;
  // One binding is the output.
  return typeof limit === "number" && limit >= 3 ? limit - 1 : 7;
}

/** The sum of `tensors` (same shape): tf.addN, in groups of at most `maxInputs`. */
export function addN<T extends Tensor>(tensors: T[], maxInputs = addNMaxInputs()): T {
  if (!(maxInputs >= 2)) throw new Error(`addN: maxInputs must be at least 2, got ${maxInputs}`);
  if (tensors.length <= maxInputs) return tf.addN(tensors);
  return tf.tidy(() => {
    const groups: T[] = [];
    for (let i = 0; i < tensors.length; i += maxInputs) {
      const group = tensors.slice(i, i + maxInputs);
      groups.push(group.length === 1 ? group[0] : tf.addN(group));
    }
    return addN(groups, maxInputs);
  });
}
