// `stlm bench` on the local-stack presets, and its PyTorch twin
// (scripts/reference_localstack_torch.py): the same parameter count and model
// shape, and the same loss and gradients on the same weights and batch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor2D } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { localStackChunkSlots, localStackFlopsPerStep, runBench } from "../../lib/eval/bench.js";
import { checkBenchFits } from "../../lib/cli/bench.js";
import { UsageError } from "../../lib/cli/args.js";
import { tokenizerFreeConfig } from "../../lib/experiments/tokenizer-free.js";
import { createModel, modelFromWeights, type TensorMap } from "../../lib/models/models.js";
import type { LocalStackConfig } from "../../lib/models/localstack.js";
import { encodeSafetensors } from "../../lib/train/safetensors.js";
import { Rng } from "../../lib/rng.js";
import { PAD } from "../../lib/text/tokenizer.js";
import { PYTHON, pythonReader } from "./safetensors-python.js";
import { TEXT } from "./fixtures.js";
import { stlm } from "./stlm.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TWIN = path.join(ROOT, "scripts/reference_localstack_torch.py");
const NO_TORCH = "Debian's /usr/bin/python3 lacks torch here: apt-get install python3-torch to compare with the PyTorch twin";

function twin(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(PYTHON, [TWIN, "--threads", "1", ...args], { encoding: "utf8", timeout: 300_000, maxBuffer: 1 << 24 });
}

const hasTorch = () => pythonReader()?.torch === true;

await initNode();

test("stlm bench --preset local-stride4 runs a step, leaks no tensor, and reports the PyTorch twin's parameter count and shape", async (t) => {
  const b = await stlm("bench", "--preset", "local-stride4", "--batch", "2", "--steps", "1", "--warmup", "0", "--json");
  assert.equal(b.code, 0, b.stderr);
  const r = JSON.parse(b.stdout);
  assert.equal(r.preset, "local-stride4");
  assert.equal(r.params, 919168);
  assert.deepEqual(r.model, { ctx: 128, stride: 4, window: 64, byteDim: 128, byteHeads: 4, byteFfn: 384, encoderLayers: 1, decoderLayers: 1, dModel: 128, layers: 2, heads: 4, ffn: 384, batch: 2, chunkSlots: 32 });
  assert.equal(r.steps, 1);
  assert.ok(r.tokensPerSecond > 0);
  assert.equal(r.tensorsLeaked, 0);
  const c = tokenizerFreeConfig("local-stride", undefined, 128) as LocalStackConfig;
  assert.equal(r.gflopPerStep, Math.round(localStackFlopsPerStep(c, 2) / 1e6) / 1e3);

  if (!hasTorch()) return t.skip(NO_TORCH);
  const p = twin("--batch", "2", "--steps", "1", "--warmup", "0", "--json");
  assert.equal(p.status, 0, p.stderr);
  const py = JSON.parse(p.stdout);
  assert.equal(py.params, r.params, "the twin has the lab's parameter count");
  assert.deepEqual(py.model, r.model, "and the same model shape, named the same");
  assert.deepEqual(Object.keys(py).sort(), ["medianStepSeconds", "model", "params", "preset", "steps", "system", "threads", "tokensPerSecond", "torch"]);
});

test("stlm bench refuses a local-stack context that is not a multiple of the 64-byte window, and a step too large for wasm's heap", async () => {
  const bad = await stlm("bench", "--preset", "local-stride4", "--ctx", "100");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--preset local-stride4 needs a context that is a multiple of 64 bytes .*; got 100: try 64 or 128/);
  assert.throws(() => checkBenchFits("local-entropy", 1, 32), /multiple of 64 bytes .*got 32: try 64/);
  await assert.rejects(runBench({ preset: "local-word", ctx: 96, steps: 1 }), RangeError);
  for (const [batch, ctx] of [[16, 128], [64, 128], [1, 2048], [4, 2048]]) assert.doesNotThrow(() => checkBenchFits("local-stride4", batch, ctx), `${batch} x ${ctx}`);
  assert.throws(() => checkBenchFits("local-stride4", 64, 2048), UsageError);
  assert.doesNotThrow(() => checkBenchFits("local-stride4", undefined, undefined), "the default shape fits");
});

test("the local-word and local-entropy benches run a step at a chosen context and batch and leak no tensor", async () => {
  for (const preset of ["local-word", "local-entropy"]) {
    const r = await runBench({ preset, ctx: 64, batch: 1, steps: 1, warmup: 0 });
    assert.equal(r.params, 919168, preset);
    assert.equal(r.model.ctx, 64, preset);
    assert.equal(r.model.batch, 1, preset);
    assert.equal(r.model.maxChunk, 12, preset);
    assert.ok((r.model.chunkSlots as number) >= 8 && (r.model.chunkSlots as number) % 8 === 0, preset);
    assert.equal(r.tensorsLeaked, 0, preset);
  }
  assert.equal(localStackChunkSlots(tokenizerFreeConfig("local-stride", undefined, 2048) as LocalStackConfig), 512);
});

test("the PyTorch twin computes the lab's loss and gradients on the lab's weights and batch", async (t) => {
  if (!hasTorch()) return t.skip(NO_TORCH);
  const spec = tokenizerFreeConfig("local-stride", undefined, 128) as LocalStackConfig;
  // Weights far from the init (non-zero start vector, norms off 1, larger
  // matrices), so that every path, the core's included, moves the loss.
  const base = createModel(spec, 1);
  const rng = new Rng(7);
  const weights: TensorMap = new Map();
  for (const [name, w] of await base.weights()) {
    const data = new Float32Array(w.data.length);
    for (let i = 0; i < data.length; i++) data[i] = w.shape.length === 1 ? (name === "global.start" ? 0.5 : 1) + 0.2 * rng.normal() : 0.08 * rng.normal();
    weights.set(name, { shape: w.shape, data });
  }
  base.dispose();
  const before = tf.memory().numTensors;
  const model = modelFromWeights(spec, weights);
  // Two rows of text; the second ends after 101 bytes (PAD after, not scored).
  const B = 2;
  const T = 128;
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  for (let t = 0; t < T; t++) {
    x[t] = TEXT[t];
    y[t] = TEXT[t + 1];
    x[T + t] = t < 101 ? TEXT[300 + t] : PAD;
    y[T + t] = t < 100 ? TEXT[301 + t] : PAD;
  }
  const vars = model.params.map((p) => p.variable);
  const { loss, norms } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => model.loss(tf.tensor2d(x, [B, T], "int32") as Tensor2D, tf.tensor2d(y, [B, T], "int32") as Tensor2D, { training: false }), vars);
    return { loss: value.dataSync()[0], norms: model.params.map((p) => [p.name, tf.norm(grads[p.variable.name]).dataSync()[0]] as const) };
  });
  model.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");

  const file = path.join(await mkdtemp(path.join(tmpdir(), "stlm-localstack-twin-")), "check.safetensors");
  const tensors = [...weights].map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  tensors.push({ name: "check.x", shape: [B, T], data: Float32Array.from(x) }, { name: "check.y", shape: [B, T], data: Float32Array.from(y) });
  await writeFile(file, encodeSafetensors(tensors, {}));
  const p = twin("--check", file);
  assert.equal(p.status, 0, p.stderr);
  const py = JSON.parse(p.stdout) as { loss: number; gradNorm: number; chunkSlots: number; gradNorms: Record<string, number> };
  assert.equal(py.chunkSlots, 32);
  assert.ok(Math.abs(py.loss - loss) < 1e-4, `loss: lab ${loss}, PyTorch ${py.loss}`);
  const labNorm = Math.hypot(...norms.map(([, n]) => n));
  assert.ok(Math.abs(py.gradNorm - labNorm) < 1e-3 * labNorm, `gradient norm: lab ${labNorm}, PyTorch ${py.gradNorm}`);
  for (const [name, n] of norms) {
    assert.ok(Math.abs(py.gradNorms[name] - n) < 1e-3 * n + 1e-6, `${name}: gradient norm lab ${n}, PyTorch ${py.gradNorms[name]}`);
  }
  t.diagnostic(`loss: lab ${loss.toFixed(6)}, PyTorch ${py.loss.toFixed(6)} (|difference| ${Math.abs(loss - py.loss).toExponential(1)}); gradient norm: lab ${labNorm.toFixed(6)}, PyTorch ${py.gradNorm.toFixed(6)}`);
});
