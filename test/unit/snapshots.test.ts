// Training snapshots (lib/train/snapshots.ts): taken at the stated steps, for every
// model kind, without leaking tensors, and continued bit-identically by a resume.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../lib/tf.js";
import { initNode } from "../../lib/node/runtime.js";
import { TinyLM } from "../../lib/models/model.js";
import { PooledLM, pooledConfig } from "../../lib/models/pooled.js";
import { TokenLM, tokenModelConfig } from "../../lib/models/tokenmodel.js";
import { LocalStackLM, localStackConfig } from "../../lib/models/localstack.js";
import { ObjectiveLM } from "../../lib/models/objectives.js";
import { createModel, modelFromWeights, type LabModel } from "../../lib/models/models.js";
import { trainBpe } from "../../lib/text/bpe.js";
import { Trainer } from "../../lib/train/trainer.js";
import {
  autoSnapshotEvery,
  defaultSnapshotConfig,
  dequantiseMap,
  isSnapshotStep,
  parseSnapshots,
  quantiseMap,
  takeSnapshot,
  type Snapshot,
  type SnapshotConfig
} from "../../lib/train/snapshots.js";
import { TEXT, sampler, tinyConfigs } from "./fixtures.js";

await initNode();

const CONFIG: SnapshotConfig = { ...defaultSnapshotConfig(4), sampleBytes: 12 };

test("isSnapshotStep() is true at step 0, at every multiple of the interval and at the last step", () => {
  const steps = Array.from({ length: 11 }, (_, s) => s).filter((s) => isSnapshotStep(s, 4, 10));
  assert.deepEqual(steps, [0, 4, 8, 10]);
  assert.equal(isSnapshotStep(5, 0, 10), false, "interval 0: none");
  assert.equal(autoSnapshotEvery(500), 25);
  assert.equal(autoSnapshotEvery(7), 1);
});

test("quantiseMap() keeps the lower triangle, each weight to within 1/510", () => {
  const P = 5;
  const map = new Float32Array(P * P);
  for (let q = 0; q < P; q++) {
    let sum = 0;
    for (let k = 0; k <= q; k++) sum += (map[q * P + k] = Math.random());
    for (let k = 0; k <= q; k++) map[q * P + k] /= sum;
  }
  const qm = quantiseMap(map, P);
  assert.equal(qm.length, 15);
  assert.ok(qm.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
  const back = dequantiseMap(qm, P);
  for (let i = 0; i < P * P; i++) assert.ok(Math.abs(back[i] - map[i]) <= 1 / 510 + 1e-7, `weight ${i}`);
  assert.throws(() => dequantiseMap(qm.slice(1), P), /5 positions has 15 values, got 14/);
});

const BPE = trainBpe(TEXT, 300);
const tiny = tinyConfigs();
const kinds: [string, () => LabModel, string][] = [
  ["a byte model", () => TinyLM.create(tiny.model, 1), "byte"],
  ["a multi-byte-prediction model", () => ObjectiveLM.create(tiny.model, { kind: "mtp", heads: 2, headType: "linear" }, 1), "byte"],
  ["a BPE-token model", () => TokenLM.create(tokenModelConfig(BPE, tiny.model), 1), "token"],
  [
    "a pooled model (learned boundaries)",
    () => PooledLM.create(pooledConfig({ strategy: "learned", stride: 4, byteWindow: 32, byteDim: 16, byteHeads: 2, byteFfn: 32, encoderLayers: 1, decoderLayers: 1, reconstructionWeight: 0, core: tiny.model }), 1),
    "chunk"
  ],
  [
    "a local-stack model",
    () =>
      LocalStackLM.create(
        localStackConfig({ strategy: "stride", stride: 4, maxChunk: 12, byteWindow: 64, localDim: 16, localHeads: 2, localFfn: 32, localWindow: 16, encoderLayers: 1, decoderLayers: 1, core: { ...tiny.model, nLayer: 1 } }),
        1
      ),
    "chunk"
  ]
];

for (const [name, make, unit] of kinds) {
  test(`takeSnapshot() of ${name}: causal maps over its ${unit}s, a sample, and no tensor left behind`, async () => {
    const model = make();
    try {
      // A first snapshot may fill a model's own caches (the local stack keeps a causal mask per length it has seen).
      await takeSnapshot(model, 7, CONFIG);
      const before = tf.memory().numTensors;
      const s = await takeSnapshot(model, 7, CONFIG);
      assert.equal(tf.memory().numTensors, before, "no tensors leak");
      assert.equal(s.step, 7);
      assert.equal(s.unit, unit);
      const P = s.spans.length;
      assert.ok(P > 1, `positions: ${P}`);
      assert.equal(s.spans.at(-1)![1] <= CONFIG.probe.length, true, "spans lie inside the probe");
      if (unit === "chunk") {
        assert.ok(s.chunks && s.chunks.length === P, "one chunk per core position");
        // A pooled core reads a start vector, then each chunk but the last; a local stack's reads its own chunk.
        assert.deepEqual(s.spans, name.includes("pooled") ? [[0, 0], ...s.chunks!.slice(0, -1)] : s.chunks);
      }
      assert.equal(s.attention.length, s.layers);
      for (const layer of s.attention) {
        assert.equal(layer.length, s.heads);
        for (const qm of layer) {
          const map = dequantiseMap(qm, P);
          for (let q = 0; q < P; q++) {
            let row = 0;
            for (let k = 0; k <= q; k++) row += map[q * P + k];
            assert.ok(Math.abs(row - 1) <= (q + 1) / 510 + 1e-6, `row ${q} sums to ${row}`);
          }
        }
      }
      assert.equal(typeof s.sample, "string");
      assert.ok(s.sample.length > 0);
      // One boundary probability per byte the model read (its context, 33 bytes here, at most).
      if (name.includes("learned")) assert.equal(s.boundaryProbs?.length, s.chunks!.at(-1)![1]);
      // A line of snapshots.jsonl reads back as it was written.
      assert.deepEqual(parseSnapshots(JSON.stringify(s) + "\n"), [s]);
      // Same weights, same snapshot: the sample's seed is fixed.
      assert.deepEqual(await takeSnapshot(model, 7, CONFIG), s);
    } finally {
      model.dispose();
    }
  });
}

test("the trainer snapshots at step 0, every N steps and at the last, before that step's evaluation", async () => {
  const { train, model } = tinyConfigs({}, { steps: 10, evalEvery: 4 });
  const lm = createModel({ kind: "bytes", model }, 1);
  const t = new Trainer({ model: lm, data: sampler(), train, evaluate: async () => 1, snapshot: { every: 4, take: (step) => takeSnapshot(lm, step, CONFIG) } });
  const order: string[] = [];
  const snapshots: Snapshot[] = [];
  for await (const e of t.run()) {
    if (e.kind === "snapshot") {
      order.push(`snapshot ${e.step}`);
      snapshots.push(e.snapshot);
    } else if (e.kind === "eval") order.push(`eval ${e.step}`);
  }
  assert.deepEqual(order, ["snapshot 0", "snapshot 4", "eval 4", "snapshot 8", "eval 8", "snapshot 10", "eval 10"]);
  assert.deepEqual(snapshots.map((s) => s.step), [0, 4, 8, 10]);
  assert.notDeepEqual(snapshots[0].attention, snapshots[3].attention, "training changes the attention");
  t.dispose();
  lm.dispose();
});

test("a resumed run's snapshots continue bit-identically to an uninterrupted run's, with no duplicates or gaps", async () => {
  const { train, model } = tinyConfigs({}, { steps: 12 });
  const spec = { kind: "bytes" as const, model };
  const collect = async (lm: LabModel, t: Trainer, stopAt?: number) => {
    const out: Snapshot[] = [];
    for await (const e of t.run()) {
      if (e.kind === "snapshot") out.push(e.snapshot);
      if (e.kind === "step" && e.step === stopAt) t.stop();
    }
    return out;
  };
  const mk = (lm: LabModel, state?: Awaited<ReturnType<Trainer["state"]>>) =>
    new Trainer({ model: lm, data: sampler(), train, state, snapshot: { every: 4, take: (step) => takeSnapshot(lm, step, CONFIG) } });

  const whole = createModel(spec, 3);
  const wt = mk(whole);
  const uninterrupted = await collect(whole, wt);
  wt.dispose();
  whole.dispose();

  // Stopped at step 6 (not a snapshot step), then rebuilt from its weights and state, as `stlm train --resume` does.
  const first = createModel(spec, 3);
  const ft = mk(first);
  const before = await collect(first, ft, 6);
  const state = await ft.state();
  const weights = await first.weights();
  ft.dispose();
  first.dispose();
  const second = modelFromWeights(spec, weights);
  const st = mk(second, state);
  const after = await collect(second, st);
  st.dispose();
  second.dispose();

  assert.deepEqual([...before, ...after].map((s) => s.step), [0, 4, 8, 12]);
  assert.deepEqual(JSON.stringify([...before, ...after]), JSON.stringify(uninterrupted), "bit-identical");
});
