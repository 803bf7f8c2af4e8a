// Weight sharing: a shared weight is one variable, its gradient is the sum over
// the layers that use it, LoRA corrections start at zero, and checkpoints store a
// shared weight once.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor, Tensor2D, Variable } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { Rng } from "../../lib/rng.js";
import { ConfigError, presetConfig, validateModelConfig, type ModelConfig } from "../../lib/config.js";
import { BLOCK_MATRICES, blockParamNames, parameterShapes, TinyLM } from "../../lib/models/model.js";
import { gelu, geluMlp, loraLinear } from "../../lib/models/blocks.js";
import { decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { ledger } from "../../lib/models/ledger.js";
import { SHARING_EXPERIMENTS, sharingExperiment, sharingVariant, SharingRun } from "../../lib/experiments/sharing.js";
import { TEXT as TEXT_BYTES } from "./fixtures.js";

await initNode();

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

const tiny = (model: Partial<ModelConfig> = {}): ModelConfig =>
  presetConfig("nano", { model: { dModel: 8, nLayer: 4, nHead: 2, nKvHead: 1, ffnHidden: 12, blockSize: 8, ...model } }).model;

/** N(0, scale) for every matrix (LoRA factors included), 1 + N(0, 0.1) for norms: larger than the real initialisation, so gradients are well above float32 noise. */
function randomWeights(c: ModelConfig, seed: number, scale = 0.3): Weights {
  const rng = new Rng(seed);
  const out: Weights = new Map();
  for (const { name, shape } of parameterShapes(c)) {
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (shape.length === 1 ? 1 + 0.1 * rng.normal() : scale * rng.normal()));
    out.set(name, { shape, data });
  }
  return out;
}

const batch = () => ({
  x: tf.tensor2d([[72, 101, 108, 108, 111, 32, 119, 111], [116, 104, 101, 32, 99, 97, 116, 32]], [2, 8], "int32") as Tensor2D,
  y: tf.tensor2d([[101, 108, 108, 111, 32, 119, 111, 114], [104, 101, 32, 99, 97, 116, 32, 115]], [2, 8], "int32") as Tensor2D
});

async function gradients(model: TinyLM, x: Tensor2D, y: Tensor2D): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const vars = model.variables();
  const { value, grads } = tf.variableGrads(() => model.loss(x, y), vars);
  const out = new Map<string, Float32Array>();
  for (const p of model.params) out.set(p.name, (await grads[p.variable.name].data()) as Float32Array);
  const loss = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: out };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const SHARED = tiny({ shareFfn: true, shareAttnOut: true, interiorMargin: 1, nLayer: 5 });

test("a shared weight is a single variable that every layer using it reads", () => {
  const model = TinyLM.create(SHARED, 1);
  const names = model.params.map((p) => p.name);
  assert.equal(new Set(names).size, names.length, "no parameter appears twice");
  assert.equal(new Set(model.variables()).size, names.length, "one variable per parameter");
  for (const n of ["shared.mlp.w1", "shared.mlp.w3", "shared.mlp.w2", "shared.attn.wo", "interior.attn.wq", "interior.attnNorm"]) assert.ok(names.includes(n), n);
  assert.ok(!names.some((n) => /^blocks\.\d+\.(mlp\.|attn\.wo)/.test(n)), "no layer keeps its own MLP or output projection");
  assert.ok(!names.some((n) => /^blocks\.[123]\./.test(n)), "layers 1-3 are the interior and own nothing");
  assert.ok(names.includes("blocks.0.attn.wq") && names.includes("blocks.4.attn.wq"), "the first and last layers keep their own attention");
  for (let l = 0; l < SHARED.nLayer; l++) assert.equal(blockParamNames(SHARED, l).matrices["mlp.w1"], "shared.mlp.w1");
  model.dispose();
});

test("a shared weight receives the sum of the gradients its uses would get as separate weights", async () => {
  // The same network written twice: once with sharing, once unshared with each
  // layer holding a copy of the weight it reads.
  const sharedWeights = randomWeights(SHARED, 3);
  const shared = TinyLM.fromWeights(SHARED, sharedWeights);
  const plainConfig = { ...SHARED, shareFfn: false, shareAttnOut: false, interiorMargin: -1 };
  const plainWeights: Weights = new Map();
  const uses = new Map<string, string[]>(); // shared name -> the unshared names that copy it
  const copy = (from: string, to: string) => {
    plainWeights.set(to, sharedWeights.get(from)!);
    uses.set(from, [...(uses.get(from) ?? []), to]);
  };
  for (const n of ["embed", "finalNorm"]) copy(n, n);
  for (let l = 0; l < SHARED.nLayer; l++) {
    const names = blockParamNames(SHARED, l);
    copy(names.attnNorm, `blocks.${l}.attnNorm`);
    copy(names.mlpNorm, `blocks.${l}.mlpNorm`);
    for (const m of BLOCK_MATRICES) copy(names.matrices[m]!, `blocks.${l}.${m}`);
  }
  const plain = TinyLM.fromWeights(plainConfig, plainWeights);
  const { x, y } = batch();
  const before = tf.memory().numTensors;
  const [gs, gp] = [await gradients(shared, x, y), await gradients(plain, x, y)];
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(gs.loss - gp.loss) < 1e-5, "both write the same function");
  assert.equal(uses.get("shared.mlp.w1")!.length, 5);
  assert.equal(uses.get("interior.attn.wq")!.length, 3);
  for (const [name, copies] of uses) {
    const sum = new Float32Array(gs.grads.get(name)!.length);
    for (const c of copies) gp.grads.get(c)!.forEach((g, i) => (sum[i] += g));
    const scale = Math.max(...sum.map(Math.abs));
    assert.ok(scale > 0, `${name} has a gradient`);
    assert.ok(maxAbsDiff(gs.grads.get(name)!, sum) <= 1e-4 * Math.max(1, scale), `${name}: gradient is the sum over ${copies.join(", ")}`);
  }
  tf.dispose([x, y]);
  shared.dispose();
  plain.dispose();
});

test("the gradient of a shared weight matches finite differences of the loss", async () => {
  const model = TinyLM.fromWeights(SHARED, randomWeights(SHARED, 5));
  const { x, y } = batch();
  const { grads } = await gradients(model, x, y);
  const lossNow = () => tf.tidy(() => model.loss(x, y).dataSync()[0]);
  const eps = 1e-2;
  for (const name of ["shared.mlp.w1", "shared.mlp.w2", "shared.attn.wo", "interior.attn.wq"]) {
    const v: Variable = model.param(name);
    const original = (await v.data()) as Float32Array;
    const g = grads.get(name)!;
    // The three coordinates with the largest gradients: the float32 loss resolves them well.
    const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
    for (const j of top) {
      const at = (delta: number) => {
        const moved = original.slice();
        moved[j] += delta;
        tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
        return lossNow();
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
      assert.ok(Math.abs(numeric - g[j]) <= 0.03 * Math.abs(g[j]) + 2e-4, `${name}[${j}]: analytic ${g[j]} vs numeric ${numeric}`);
    }
  }
  tf.dispose([x, y]);
  model.dispose();
});

test("LoRA at initialisation leaves the model's output unchanged, and its corrections do get gradients", async () => {
  const withLora = tiny({ nLayer: 5, interiorMargin: 1, loraRank: 2 });
  const lora = TinyLM.create(withLora, 7);
  const weights = await lora.weights();
  const bs = [...weights].filter(([n]) => n.includes(".lora.") && n.endsWith(".b"));
  const as = [...weights].filter(([n]) => n.includes(".lora.") && n.endsWith(".a"));
  assert.equal(bs.length, 3 * 7, "each of the 3 interior layers corrects its 7 matrices");
  assert.ok(bs.every(([, w]) => w.data.every((v) => v === 0)), "B starts at zero");
  assert.ok(as.every(([, w]) => w.data.some((v) => v !== 0)), "A does not (or the correction could never grow)");
  const plain = TinyLM.fromWeights({ ...withLora, loraRank: 0 }, new Map([...weights].filter(([n]) => !n.includes(".lora."))));
  const { x, y } = batch();
  const [a, b] = tf.tidy(() => [lora.forward(x).logits.dataSync(), plain.forward(x).logits.dataSync()]);
  assert.equal(maxAbsDiff(a, b), 0);
  const { grads } = await gradients(lora, x, y);
  assert.ok(bs.some(([n]) => grads.get(n)!.some((g) => g !== 0)), "B is trained");
  tf.dispose([x, y]);
  lora.dispose();
  plain.dispose();
});

test("a checkpoint stores a shared weight once and reloads the same model", async () => {
  const model = TinyLM.create({ ...SHARED, ffnType: "gelu", loraRank: 2 }, 2);
  const weights = await model.weights();
  const bytes = encodeCheckpoint({ spec: model.spec, trainConfig: presetConfig("nano").train, weights, meta: {} });
  const back = decodeCheckpoint(bytes);
  assert.deepEqual([...back.weights.keys()], model.params.map((p) => p.name));
  assert.equal([...back.weights.keys()].filter((n) => n.endsWith("mlp.w1")).length, 1);
  assert.ok(!back.weights.has("shared.mlp.w3"), "a GELU MLP has two matrices");
  const reloaded = modelFromCheckpoint(back);
  const { x } = batch();
  const [a, b] = tf.tidy(() => [model.forward(x).logits.dataSync(), reloaded.forward(x).logits.dataSync()]);
  assert.equal(maxAbsDiff(a, b), 0);
  x.dispose();
  model.dispose();
  reloaded.dispose();
});

test("gelu is x times the normal CDF, and the GELU MLP and LoRA linear have gradients that match finite differences", async () => {
  const g = tf.tidy(() => gelu(tf.tensor2d([[-1, 0, 1, 2]])).dataSync());
  [-0.158655, 0, 0.841345, 1.954500].forEach((v, i) => assert.ok(Math.abs(g[i] - v) < 1e-5, `gelu: ${g[i]} vs ${v}`));
  const rng = new Rng(9);
  const t = (shape: [number, number]) => tf.tensor2d(Float32Array.from({ length: shape[0] * shape[1] }, () => rng.normal()), shape);
  const cases: [string, (...xs: Tensor[]) => Tensor, Tensor[]][] = [
    ["geluMlp", (x, w1, w2) => geluMlp(x as Tensor2D, w1 as Tensor2D, w2 as Tensor2D), [t([3, 4]), t([4, 5]), t([5, 4])]],
    ["loraLinear", (x, w, a, b) => loraLinear(x as Tensor2D, w as Tensor2D, a as Tensor2D, b as Tensor2D), [t([3, 4]), t([4, 5]), t([4, 2]), t([2, 5])]]
  ];
  for (const [name, f, inputs] of cases) {
    const probe = tf.tidy(() => tf.randomNormal(f(...inputs).shape, 0, 1, "float32", 3));
    const loss = (...xs: Tensor[]) => tf.sum(tf.mul(f(...xs), probe));
    const grads = tf.grads(loss)(inputs);
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i].dataSync() as Float32Array;
      const gi = grads[i].dataSync();
      for (let j = 0; j < x.length; j += 3) {
        const at = (d: number) => tf.tidy(() => {
          const moved = x.slice();
          moved[j] += d;
          return loss(...inputs.map((u, k) => (k === i ? tf.tensor(moved, u.shape) : u))).dataSync()[0];
        });
        const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
        assert.ok(Math.abs(numeric - gi[j]) <= 2e-2 * Math.max(1, Math.abs(numeric)), `${name}: d/dinput${i}[${j}] ${gi[j]} vs ${numeric}`);
      }
    }
    tf.dispose([probe, ...grads, ...inputs]);
  }
});

const badSharing: [string, Partial<ModelConfig>, RegExp][] = [
  ["ffnType", { ffnType: "relu" as ModelConfig["ffnType"] }, /ffnType: must be one of "swiglu", "gelu"/],
  ["shareFfn", { shareFfn: 1 as unknown as boolean }, /shareFfn: must be true or false/],
  ["shareAttnOut", { shareAttnOut: "no" as unknown as boolean }, /shareAttnOut: must be true or false/],
  ["interiorMargin", { interiorMargin: -2 }, /interiorMargin: must be an integer >= 0/],
  ["interiorMargin", { interiorMargin: 2 }, /interiorMargin: leaves 0 interior layer\(s\) of nLayer=4; sharing needs at least 2 \(use at most 1/],
  ["loraRank", { loraRank: 1.5, interiorMargin: 0 }, /loraRank: must be an integer >= 0/],
  ["loraRank", { loraRank: 4 }, /loraRank: corrects the layers of interior sharing, so it needs interiorMargin >= 0/]
];

for (const [field, change, message] of badSharing) {
  test(`a model config with ${field} = ${JSON.stringify(Object.values(change)[0])} is refused naming the field`, () => {
    assert.throws(() => validateModelConfig({ ...presetConfig("nano").model, ...change }), (e: Error) => e instanceof ConfigError && message.test(e.message));
  });
}

test("a config saved before the sharing settings existed reads as the unshared SwiGLU model", () => {
  const { ffnType, shareFfn, shareAttnOut, interiorMargin, loraRank, ...old } = presetConfig("nano").model;
  const c = validateModelConfig(old as ModelConfig);
  assert.deepEqual([c.ffnType, c.shareFfn, c.shareAttnOut, c.interiorMargin, c.loraRank], [ffnType, shareFfn, shareAttnOut, interiorMargin, loraRank]);
  assert.deepEqual(parameterShapes(c), parameterShapes(presetConfig("nano").model));
});

test("each A/B experiment compares two models within 0.2% of the same parameter count", () => {
  for (const e of SHARING_EXPERIMENTS) {
    const [a, b] = e.arms.map((arm) => ledger(arm.model).unique);
    assert.ok(Math.abs(a - b) / a < 0.002, `${e.id}: ${a} vs ${b}`);
  }
});

test("a page variant that breaks a rule comes back as the config's own message", () => {
  const ok = sharingVariant("stlm-10m", { tieEmbeddings: true, shareFfn: true, shareAttnOut: true, interiorMargin: -1, loraRank: 0, vocabSize: 9984, bytePooling: true });
  assert.ok("ledger" in ok && ok.ledger.byGroup["byte decoder"].unique > 0 && ok.ledger.byGroup.embedding.unique === 0);
  const bad = sharingVariant("nano", { tieEmbeddings: true, shareFfn: false, shareAttnOut: false, interiorMargin: 3, loraRank: 0, vocabSize: 258, bytePooling: false });
  assert.ok("error" in bad && /interiorMargin: leaves -2 interior layer/.test(bad.error), JSON.stringify(bad));
});

test("an A/B run trains both arms in turn on the same batches and frees every tensor it made", async () => {
  const before = tf.memory().numTensors;
  const run = new SharingRun(sharingExperiment("tying"), { train: TEXT_BYTES, val: TEXT_BYTES.subarray(0, 300) }, { steps: 2, evalEvery: 0, evalBytes: 200 });
  const order: string[] = [];
  for await (const { arm, event } of run.events()) order.push(`${arm}:${event.kind}`);
  run.dispose();
  assert.deepEqual(order, ["0:step", "1:step", "0:step", "1:step", "0:eval", "0:done", "1:eval", "1:done"]);
  assert.deepEqual(run.records.map((r) => r.parameters), [246592, 246208]);
  assert.ok(run.records.every((r) => r.evals.length === 1 && r.steps.length === 2 && r.tokensPerSecond > 0));
  assert.equal(tf.memory().numTensors, before);
});
