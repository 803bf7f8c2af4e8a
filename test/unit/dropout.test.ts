import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { tf } from "../../lib/tf.js";
import { validateModelConfig } from "../../lib/config.js";
import { TinyLM } from "../../lib/models/model.js";
import { Rng } from "../../lib/rng.js";
import { Trainer } from "../../lib/train/trainer.js";
import { DEFAULT_DROPOUT_SITES, dropoutAt, maxDropout, parseDropoutSchedule, parseDropoutSites } from "../../lib/train/dropout.js";
import { gradientStats } from "../../lib/experiments/dropout.js";
import { sampler, tinyConfigs } from "./fixtures.js";

await initNode();

test("dropoutAt gives every schedule's rate at its boundary steps", () => {
  const s = (text: string, rate = 0.1, steps = 101) => parseDropoutSchedule(text, rate, steps);
  assert.deepEqual([0, 50, 100].map((k) => dropoutAt(k, s("constant"))), [0.1, 0.1, 0.1]);
  // linear over steps 0..100: the first step has A, the last B, the middle their mean
  assert.deepEqual([0, 50, 100, 150].map((k) => dropoutAt(k, s("linear:0:0.2"))), [0, 0.1, 0.2, 0.2]);
  assert.deepEqual([0, 50, 100].map((k) => dropoutAt(k, s("linear:0.2:0"))), [0.2, 0.1, 0]);
  // triangle: A at both ends, B at mid-run
  const tri = [0, 25, 50, 75, 100].map((k) => dropoutAt(k, s("triangle:0:0.2")));
  assert.deepEqual(tri.map((x) => Math.round(x * 1e9) / 1e9), [0, 0.1, 0.2, 0.1, 0]);
  // early: on for steps 0..K-1, off from K; late: the mirror image
  assert.deepEqual([0, 9, 10, 11].map((k) => dropoutAt(k, s("early:10"))), [0.1, 0.1, 0, 0]);
  assert.deepEqual([0, 9, 10, 11].map((k) => dropoutAt(k, s("late:10"))), [0, 0, 0.1, 0.1]);
  assert.equal(dropoutAt(0, s("early:0")), 0);
  assert.equal(maxDropout(s("triangle:0.05:0.3")), 0.3);
  // a one-step run: linear is at its end value
  assert.equal(dropoutAt(0, s("linear:0:0.2", 0, 1)), 0.2);
});

test("a bad schedule or placement is refused naming the allowed forms", () => {
  for (const bad of ["cosine", "linear:0", "linear:0:1", "linear:a:0.1", "early", "early:-3", "early:2.5", "late:10:3", "constant:0.1"]) {
    assert.throws(() => parseDropoutSchedule(bad, 0.1, 100), (e: Error) => /dropoutSchedule/.test(e.message) && /linear:A:B/.test(e.message) && e.message.includes(bad), bad);
  }
  assert.deepEqual(parseDropoutSites("stlm"), ["embed", "attn-probs", "attn-out"]);
  assert.deepEqual(parseDropoutSites("mlp-out, embed"), ["embed", "mlp-out"]);
  assert.deepEqual(parseDropoutSites("none"), []);
  assert.throws(() => parseDropoutSites("attn"), /"attn" is not a dropout site.*embed, attn-probs, attn-out, mlp-out/);
  assert.throws(() => parseDropoutSites("embed,embed"), /twice/);
  assert.throws(() => validateModelConfig({ ...tinyConfigs().model, dropoutSites: ["heads"] as never }), /dropoutSites/);
});

test("a config without a placement gets the lab's, so older runs train as before", () => {
  const { dropoutSites: _omit, ...old } = tinyConfigs({ dropout: 0.2 }).model;
  assert.deepEqual(validateModelConfig(old as never).dropoutSites, [...DEFAULT_DROPOUT_SITES]);
});

test("dropout is off when not training, and its masks are reproducible from the seed", () => {
  const { model: mc } = tinyConfigs({ dropout: 0.3, dropoutSites: ["embed", "attn-probs", "attn-out", "mlp-out"] });
  const model = TinyLM.create(mc, 3);
  const x = tf.tensor2d(Array.from({ length: 32 }, (_, i) => (i * 7) % 200), [2, 16], "int32");
  const y = tf.tensor2d(Array.from({ length: 32 }, (_, i) => (i * 11) % 200), [2, 16], "int32");
  const before = tf.memory().numTensors;
  const lossOf = (o: Parameters<TinyLM["loss"]>[2]) => tf.tidy(() => model.loss(x, y, o).dataSync()[0]);
  const plain = lossOf({ training: false });
  assert.equal(lossOf({ training: false, rng: new Rng(1) }), plain, "evaluation ignores the rng");
  assert.equal(lossOf({ training: true, rng: new Rng(1), dropout: 0 }), plain, "a rate of 0 is no dropout");
  const a = lossOf({ training: true, rng: new Rng(5) });
  assert.equal(lossOf({ training: true, rng: new Rng(5) }), a, "same seed, same masks");
  assert.notEqual(lossOf({ training: true, rng: new Rng(6) }), a, "another seed, other masks");
  assert.notEqual(a, plain);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  y.dispose();
  model.dispose();
});

test("dropout on the attention probabilities keeps the model causal and its gradient matches finite differences", () => {
  const { model: mc } = tinyConfigs({ dModel: 8, nLayer: 1, nHead: 2, nKvHead: 2, ffnHidden: 8, blockSize: 6, dropout: 0.4, dropoutSites: ["attn-probs"] });
  const model = TinyLM.create(mc, 2);
  const ids = [5, 9, 33, 97, 101, 12];
  const x = tf.tensor2d([ids], [1, 6], "int32");
  const y = tf.tensor2d([[9, 33, 97, 101, 12, 40]], [1, 6], "int32");
  // causality: with the same mask, changing bytes after position t leaves logits at <= t unchanged
  const logits = (row: number[]) => tf.tidy(() => model.forward(tf.tensor2d([row], [1, 6], "int32"), { training: true, rng: new Rng(9) }).logits.arraySync()[0]);
  const base = logits(ids);
  const changed = logits([5, 9, 33, 200, 7, 1]);
  for (let t = 0; t < 3; t++) assert.deepEqual(changed[t], base[t], `position ${t}`);
  assert.notDeepEqual(changed[3], base[3]);
  // gradient against central finite differences, with the mask fixed by re-seeding the rng
  const w = model.param("blocks.0.attn.wq");
  const f = () => tf.tidy(() => model.loss(x, y, { training: true, rng: new Rng(9) }).dataSync()[0]);
  const { grads } = tf.variableGrads(() => model.loss(x, y, { training: true, rng: new Rng(9) }), [w]);
  const g = grads[w.name].dataSync();
  const values = w.dataSync().slice();
  const eps = 1e-2;
  for (const i of [0, 5, 17, 40, 63]) {
    const at = (d: number) => {
      const v = values.slice();
      v[i] += d;
      w.assign(tf.tensor(v, w.shape));
      return f();
    };
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    w.assign(tf.tensor(values, w.shape));
    assert.ok(Math.abs(fd - g[i]) <= 2e-3 + 0.05 * Math.abs(g[i]), `d loss / d wq[${i}]: analytic ${g[i]}, finite differences ${fd}`);
  }
  tf.dispose([x, y, grads[w.name]]);
  model.dispose();
});

test("the trainer applies the schedule every step and a resumed run continues it bit for bit", async () => {
  const { model: mc, train } = tinyConfigs({ dropout: 0.2, dropoutSites: ["embed", "attn-probs", "attn-out"] }, { steps: 24, dropoutSchedule: "triangle:0:0.3" });
  const runFrom = async (model: TinyLM, state: Awaited<ReturnType<Trainer["state"]>> | undefined, stopAt: number) => {
    const trainer = new Trainer({ model, data: sampler(), train, state });
    const rows: { step: number; loss: number; dropout: number }[] = [];
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        rows.push({ step: e.step, loss: e.loss, dropout: e.dropout });
        if (e.step === stopAt) trainer.stop();
      }
    }
    const s = await trainer.state();
    trainer.dispose();
    return { rows, state: s };
  };
  const whole = TinyLM.create(mc, 4);
  const all = (await runFrom(whole, undefined, -1)).rows;
  assert.deepEqual(all.map((r) => r.dropout), Array.from({ length: 24 }, (_, k) => dropoutAt(k, parseDropoutSchedule("triangle:0:0.3", 0.2, 24))));
  const first = TinyLM.create(mc, 4);
  const half = await runFrom(first, undefined, 11);
  const resumed = TinyLM.fromWeights(mc, await first.weights());
  const rest = (await runFrom(resumed, half.state, -1)).rows;
  assert.deepEqual([...half.rows, ...rest], all);
  for (const m of [whole, first, resumed]) m.dispose();
});

test("gradient direction statistics are in range, leave the run's randomness alone and leak nothing", () => {
  const { model: mc } = tinyConfigs({ dropout: 0.1 });
  const model = TinyLM.create(mc, 1);
  const before = tf.memory().numTensors;
  const a = gradientStats(model, sampler(), { batchSize: 4, batches: 4, fullBatches: 6, dropout: 0.1, seed: 3, step: 0 });
  const b = gradientStats(model, sampler(), { batchSize: 4, batches: 4, fullBatches: 6, dropout: 0.1, seed: 3, step: 0 });
  assert.deepEqual(a, b, "seeded: the same numbers twice");
  assert.ok(a.cosToFull > 0 && a.cosToFull <= 1, `cos ${a.cosToFull}`);
  assert.ok(a.directionVariance >= 0 && a.directionVariance <= 2, `variance ${a.directionVariance}`);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});
