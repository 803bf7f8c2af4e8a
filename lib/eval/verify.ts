// Does a backend compute what another computes? One training step's loss and
// gradients of a small model on fixed bytes, on each backend, compared. The
// WebGPU and WebGL backends are known to return wrong numbers on some drivers;
// this is the check a reader (or a test) runs before trusting one.
import { chooseBackend, type BackendInfo, type BackendName } from "../backend.js";
import { presetConfig } from "../config.js";
import { TinyLM } from "../models/model.js";
import { tf } from "../tf.js";
import type { Tensor2D } from "@tensorflow/tfjs";

export interface BackendAgreement {
  candidate: BackendInfo;
  reference: BackendInfo;
  loss: number;
  referenceLoss: number;
  /** |loss - referenceLoss| / referenceLoss */
  lossRelDiff: number;
  /** Largest |gradient difference| over all parameters, relative to the largest |gradient|. */
  gradRelDiff: number;
  tolerance: number;
  agrees: boolean;
}

async function stepOn(prefer: BackendName, loadWebGpu?: () => Promise<unknown>): Promise<{ info: BackendInfo; loss: number; grads: Float32Array[] }> {
  const info = await chooseBackend({ prefer, verify: false, loadWebGpu });
  if (info.name !== prefer) throw new Error(`the ${prefer} backend is not available here (${info.fallbackReason ?? "no reason given"})`);
  const { model: mc } = presetConfig("nano", { model: { dModel: 32, nLayer: 2, nHead: 4, nKvHead: 2, ffnHidden: 64, blockSize: 32 } });
  const model = TinyLM.create(mc, 7);
  try {
    const T = mc.blockSize;
    const text = new TextEncoder().encode("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.");
    const rows = [0, 40].map((s) => Array.from(text.subarray(s, s + T + 1)));
    const x = tf.tensor2d(rows.map((r) => r.slice(0, T)), [2, T], "int32") as Tensor2D;
    const y = tf.tensor2d(rows.map((r) => r.slice(1, T + 1)), [2, T], "int32") as Tensor2D;
    const vars = model.variables();
    const { value, grads } = tf.variableGrads(() => model.loss(x, y), vars);
    const loss = (await value.data())[0];
    const out = await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array));
    tf.dispose([x, y, value, ...Object.values(grads)]);
    return { info, loss, grads: out };
  } finally {
    model.dispose();
  }
}

/**
 * Compare one training step on `candidate` with the same step on `reference`.
 * Leaves `candidate` as the current backend.
 */
export async function compareBackends(
  candidate: BackendName,
  { reference = "wasm", tolerance = 1e-3, loadWebGpu }: { reference?: BackendName; tolerance?: number; loadWebGpu?: () => Promise<unknown> } = {}
): Promise<BackendAgreement> {
  const ref = await stepOn(reference, loadWebGpu);
  const got = await stepOn(candidate, loadWebGpu);
  let maxGrad = 0;
  let maxDiff = 0;
  ref.grads.forEach((g, i) => {
    for (let j = 0; j < g.length; j++) {
      maxGrad = Math.max(maxGrad, Math.abs(g[j]));
      const d = Math.abs(g[j] - got.grads[i][j]);
      if (!(d <= maxDiff)) maxDiff = d;
    }
  });
  const lossRelDiff = Math.abs(got.loss - ref.loss) / Math.abs(ref.loss);
  const gradRelDiff = maxDiff / Math.max(maxGrad, 1e-12);
  return {
    candidate: got.info,
    reference: ref.info,
    loss: got.loss,
    referenceLoss: ref.loss,
    lossRelDiff,
    gradRelDiff,
    tolerance,
    agrees: lossRelDiff <= tolerance && gradRelDiff <= tolerance
  };
}
