// The page scripts/webgpu-addn.ts bundles and opens in headless Chromium (WebGPU on
// SwiftShader): tfjs's own tf.addN against the lab's addN (lib/add-n.ts), and 4 AdamW
// steps of a small model through the lab's optimizer, on one backend at a time.
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import type { Tensor, Tensor2D } from "@tensorflow/tfjs";
import { installTf, tf } from "../../lib/tf.js";
import { addN } from "../../lib/add-n.js";
import { presetConfig } from "../../lib/config.js";
import { TinyLM } from "../../lib/models/model.js";
import { AdamW } from "../../lib/train/optim.js";

installTf(tfjs as unknown as Parameters<typeof installTf>[0]);

/** The scalars 1..n summed by `sum`, with one kernel queued before and one after it (their results too). */
async function sumOfScalars(n: number, sum: (xs: Tensor[]) => Tensor) {
  const xs = Array.from({ length: n }, (_, i) => tf.scalar(i + 1));
  const before = tf.add(xs[0], 100);
  const total = sum(xs);
  const after = tf.mul(xs[0], 1000);
  const read = async (t: Tensor) => (await t.data())[0];
  const out = { n, sum: await read(total), expected: (n * (n + 1)) / 2, before: await read(before), beforeExpected: 101, after: await read(after), afterExpected: 1000 };
  tf.dispose([...xs, before, total, after]);
  return out;
}

/** Four AdamW steps (lr 1e-2, clip 1) of /bench's check model on two fixed rows: each step's loss and pre-clip gradient norm. */
async function adamSteps() {
  const { model: mc } = presetConfig("nano", { model: { dModel: 32, nLayer: 2, nHead: 4, nKvHead: 2, ffnHidden: 64, blockSize: 32 } });
  const T = mc.blockSize;
  const text = new TextEncoder().encode("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.");
  const rows = [0, 40].map((s) => Array.from(text.subarray(s, s + T + 1)));
  const x = tf.tensor2d(rows.map((r) => r.slice(0, T)), [2, T], "int32") as Tensor2D;
  const y = tf.tensor2d(rows.map((r) => r.slice(1, T + 1)), [2, T], "int32") as Tensor2D;
  const model = TinyLM.create(mc, 7);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 });
  const steps: { loss: number; norm: number }[] = [];
  for (let k = 0; k < 4; k++) {
    const [loss, norm] = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(x, y), model.params.map((p) => p.variable));
      return [value, opt.apply(model.params.map((p) => grads[p.variable.name]), 1e-2)];
    });
    steps.push({ loss: (await loss.data())[0], norm: (await norm.data())[0] });
    tf.dispose([loss, norm]);
  }
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return { parameters: model.params.length, steps };
}

(globalThis as Record<string, unknown>).runOn = async (backend: string) => {
  if (!(await tf.setBackend(backend))) throw new Error(`no ${backend} backend here`);
  await tf.ready();
  const before = tf.memory().numTensors;
  const limits = (tf.backend() as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device?.limits;
  const counts = [2, 7, 8, 20];
  const tfjsAddN = [];
  for (const n of counts) tfjsAddN.push(await sumOfScalars(n, (xs) => tf.addN(xs)));
  const labAddN = [];
  for (const n of counts) labAddN.push(await sumOfScalars(n, (xs) => addN(xs)));
  const adamw = await adamSteps();
  return { backend: tf.getBackend(), maxStorageBuffersPerShaderStage: limits?.maxStorageBuffersPerShaderStage ?? null, tfjsAddN, labAddN, adamw, tensorsLeft: tf.memory().numTensors - before };
};
(globalThis as Record<string, unknown>).pageReady = true;
