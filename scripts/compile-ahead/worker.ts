import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import type { Tensor2D, Tensor } from "@tensorflow/tfjs";
import { installTf, tf } from "../../lib/tf.js";
import { presetConfig } from "../../lib/config.js";
import { TinyLM } from "../../lib/models/model.js";
import { AdamW } from "../../lib/train/optim.js";
installTf(tfjs as unknown as Parameters<typeof installTf>[0]);
const post = (m: unknown) => (self as unknown as Worker).postMessage(m);
self.onmessage = async (ev: MessageEvent) => {
  if (ev.data === "ping") { post({ pong: performance.now() }); return; }
  const mode = ev.data.mode as string;
  await tf.setBackend("webgpu"); await tf.ready();
  const backend = tf.backend() as any;
  // dispatch gaps
  let last = 0; let maxGap = 0; let n = 0;
  const orig = backend.runWebGPUProgram.bind(backend);
  backend.runWebGPUProgram = (...a: unknown[]) => { const t = performance.now(); if (last) maxGap = Math.max(maxGap, t - last); last = t; n++; return orig(...a); };
  const { model: mc, train } = presetConfig("nano");
  const B = train.batchSize, T = mc.blockSize;
  const rows = Array.from({ length: B }, (_, i) => Array.from({ length: T + 1 }, (_, j) => (i * 7 + j * 13) % 256));
  const x = tf.tensor2d(rows.map((r) => r.slice(0, T)), [B, T], "int32") as Tensor2D;
  const y = tf.tensor2d(rows.map((r) => r.slice(1)), [B, T], "int32") as Tensor2D;
  const model = TinyLM.create(mc, 7);
  const opt = new AdamW(model.params, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 1 });
  const vars = model.params.map((p) => p.variable);
  post({ phase: "built", B, T, at: performance.now() });
  if (mode === "precompile") {
    const t0 = performance.now();
    tf.env().set("WEBGPU_ENGINE_COMPILE_ONLY", true);
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => model.loss(x, y, { training: true }), vars);
      opt.apply(vars.map((v) => grads[v.name]), 1e-3, { dry: true });
    });
    tf.env().set("WEBGPU_ENGINE_COMPILE_ONLY", false);
    const t1 = performance.now();
    await backend.checkCompileCompletionAsync();
    post({ phase: "precompiled", dispatchMs: t1 - t0, waitMs: performance.now() - t1, programs: Object.keys(backend.pipelineCache).length, at: performance.now() });
  }
  for (let k = 0; k < 4; k++) {
    last = 0; maxGap = 0; n = 0;
    const t0 = performance.now();
    const [loss, norm] = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => model.loss(x, y, { training: true }), vars);
      return [value, opt.apply(vars.map((v) => grads[v.name]), 1e-3)];
    }) as Tensor[];
    const t1 = performance.now();
    const l = (await loss.data())[0];
    tf.dispose([loss, norm]);
    post({ phase: `step ${k + 1}`, loss: l, dispatchMs: t1 - t0, totalMs: performance.now() - t0, kernels: n, maxDispatchGapMs: maxGap, programs: Object.keys(backend.pipelineCache).length, at: performance.now() });
  }
  post({ phase: "end", tensors: tf.memory().numTensors });
};
