// Multi-byte prediction, next-token masked prediction and self-speculative sampling
// (lib/models/objectives.ts, lib/eval/speculative.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Scalar, Tensor2D, Variable } from "@tensorflow/tfjs";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { Rng } from "../../lib/rng.js";
import { TinyLM } from "../../lib/models/model.js";
import { MNTP_MASK_ID, mntpMask, mntpTargetWeights, ObjectiveLM, validateObjective, type Objective } from "../../lib/models/objectives.js";
import { createModel, specParameterShapes, validateSpec } from "../../lib/models/models.js";
import { decodeCheckpoint, encodeCheckpoint, labModelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { Trainer } from "../../lib/train/trainer.js";
import { bitsPerByte } from "../../lib/eval/eval.js";
import { sample } from "../../lib/eval/sample.js";
import { samplingDistribution, speculativeSample, speculativeStats } from "../../lib/eval/speculative.js";
import { ConfigError } from "../../lib/config.js";
import { PAD } from "../../lib/text/tokenizer.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

const MTP_LAYER: Objective = { kind: "mtp", heads: 3, headType: "layer" };
const MTP_LINEAR: Objective = { kind: "mtp", heads: 3, headType: "linear" };
const ids = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], "int32") as Tensor2D;

/** A tiny multi-byte model trained `steps` steps on the fixture text, so its heads are peaked and differ. */
async function trained(objective: Objective, steps: number, model: Parameters<typeof tinyConfigs>[0] = {}): Promise<ObjectiveLM> {
  const { model: mc, train } = tinyConfigs(model, { steps });
  const lm = ObjectiveLM.create(mc, objective, 1);
  const trainer = new Trainer({ model: lm, data: sampler(), train });
  for await (const _ of trainer.run());
  trainer.dispose();
  return lm;
}

test("head k's loss reads the inputs shifted by k, and no target lies past the window", () => {
  // A hand-made window: inputs 10..17, targets 11..18 (as BatchSampler makes them).
  const { model: mc } = tinyConfigs({ blockSize: 8 });
  const lm = ObjectiveLM.create(mc, { kind: "mtp", heads: 4, headType: "linear" }, 2);
  const x = [[10, 11, 12, 13, 14, 15, 16, 17]];
  const y = [[11, 12, 13, 14, 15, 16, 17, 18]];
  const [lossesTf, expected] = tf.tidy(() => {
    const losses = lm.headLosses(ids(x), ids(y)).map((l) => l.dataSync()[0]);
    // The same losses written out by hand from each head's log-softmax: head k at position t is scored on byte x[t + k] = y[t + k - 1], for t <= T - k.
    const heads = lm.forwardHeads(ids(x)).map((l) => tf.logSoftmax(l).arraySync()[0] as number[][]);
    const byHand = heads.map((lp, i) => {
      const k = i + 1;
      const terms: number[] = [];
      for (let t = 0; t + k - 1 < 8; t++) terms.push(-lp[t][y[0][t + k - 1]]);
      return { mean: terms.reduce((a, b) => a + b, 0) / terms.length, count: terms.length, lastTarget: y[0][7 - k + 1 + k - 1] };
    });
    return [losses, byHand];
  });
  assert.equal(lossesTf.length, 4);
  expected.forEach((e, i) => {
    assert.equal(e.count, 8 - i, `head ${i + 1} has targets at positions 0..T-k only`);
    assert.equal(e.lastTarget, 18, "the last target is the byte after the window, never beyond it");
    assert.ok(Math.abs(lossesTf[i] - e.mean) < 1e-5, `head ${i + 1}: ${lossesTf[i]} vs ${e.mean} by hand`);
  });
  // No target leaks into its own input: head k's target at t is the input at t + k, which position t cannot see (causality, below).
  lm.dispose();
});

test("every head is causal: its logits at t do not change when bytes after t change", () => {
  for (const objective of [MTP_LAYER, MTP_LINEAR]) {
    const { model: mc } = tinyConfigs({ nKvHead: 1 });
    const lm = ObjectiveLM.create(mc, objective, 3);
    const before = tf.memory().numTensors;
    const a = Array.from({ length: 16 }, (_, i) => (i * 37) % 256);
    const t = 9;
    const b = a.map((v, i) => (i > t ? (v + 101) % 256 : v));
    const [la, lb] = tf.tidy(() => [lm.forwardHeads(ids([a])).map((l) => l.arraySync()[0]), lm.forwardHeads(ids([b])).map((l) => l.arraySync()[0])]);
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i <= t; i++) for (let v = 0; v < mc.vocabSize; v++) assert.ok(Math.abs(la[h][i][v] - lb[h][i][v]) < 1e-5, `${objective.headType} head ${h + 1}: position ${i} changed`);
      assert.ok(la[h][t + 1].some((x, v) => Math.abs(x - lb[h][t + 1][v]) > 1e-4), `head ${h + 1}: a changed byte must change its own position (else the test is vacuous)`);
    }
    assert.equal(tf.memory().numTensors, before);
    lm.dispose();
  }
});

test("head 1 is the plain model: same initial weights for a seed, same logits, and the same bits/byte", async () => {
  const { model: mc } = tinyConfigs();
  const lm = ObjectiveLM.create(mc, MTP_LAYER, 5);
  const plain = TinyLM.create(mc, 5);
  const [a, b] = tf.tidy(() => [lm.forwardHeads(ids([[1, 2, 3, 4, 5]]))[0].dataSync(), plain.forward(ids([[1, 2, 3, 4, 5]])).logits.dataSync()]);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.equal(await bitsPerByte(lm.byteScorer, TEXT.subarray(0, 300)), await bitsPerByte(plain, TEXT.subarray(0, 300)));
  lm.dispose();
  plain.dispose();
});

test("the extra heads' gradients match central finite differences", async () => {
  for (const objective of [MTP_LAYER, MTP_LINEAR]) {
    const { model: mc } = tinyConfigs({ blockSize: 8 });
    const lm = ObjectiveLM.create(mc, objective, 7);
    const rng = new Rng(11);
    const x = ids([Array.from({ length: 8 }, () => 97 + rng.int(20)), Array.from({ length: 8 }, () => 97 + rng.int(20))]);
    const y = ids([Array.from({ length: 8 }, () => 97 + rng.int(20)), Array.from({ length: 8 }, () => 97 + rng.int(20))]);
    const headVars = lm.params.filter((p) => p.name.startsWith("mtp."));
    assert.ok(headVars.length > 0);
    const { grads } = tf.variableGrads(() => lm.loss(x, y), headVars.map((p) => p.variable));
    const eps = 1e-2;
    let checkedCoords = 0;
    for (const p of headVars) {
      const v = p.variable as Variable;
      const g = (await grads[v.name].data()) as Float32Array;
      const orig = (await v.data()) as Float32Array;
      for (let s = 0; s < 4; s++) {
        const j = rng.int(orig.length);
        const at = (delta: number) => {
          const moved = orig.slice();
          moved[j] += delta;
          tf.tidy(() => v.assign(tf.tensor(moved, v.shape)));
          return tf.tidy(() => lm.loss(x, y).dataSync()[0]);
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        tf.tidy(() => v.assign(tf.tensor(orig, v.shape)));
        assert.ok(Math.abs(numeric - g[j]) <= 2e-3 + 2e-2 * Math.abs(numeric), `${objective.headType} ${p.name}[${j}]: analytic ${g[j]} vs numeric ${numeric}`);
        checkedCoords += 1;
      }
    }
    assert.ok(checkedCoords >= 4);
    tf.dispose([x, y, ...Object.values(grads)]);
    lm.dispose();
  }
});

test("the MNTP mask is reproducible from its seed, masks about the rate asked, and never masks PAD or EOT", () => {
  const input = Array.from({ length: 4000 }, (_, i) => (i % 10 === 0 ? PAD : i % 17 === 0 ? 257 : 97 + (i % 26)));
  const a = mntpMask(input, 0.15, new Rng(9));
  const b = mntpMask(input, 0.15, new Rng(9));
  const c = mntpMask(input, 0.15, new Rng(10));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  let masked = 0;
  let bytes = 0;
  input.forEach((id, i) => {
    if (id >= 256) assert.equal(a[i], 0, `special id ${id} at ${i} was masked`);
    else {
      bytes += 1;
      masked += a[i];
    }
  });
  assert.ok(Math.abs(masked / bytes - 0.15) < 0.03, `masked ${masked} of ${bytes} bytes`);
  // Weights: the target at t is the input at t + 1.
  const w = mntpTargetWeights(Uint8Array.from([0, 1, 0, 1]), 1, 4, 2);
  assert.deepEqual(Array.from(w), [3, 1, 3, 1]);
  assert.equal(MNTP_MASK_ID, 0);
});

test("with mask rate 0 the MNTP loss and gradient are next-byte training's", () => {
  const { model: mc } = tinyConfigs();
  const lm = ObjectiveLM.create(mc, { kind: "mntp", rate: 0, weight: 1 }, 4);
  const plain = TinyLM.create(mc, 4);
  const batch = sampler().sample(new Rng(3), 4, 16);
  const x = tf.tensor2d(batch.x, [4, 16], "int32") as Tensor2D;
  const y = tf.tensor2d(batch.y, [4, 16], "int32") as Tensor2D;
  const gradOf = (m: { loss: (x: Tensor2D, y: Tensor2D, o: { training: boolean; rng?: Rng }) => Scalar; params: readonly { name: string; variable: Variable }[] }) =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => m.loss(x, y, { training: true, rng: new Rng(1) }), m.params.map((p) => p.variable));
      return { loss: value.dataSync()[0], grads: m.params.map((p) => Array.from(grads[p.variable.name].dataSync())) };
    });
  const a = gradOf(lm);
  const b = gradOf(plain);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `${a.loss} vs ${b.loss}`);
  a.grads.forEach((g, i) => g.forEach((v, j) => assert.ok(Math.abs(v - b.grads[i][j]) < 1e-6, `gradient ${i}[${j}]`)));
  // A positive rate masks inputs, so the training loss moves (the test above is not vacuous).
  const masked = ObjectiveLM.create(mc, { kind: "mntp", rate: 0.5, weight: 1 }, 4);
  const l = tf.tidy(() => masked.loss(x, y, { training: true, rng: new Rng(1) }).dataSync()[0]);
  assert.ok(Math.abs(l - b.loss) > 1e-4);
  tf.dispose([x, y]);
  [lm, plain, masked].forEach((m) => m.dispose());
});

test("objectives are checked field by field and only the byte model takes one", () => {
  const { model: mc } = tinyConfigs();
  assert.throws(() => validateObjective({ kind: "mtp", heads: 1, headType: "layer" }, mc), (e: Error) => e instanceof ConfigError && /objective\.heads/.test(e.message));
  assert.throws(() => validateObjective({ kind: "mtp", heads: 3, headType: "mlp" as never }, mc), /objective\.headType/);
  assert.throws(() => validateObjective({ kind: "mntp", rate: 1, weight: 1 }, mc), /objective\.rate/);
  assert.throws(() => validateObjective({ kind: "nope" } as never, mc), /objective\.kind/);
  assert.throws(() => validateObjective({ kind: "mtp", heads: 16, headType: "layer" }, { ...mc, blockSize: 16 }), /objective\.heads/);
  const spec = validateSpec({ kind: "bytes", model: mc, objective: MTP_LAYER });
  const extra = specParameterShapes(spec).filter((s) => s.component === "extra prediction heads");
  assert.equal(extra.length, 2 * 10, "two extra heads of ten tensors each (a block and a final norm)");
});

test("a checkpoint of each objective round-trips: same spec, same weights, same losses", async () => {
  for (const objective of [MTP_LAYER, MTP_LINEAR, { kind: "mntp", rate: 0.15, weight: 1 } as Objective]) {
    const { model: mc, train } = tinyConfigs({}, { steps: 6 });
    const model = createModel({ kind: "bytes", model: mc, objective }, 1);
    const trainer = new Trainer({ model, data: sampler(), train });
    for await (const e of trainer.run()) if (e.kind === "step" && e.step === 3) trainer.stop();
    const bytes = encodeCheckpoint({ spec: model.spec, trainConfig: train, weights: await model.weights(), trainer: await trainer.state(), meta: {} });
    const ckpt = decodeCheckpoint(bytes);
    assert.deepEqual(ckpt.spec, { kind: "bytes", model: mc, objective });
    const loaded = labModelFromCheckpoint(ckpt);
    assert.ok(loaded instanceof ObjectiveLM);
    const batch = sampler().sample(new Rng(5), 2, 16);
    const lossOf = (m: typeof model) => tf.tidy(() => m.loss(tf.tensor2d(batch.x, [2, 16], "int32") as Tensor2D, tf.tensor2d(batch.y, [2, 16], "int32") as Tensor2D, { training: false }).dataSync()[0]);
    assert.equal(lossOf(loaded), lossOf(model));
    assert.equal(await bitsPerByte(loaded.byteScorer, TEXT.subarray(0, 200)), await bitsPerByte(model.byteScorer, TEXT.subarray(0, 200)));
    // Read as a plain byte model, an mtp checkpoint is refused for the heads' tensors; an mntp one is a plain model's weights.
    if (objective.kind === "mtp") assert.throws(() => labModelFromCheckpoint({ ...ckpt, spec: { kind: "bytes", model: mc } }), /mtp\.2\./);
    else labModelFromCheckpoint({ ...ckpt, spec: { kind: "bytes", model: mc } }).dispose();
    trainer.dispose();
    model.dispose();
    loaded.dispose();
  }
});

test("the tensor count stays flat over 200 training steps of each objective, and training lowers the loss", async () => {
  for (const objective of [MTP_LAYER, MTP_LINEAR, { kind: "mntp", rate: 0.15, weight: 1 } as Objective]) {
    const { model: mc, train } = tinyConfigs({}, { steps: 200, evalEvery: 100 });
    const lm = ObjectiveLM.create(mc, objective, 1);
    const before = tf.memory().numTensors;
    const trainer = new Trainer({ model: lm, data: sampler(), train, evaluate: () => bitsPerByte(lm.byteScorer, TEXT.subarray(0, 200)) });
    const counts: number[] = [];
    const losses: number[] = [];
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        losses.push(e.loss);
        if (e.step % 20 === 0) counts.push(tf.memory().numTensors);
      }
    }
    assert.equal(new Set(counts).size, 1, `${objective.kind}: tensor counts moved: ${counts.join(", ")}`);
    trainer.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.ok(losses.at(-1)! < losses[0] - 1, `${objective.kind}: loss ${losses[0]} -> ${losses.at(-1)}`);
    lm.dispose();
  }
});

test("greedy speculative sampling equals greedy plain sampling byte for byte, and leaks nothing", async () => {
  for (const objective of [MTP_LAYER, MTP_LINEAR]) {
    const lm = await trained(objective, 60, { blockSize: 96 });
    const prompt = TEXT.subarray(0, 20);
    const before = tf.memory().numTensors;
    const plain = await sample(lm.trunk, prompt, { tokens: 70, temperature: 0 });
    const spec = await speculativeSample(lm, prompt, { tokens: 70, temperature: 0 });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Array.from(spec.bytes), Array.from(plain));
    const { bytesPerPass, acceptance } = speculativeStats(spec);
    assert.ok(spec.drafted.some(Boolean), `${objective.headType}: some drafted bytes were kept`);
    assert.ok(bytesPerPass > 1 && spec.forwardPasses < 70, `${objective.headType}: ${bytesPerPass} bytes a pass`);
    assert.equal(acceptance.length, 2);
    assert.equal(spec.drafted.filter(Boolean).length, spec.accepted.reduce((a, b) => a + b, 0));
    lm.dispose();
  }
});

/** Pearson's chi-square of counts against expected probabilities, over cells with expected count >= 5 (the rest pooled). */
function chiSquare(counts: Map<string, number>, probs: Map<string, number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let cells = 0;
  let restObs = 0;
  let restExp = 0;
  for (const [k, p] of probs) {
    const e = p * n;
    const o = counts.get(k) ?? 0;
    if (e >= 5) {
      stat += (o - e) ** 2 / e;
      cells += 1;
    } else {
      restObs += o;
      restExp += e;
    }
  }
  for (const [k, o] of counts) if (!probs.has(k)) restObs += o;
  if (restExp > 0) {
    stat += (restObs - restExp) ** 2 / restExp;
    cells += 1;
  }
  return { stat, df: cells - 1 };
}

// Upper 0.1% points of chi-square by degrees of freedom.
const CHI2_999 = [0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26, 32.91, 34.53, 36.12, 37.7, 39.25];

test("speculative sampling with temperature draws the next 2 bytes from head 1's distribution (chi-square against plain sampling and the exact law)", async () => {
  // A fixture whose heads disagree in a known way: a fresh model with its tied embedding scaled up (peaked,
  // context-dependent logits) and linear heads set to half the identity (each draft a flattened copy of
  // head 1's prediction one byte earlier), so drafts are kept and rejected often.
  const { model: mc } = tinyConfigs();
  const lm = ObjectiveLM.create(mc, MTP_LINEAR, 1);
  for (const p of lm.params) {
    if (p.name === "embed") tf.tidy(() => p.variable.assign(tf.mul(p.variable, 6)));
    else if (p.name.endsWith(".proj")) tf.tidy(() => p.variable.assign(tf.mul(p.variable, 0.5)));
  }
  const prompt = TEXT.subarray(0, 8);
  const opts = { temperature: 1, topK: 3 };
  // The exact law of the next two bytes under head 1: p(a) p(b | a), top-3 at temperature 1.
  const ctx = Array.from(prompt);
  const [first] = await lm.headLogitsAt(ctx, ctx.length - 1);
  const p1 = samplingDistribution(first[0], opts.temperature, opts.topK, [256, 257]);
  const exact = new Map<string, number>();
  for (let a = 0; a < 256; a++) {
    if (p1[a] === 0) continue;
    const [h] = await lm.headLogitsAt([...ctx, a], ctx.length);
    const p2 = samplingDistribution(h[0], opts.temperature, opts.topK, [256, 257]);
    for (let b = 0; b < 256; b++) if (p2[b] > 0) exact.set(`${a},${b}`, p1[a] * p2[b]);
  }
  const n = 1500;
  const plainCounts = new Map<string, number>();
  const specCounts = new Map<string, number>();
  let kept = 0;
  let rejected = 0;
  for (let i = 0; i < n; i++) {
    const p = await sample(lm.trunk, prompt, { tokens: 2, ...opts, seed: 1000 + i });
    plainCounts.set(`${p[0]},${p[1]}`, (plainCounts.get(`${p[0]},${p[1]}`) ?? 0) + 1);
    const s = await speculativeSample(lm, prompt, { tokens: 2, ...opts, seed: 5000 + i });
    specCounts.set(`${s.bytes[0]},${s.bytes[1]}`, (specCounts.get(`${s.bytes[0]},${s.bytes[1]}`) ?? 0) + 1);
    kept += s.accepted[0];
    rejected += s.checked[0] - s.accepted[0];
  }
  // Both paths of the acceptance rule ran many times, so the test can fail.
  assert.ok(kept > 100 && rejected > 100, `kept ${kept}, rejected ${rejected}`);
  for (const [name, counts] of [["plain", plainCounts], ["speculative", specCounts]] as const) {
    const { stat, df } = chiSquare(counts, exact, n);
    assert.ok(df >= 3 && stat < CHI2_999[df], `${name}: chi-square ${stat.toFixed(1)} on ${df} df (0.1% point ${CHI2_999[df]})`);
  }
  // The two samplers against each other: a two-sample chi-square over the cells.
  let stat = 0;
  let df = -1;
  for (const k of new Set([...plainCounts.keys(), ...specCounts.keys()])) {
    const a = plainCounts.get(k) ?? 0;
    const b = specCounts.get(k) ?? 0;
    if (a + b < 10) continue;
    stat += (a - b) ** 2 / (a + b);
    df += 1;
  }
  assert.ok(df >= 3 && stat < CHI2_999[df], `plain vs speculative: chi-square ${stat.toFixed(1)} on ${df} df`);
  lm.dispose();
});

test("speculative sampling refuses a model without extra heads", async () => {
  const { model: mc } = tinyConfigs();
  const lm = ObjectiveLM.create(mc, { kind: "mntp", rate: 0.1, weight: 1 }, 1);
  await assert.rejects(speculativeSample(lm, TEXT.subarray(0, 4), { tokens: 5 }), /multi-byte model/);
  lm.dispose();
});

test("the comparison's summary gives mean and min–max over seeds and the difference to next-byte at the same size and budget", async () => {
  const { summarizeObjectiveRuns } = await import("../../lib/experiments/objectives.js");
  const run = (arm: string, seed: number, bpb: number, budget: "steps" | "time" = "steps") => ({ size: "nano", arm, seed, budget, steps: 10, parameters: 1, trainingSeconds: 1, wallMsPerStep: 1, msPerStep: 2, valBitsPerByte: bpb, headBits: [bpb], minimalPairs: 0.5, finalLoss: 1 });
  const s = summarizeObjectiveRuns([run("next", 1, 3), run("next", 2, 3.2), run("mtp2", 1, 3.5), run("mtp2", 2, 3.3), run("mtp2", 1, 3.4, "time")]);
  const mtp = s.find((x) => x.arm === "mtp2" && x.budget === "steps")!;
  assert.deepEqual([mtp.seeds, mtp.bpb.min, mtp.bpb.max], [2, 3.3, 3.5]);
  assert.ok(Math.abs(mtp.bpb.mean - 3.4) < 1e-12 && Math.abs(mtp.vsNext - 0.3) < 1e-12);
  const time = s.find((x) => x.arm === "mtp2" && x.budget === "time")!;
  assert.ok(Math.abs(time.vsNext - 0.3) < 1e-12, "next-byte stands for itself at equal time");
  assert.deepEqual(s.map((x) => `${x.arm}/${x.budget}`), ["next/steps", "mtp2/steps", "next/time", "mtp2/time"]);
});
