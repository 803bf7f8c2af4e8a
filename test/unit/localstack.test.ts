// The local-stack byte model (lib/models/localstack.ts) and entropy boundaries (lib/text/entropy.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Tensor2D } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { LocalStackLM, localStackConfig, spaceByteSpans, type LocalStackConfig, type LocalStackStrategy } from "../../lib/models/localstack.js";
import { byteEntropies, entropySpans, trainEntropyModel } from "../../lib/text/entropy.js";
import { checkSpans } from "../../lib/text/boundaries.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { Trainer } from "../../lib/train/trainer.js";
import { decodeCheckpoint, encodeCheckpoint, labModelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { createModel, type LabModel, type ModelSpec } from "../../lib/models/models.js";
import { tokenizerFreeConfig } from "../../lib/experiments/tokenizer-free.js";
import { encodeText } from "../../lib/text/tokenizer.js";
import { loadCorpus } from "../../lib/node/data.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

const PROSE = encodeText(
  "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. " +
    "However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed."
);
const ENTROPY = trainEntropyModel(TEXT);

function tiny(strategy: LocalStackStrategy, over: Partial<LocalStackConfig> = {}): LocalStackConfig {
  return localStackConfig({
    strategy,
    stride: 4,
    maxChunk: 12,
    byteWindow: 64,
    localDim: 16,
    localHeads: 2,
    localFfn: 32,
    localWindow: 16,
    encoderLayers: 1,
    decoderLayers: 1,
    core: { ...tinyConfigs().model, nLayer: 1 },
    ...(strategy === "entropy" ? { entropy: ENTROPY } : {}),
    ...over
  });
}

const ids = (bytes: Uint8Array) => tf.tensor2d(Int32Array.from(bytes), [1, bytes.length], "int32") as Tensor2D;
const logitsOf = (model: LocalStackLM, bytes: Uint8Array) => tf.tidy(() => model.forward(ids(bytes)).logits.dataSync() as Float32Array);

for (const strategy of ["stride", "word", "entropy"] as const) {
  test(`local stack (${strategy}): changing byte t changes no prediction of a byte at or before t, across chunk boundaries too`, () => {
    const model = LocalStackLM.create(tiny(strategy), 3);
    const row = PROSE.subarray(0, 64);
    const base = logitsOf(model, row);
    const spans = model.spans(row);
    // Every chunk start and end, and bytes in between.
    const positions = new Set<number>([5, 17, 33, 50, 63]);
    for (const [s, e] of spans) for (const p of [s, e - 1, e]) if (p > 0 && p < row.length) positions.add(p);
    let changedAfter = 0;
    for (const p of positions) {
      const bent = row.slice();
      bent[p] = bent[p] === 0x20 ? 0x51 : 0x20; // a space where there was none, or a letter for a space: boundaries move
      const got = logitsOf(model, bent);
      const V = 258;
      for (let t = 0; t < p; t++) {
        for (let v = 0; v < V; v++) {
          if (got[t * V + v] !== base[t * V + v]) assert.fail(`changing byte ${p} changed the prediction at position ${t} (which predicts byte ${t + 1} <= ${p})`);
        }
      }
      if (got.slice(p * V).some((x, i) => x !== base[p * V + i])) changedAfter++;
    }
    assert.ok(changedAfter >= positions.size - 1, "changes do reach the predictions after them (the test can fail)");
    model.dispose();
  });
}

test("entropy boundaries before byte t read only bytes before t, and the threshold gives chunks of about 4 bytes", async () => {
  const austen = (await loadCorpus("austen")).train.subarray(0, 400_000);
  for (const mode of ["global", "relative"] as const) {
    const model = trainEntropyModel(austen.subarray(0, 300_000), { mode });
    const held = austen.subarray(300_000);
    const spans = entropySpans(held, model, 12);
    assert.equal(checkSpans(spans, held.length, 12), null);
    const mean = held.length / spans.length;
    assert.ok(mean > 3.5 && mean < 4.5, `${mode}: mean chunk ${mean.toFixed(2)} bytes on held-out text`);
  }
  const starts = (b: Uint8Array) => new Set(entropySpans(b, ENTROPY, 12).map(([s]) => s));
  const h = byteEntropies(ENTROPY, PROSE);
  for (const p of [10, 40, 90]) {
    const bent = PROSE.slice();
    bent[p] ^= 0x20;
    const h2 = byteEntropies(ENTROPY, bent);
    for (let t = 0; t <= p; t++) assert.equal(h2[t], h[t], `H(${t}) after a change at ${p}`);
    const [a, b] = [starts(PROSE), starts(bent)];
    for (let t = 0; t <= p; t++) assert.equal(a.has(t), b.has(t), `boundary at ${t} after a change at ${p}`);
  }
});

test("SpaceByte's word boundaries start a chunk at a letter after a space or punctuation", () => {
  const spans = spaceByteSpans(encodeText("It is, a truth."), 12);
  assert.deepEqual(spans, [[0, 3], [3, 7], [7, 9], [9, 15]]);
});

test("a local stack's bits per byte equal the sum of its per-byte log-probabilities", async () => {
  const model = LocalStackLM.create(tiny("word"), 5);
  const bytes = PROSE.subarray(0, 65);
  const bpb = await bitsPerByte(model, bytes);
  const lp = tf.tidy(() => model.tokenLogProbs(ids(bytes.subarray(0, 64)), ids(bytes.subarray(1, 65))).dataSync());
  const manual = -Array.from(lp).reduce((a, b) => a + b, 0) / 64 / Math.LN2;
  assert.ok(Math.abs(bpb - manual) < 1e-5, `${bpb} vs ${manual}`);
  model.dispose();
});

test("a local stack trains through the Trainer, its loss falls, and no tensor leaks", async () => {
  const before = tf.memory().numTensors;
  const model = LocalStackLM.create(tiny("stride"), 1);
  const { train } = tinyConfigs({}, { steps: 40, batchSize: 4 });
  const trainer = new Trainer({ model, data: sampler(), train });
  const losses: number[] = [];
  const counts: number[] = [];
  for await (const e of trainer.run()) {
    if (e.kind === "step") {
      losses.push(e.loss);
      if (e.step % 10 === 0) counts.push(tf.memory().numTensors);
    }
  }
  assert.ok(losses[losses.length - 1] < losses[0] - 1, `loss ${losses[0]} -> ${losses[losses.length - 1]}`);
  assert.equal(new Set(counts.slice(1)).size, 1, `tensors per step: ${counts}`);
  trainer.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("sampling a local stack with a fixed seed reproduces, and greedy sampling is the argmax", async () => {
  const model = LocalStackLM.create(tiny("entropy"), 2);
  const prompt = encodeText("It is a ");
  const a = await model.generate(prompt, { tokens: 12, temperature: 0.9, seed: 4 });
  const b = await model.generate(prompt, { tokens: 12, temperature: 0.9, seed: 4 });
  assert.deepEqual(a, b);
  assert.equal(a.length, 12);
  const greedy = await model.generate(prompt, { tokens: 1, temperature: 0 });
  const logits = logitsOf(model, prompt).slice(7 * 258, 8 * 258).slice(0, 256);
  assert.equal(greedy[0], logits.indexOf(Math.max(...logits)));
  model.dispose();
});

const RESUMABLE: [string, () => ModelSpec][] = [
  ["a local-stack (entropy)", () => tiny("entropy")],
  ["a stride-pooled (causal decoder)", () => tokenizerFreeConfig("stride", undefined, 32, { causalDecoder: true })]
];
for (const [what, make] of RESUMABLE) test(`${what} checkpoint round-trips and resumes bit-identically`, async () => {
  const spec = make();
  const { train } = tinyConfigs({}, { steps: 8, batchSize: 2 });
  const losses = async (t: Trainer) => {
    const out: number[] = [];
    for await (const e of t.run()) if (e.kind === "step") out.push(e.loss);
    return out;
  };
  const straight = createModel(spec, 9);
  const s = new Trainer({ model: straight, data: sampler(), train });
  const all = await losses(s);
  s.dispose();
  straight.dispose();

  const first = createModel(spec, 9);
  const t1 = new Trainer({ model: first, data: sampler(), train });
  for await (const e of t1.run()) if (e.kind === "step" && e.step === 3) t1.stop();
  const bytes = encodeCheckpoint({ spec: first.spec, trainConfig: train, weights: await first.weights(), trainer: await t1.state(), meta: {} });
  t1.dispose();
  first.dispose();
  const ckpt = decodeCheckpoint(bytes);
  assert.equal(ckpt.spec.kind, spec.kind);
  const back: LabModel = labModelFromCheckpoint(ckpt);
  const t2 = new Trainer({ model: back, data: sampler(), train: ckpt.trainConfig, state: ckpt.trainer });
  assert.deepEqual(await losses(t2), all.slice(3));
  t2.dispose();
  back.dispose();
});

test("BPE boundaries are refused for the local stack, saying why", () => {
  assert.throws(() => tiny("bpe" as LocalStackStrategy), /strategy: must be stride, word, entropy \(BPE boundaries look ahead inside a word/);
});
