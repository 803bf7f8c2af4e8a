import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { TinyLM } from "../../lib/models/model.js";
import { createModel } from "../../lib/models/models.js";
import { presetSpec } from "../../lib/models/presets.js";
import { Trainer } from "../../lib/train/trainer.js";
import { distillationLoss, DistilledStudent, kdWeightAt, parseKdWeight } from "../../lib/train/distill.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";

await initNode();

// Two positions, four symbols, worked out by hand in double precision.
const S = [
  [1.0, 0.0, -1.0, 0.5],
  [0.2, 0.3, 0.1, -0.4]
];
const Tl = [
  [2.0, 0.5, -0.5, 0.0],
  [-1.0, 0.0, 1.0, 0.5]
];
const targets = [0, 2];
const logSoftmax = (z: number[], T = 1) => {
  const s = z.map((v) => v / T);
  const m = Math.max(...s);
  const lse = m + Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0));
  return s.map((v) => v - lse);
};
function expected(direction: "forward" | "reverse", T: number, alpha: number) {
  let kl = 0;
  let ce = 0;
  for (let i = 0; i < 2; i++) {
    const ls = logSoftmax(S[i], T);
    const lt = logSoftmax(Tl[i], T);
    const [lp, lq] = direction === "forward" ? [lt, ls] : [ls, lt];
    kl += lp.reduce((a, v, j) => a + Math.exp(v) * (v - lq[j]), 0) / 2;
    ce -= logSoftmax(S[i])[targets[i]] / 2;
  }
  return { kl, ce, loss: alpha * T * T * kl + (1 - alpha) * ce };
}

test("the distillation loss equals the hand-computed value for forward and reverse KL, at T = 1 and T = 2", () => {
  for (const direction of ["forward", "reverse"] as const) {
    for (const T of [1, 2]) {
      const want = expected(direction, T, 0.7);
      const got = tf.tidy(() => {
        const r = distillationLoss(tf.tensor2d(S), tf.tensor2d(Tl), tf.tensor1d(targets, "int32"), { direction, temperature: T, alpha: 0.7 });
        return { loss: r.loss.dataSync()[0], kl: r.kl.dataSync()[0], ce: r.ce.dataSync()[0] };
      });
      for (const k of ["loss", "kl", "ce"] as const) assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `${direction} T=${T} ${k}: ${got[k]} vs ${want[k]}`);
    }
  }
  // forward and reverse differ on this fixture (KL is not symmetric)
  assert.ok(Math.abs(expected("forward", 1, 1).kl - expected("reverse", 1, 1).kl) > 1e-3);
});

test("a student equal to its teacher has KL 0 and no gradient from the KL term", async () => {
  const { model: mc } = tinyConfigs();
  const teacher = TinyLM.create(mc, 5);
  const student = TinyLM.fromWeights(mc, await teacher.weights());
  const kd = new DistilledStudent(student, teacher, { direction: "forward", temperature: 2, weightFrom: 1, weightTo: 1 }, 10);
  const x = tf.tensor2d(Array.from({ length: 32 }, (_, i) => TEXT[i]), [2, 16], "int32");
  const y = tf.tensor2d(Array.from({ length: 32 }, (_, i) => TEXT[i + 1]), [2, 16], "int32");
  const { value, grads } = tf.variableGrads(() => kd.loss(x, y, { training: false, step: 0 }), student.params.map((p) => p.variable));
  assert.ok(Math.abs(value.dataSync()[0]) < 1e-6, `KL ${value.dataSync()[0]}`);
  for (const [name, g] of Object.entries(grads)) {
    const m = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]);
    assert.ok(m < 1e-5, `${name}: |grad| up to ${m}`);
  }
  tf.dispose([value, x, y, ...Object.values(grads)]);
  student.dispose();
  teacher.dispose();
});

test("the teacher gets no gradient and does not change; 200 distillation steps leak no tensor", async () => {
  const teacher = TinyLM.create(tinyConfigs({ dModel: 32, ffnHidden: 64 }).model, 8);
  const { model: mc, train } = tinyConfigs({ dropout: 0.1 }, { steps: 200, evalEvery: 0 });
  const student = TinyLM.create(mc, 9);
  const before = await teacher.weights();
  const kd = new DistilledStudent(student, teacher, { direction: "reverse", temperature: 2, weightFrom: 0.8, weightTo: 1 }, train.steps);
  assert.equal(kd.params, student.params, "the trained variables are the student's");
  const count = tf.memory().numTensors;
  const trainer = new Trainer({ model: kd, data: sampler(), train });
  const counts: number[] = [];
  const losses: number[] = [];
  for await (const e of trainer.run()) {
    if (e.kind === "step") {
      losses.push(e.loss);
      if (e.step % 25 === 0) counts.push(tf.memory().numTensors);
    }
  }
  assert.equal(new Set(counts).size, 1, `tensor counts moved: ${counts.join(", ")}`);
  trainer.dispose();
  assert.equal(tf.memory().numTensors, count);
  const after = await teacher.weights();
  for (const [name, t] of before) assert.deepEqual(after.get(name)!.data, t.data, `teacher ${name} changed`);
  assert.ok(losses[losses.length - 1] < losses[0], "the student learns");
  student.dispose();
  teacher.dispose();
});

test("the distillation weight moves linearly; bad weights, teachers and students are refused clearly", async () => {
  assert.deepEqual(parseKdWeight("0.8:1.0"), [0.8, 1]);
  assert.deepEqual(parseKdWeight("0.5"), [0.5, 0.5]);
  for (const bad of ["", "1.5", "0.2:", "a", "0.1:0.2:0.3", "-0.1"]) assert.throws(() => parseKdWeight(bad), /kdWeight.*A:B/, bad);
  const c = { direction: "forward" as const, temperature: 1, weightFrom: 0.8, weightTo: 1 };
  assert.deepEqual([0, 50, 100].map((s) => Math.round(kdWeightAt(s, c, 101) * 1e9) / 1e9), [0.8, 0.9, 1]);
  const student = TinyLM.create(tinyConfigs().model, 1);
  const { spec } = presetSpec("pooled-stride4", TEXT);
  const pooled = createModel(spec, 1);
  assert.throws(() => new DistilledStudent(student, pooled, c, 10), /pooled model cannot be a teacher.*next-byte distribution/);
  const short = TinyLM.create(tinyConfigs({ blockSize: 8 }).model, 1);
  assert.throws(() => new DistilledStudent(student, short, c, 10), /teacher reads 8 bytes of context, fewer than the student's 16/);
  assert.throws(() => new DistilledStudent(student, student, c, 10), /share variables/);
  assert.throws(() => new DistilledStudent(student, short, { ...c, temperature: 0 }, 10), /kdTemperature/);
  for (const m of [student, pooled, short]) m.dispose();
});
