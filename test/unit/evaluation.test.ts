// lib/eval/subset.ts and lib/eval/evaluation.ts: the subsets `stlm eval --subset` and
// the evaluation page score, each metric on a fixture small enough to check by hand,
// extension, cancelling, and the error for a model that cannot be scored.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Tensor2D } from "@tensorflow/tfjs";
import { installTf, tf } from "../../lib/tf.js";
import type { ScoringModel } from "../../lib/eval/eval.js";
import { Evaluator, EvaluationError, type EvalData } from "../../lib/eval/evaluation.js";
import { SUBSET_SEED, spread, subsetOrder, takeSubset } from "../../lib/eval/subset.js";
import { gapNgramBitsPerByte, ngramScorer, trainGapNgram } from "../../lib/eval/ngram.js";
import { floorOnSubset, lengthOnlyOnSubset, type FloorRecord } from "../../lib/eval/floors.js";
import { loadCorpus, loadEvalSet } from "../../lib/node/data.js";
import { TinyLM } from "../../lib/models/model.js";
import { encodeText } from "../../lib/text/tokenizer.js";
import { tinyConfigs } from "./fixtures.js";

tfjs.env().set("IS_NODE", true);
installTf(tfjs);
await tfjs.setBackend("wasm");
await tfjs.ready();

/** Run `work` and check it leaves no tensor behind. */
async function noLeaks<T>(work: () => Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await work();
  assert.equal(tf.memory().numTensors, before, "the evaluation leaked tensors");
  return result;
}

/**
 * A model whose every prediction is hand-computable: a byte costs 1 nat, except
 * "b" (0.5 nats) and "z" (3 nats), whatever came before.
 */
class CostModel implements ScoringModel {
  rowsScored = 0;
  constructor(readonly blockSize: number) {}
  static cost(byte: number): number {
    return byte === 0x62 ? 0.5 : byte === 0x7a ? 3 : 1;
  }
  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
    if (x.shape[1] > this.blockSize) throw new Error(`input of ${x.shape[1]} positions is wider than blockSize ${this.blockSize}`);
    this.rowsScored += x.shape[0];
    const ys = y.dataSync();
    return tf.tensor2d(Float32Array.from(ys, (b) => -CostModel.cost(b)), y.shape as [number, number]);
  }
}

const fixture: EvalData = {
  corpora: [
    { name: "a-text", test: encodeText("abbbbbbbbb") }, // predicted: 9 "b" at 0.5 nats
    { name: "z-text", test: encodeText("azzazz") } // predicted: z z a z z = 3+3+1+3+3 nats
  ],
  minimalPairs: [
    { id: "1", source: "hand", type: "bees", good: "abba", bad: "azza" }, // -3 vs -8: right
    { id: "2", source: "hand", type: "bees", good: "azza", bad: "abba" }, // wrong
    { id: "3", source: "hand", type: "tie", good: "aa", bad: "cc" } // a tie counts as wrong
  ],
  nextSentence: [
    // sums: a -1, bbbbbbbb -4, zz -6, ab -1.5; per byte: -1, -0.5, -3, -0.75. acc picks 0, acc_norm 1.
    { id: "1", source: "hand", context: "ctx", choices: ["a", "bbbbbbbb", "zz", "ab"], label: 1 },
    { id: "2", source: "hand", context: "ctx", choices: ["a", "bbbbbbbb", "zz", "ab"], label: 0 },
    // sums: zz -6, ab -1.5, a -1, bb -1 (a tie: the first wins); per byte: -3, -0.75, -1, -0.5.
    { id: "3", source: "hand", context: "ctx", choices: ["zz", "ab", "a", "bb"], label: 3 }
  ]
};

// ---------------------------------------------------------------------------
// Subsets

test("subsetOrder is a seeded permutation: the same on every call, different for another seed", () => {
  const a = subsetOrder(915);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 915 }, (_, i) => i));
  assert.deepEqual(a, subsetOrder(915, SUBSET_SEED));
  assert.notDeepEqual(a, subsetOrder(915, SUBSET_SEED + 1));
  assert.deepEqual([...subsetOrder(0)], []);
  assert.deepEqual([...subsetOrder(1)], [0]);
});

test("a subset of n items is the first n of a larger one, so a subset can be extended", () => {
  const items = Array.from({ length: 50 }, (_, i) => `item ${i}`);
  const small = takeSubset(items, 7);
  const large = takeSubset(items, 20);
  assert.equal(small.length, 7);
  assert.deepEqual(large.slice(0, 7), small);
  assert.deepEqual(new Set(takeSubset(items, 999)), new Set(items), "a size past the set's length is the whole set");
  assert.throws(() => takeSubset(items, 0), /whole number of items >= 1 \(got 0\)/);
  // --limit's evenly spaced subsets do not nest, which is why they cannot be extended.
  assert.notDeepEqual(spread(items, 20).slice(0, 7), spread(items, 7));
});

test("the first 100 minimal pairs of the seeded order mix types and sources, unlike the file's first 100", async () => {
  const pairs = await loadEvalSet("minimal-pairs");
  const subset = takeSubset(pairs, 100);
  assert.equal(new Set(pairs.slice(0, 100).map((p) => p.type)).size, 1);
  assert.equal(new Set(subset.map((p) => p.type)).size, 7);
  assert.equal(new Set(subset.map((p) => p.source)).size, 4);
});

// ---------------------------------------------------------------------------
// Each metric, by hand

test("the evaluation's three metrics on a hand-computed fixture", async () => {
  const model = new CostModel(4);
  const report = await noLeaks(() => new Evaluator(model, fixture).evaluate());
  // a-text: 9 bytes predicted at 0.5 nats; z-text: 13 nats over 5 bytes.
  assert.ok(Math.abs(report.testBitsPerByte["a-text"] - 0.5 / Math.LN2) < 1e-9);
  assert.ok(Math.abs(report.testBitsPerByte["z-text"] - 13 / 5 / Math.LN2) < 1e-9);
  assert.deepEqual(report.minimalPairs, { accuracy: 1 / 3, n: 3, byType: report.minimalPairs.byType });
  assert.deepEqual(report.minimalPairs.byType, { bees: { accuracy: 0.5, n: 2 }, tie: { accuracy: 0, n: 1 } });
  assert.deepEqual(report.nextSentence, { accNorm: 2 / 3, acc: 1 / 3, n: 3 });
  assert.deepEqual(report.size, { bytes: { "a-text": 10, "z-text": 6 }, minimalPairs: 3, nextSentence: 3, order: "seeded shuffle", seed: SUBSET_SEED });
});

test("a byte subset scores the first N bytes of each split; an item subset the first n items in seeded order", async () => {
  const model = new CostModel(4);
  const ev = new Evaluator(model, fixture);
  const report = await ev.evaluate({ bytes: 3, items: 2 });
  assert.deepEqual(report.size.bytes, { "a-text": 3, "z-text": 3 });
  assert.ok(Math.abs(report.testBitsPerByte["z-text"] - 6 / 2 / Math.LN2) < 1e-9, "z-text's first 3 bytes: z z");
  const first2 = Array.from(subsetOrder(3).subarray(0, 2));
  const expectedPairs = first2.filter((i) => i === 0).length / 2; // only pair 0 is right
  assert.equal(report.minimalPairs.accuracy, expectedPairs);
  const nsRight = first2.filter((i) => i === 0 || i === 2).length / 2; // acc_norm is right on items 0 and 2
  assert.equal(report.nextSentence.accNorm, nsRight);
});

// ---------------------------------------------------------------------------
// Extending, cancelling, progress

const austen = await loadCorpus("austen");
const realData: EvalData = {
  corpora: [{ name: "austen", test: austen.test }],
  minimalPairs: await loadEvalSet("minimal-pairs"),
  nextSentence: await loadEvalSet("next-sentence")
};
const lm = TinyLM.create(tinyConfigs({ blockSize: 32 }).model, 5);

test("extending a subset scores only what is new and gives the numbers of a fresh run of that size", async () => {
  const extended = new Evaluator(lm, realData);
  const small = await noLeaks(() => extended.evaluate({ bytes: 1000, items: 12 }));
  assert.equal(small.minimalPairs.n, 12);
  const pending = extended.pending({ bytes: 3000, items: 30 });
  assert.ok(pending > 0 && pending < new Evaluator(lm, realData).pending({ bytes: 3000, items: 30 }), "only the new bytes and items are left");
  const large = await noLeaks(() => extended.evaluate({ bytes: 3000, items: 30 }));
  const fresh = await noLeaks(() => new Evaluator(lm, realData).evaluate({ bytes: 3000, items: 30 }));
  assert.ok(Math.abs(large.testBitsPerByte.austen - fresh.testBitsPerByte.austen) < 1e-6, `${large.testBitsPerByte.austen} vs ${fresh.testBitsPerByte.austen}`);
  assert.deepEqual(large.minimalPairs, fresh.minimalPairs);
  assert.deepEqual(large.nextSentence, fresh.nextSentence);
  assert.equal(extended.pending({ bytes: 1000, items: 12 }), 0, "a smaller subset needs no scoring");
  const again = await extended.evaluate({ bytes: 1000, items: 12 });
  assert.deepEqual(again, small);
});

test("progress counts every row once over all metrics, naming the metric being scored", async () => {
  const ev = new Evaluator(lm, realData);
  const seen: { metric: string; done: number; total: number }[] = [];
  await ev.evaluate({ bytes: 500, items: 5 }, { onProgress: (p) => seen.push(p) });
  const total = seen[0].total;
  assert.ok(seen.every((p) => p.total === total));
  assert.equal(seen.at(-1)!.done, total);
  assert.deepEqual([...new Set(seen.map((p) => p.metric))], ["test bits/byte (austen)", "minimal pairs", "next sentence"]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].done >= seen[i - 1].done);
});

test("a cancelled evaluation stops between batches, leaks nothing, and can be run again", async () => {
  const ev = new Evaluator(lm, realData);
  const controller = new AbortController();
  let batches = 0;
  await noLeaks(() =>
    assert.rejects(
      ev.evaluate({ items: 200 }, { signal: controller.signal, afterBatch: async () => void (++batches === 2 && controller.abort(new Error("cancelled by the reader"))) }),
      /cancelled by the reader/
    )
  );
  assert.equal(batches, 2);
  const report = await noLeaks(() => ev.evaluate({ bytes: 500, items: 5 }));
  assert.equal(report.nextSentence.n, 5);
});

// ---------------------------------------------------------------------------
// Models the evaluation cannot score

test("a model with diverged (NaN) weights gets an error naming the metric and the reason", async () => {
  const broken = TinyLM.create(tinyConfigs({ blockSize: 32 }).model, 6);
  const p = broken.params[0].variable;
  p.assign(tf.fill(p.shape, NaN));
  await noLeaks(() =>
    assert.rejects(new Evaluator(broken, realData).evaluate({ bytes: 500, items: 5 }), (e: unknown) => {
      assert.ok(e instanceof EvaluationError);
      assert.equal(e.metric, "test bits/byte (austen)");
      assert.match(e.message, /test bits\/byte \(austen\): this model cannot be scored: the model returned NaN log-probabilities; its weights have probably diverged/);
      return true;
    })
  );
  broken.dispose();
});

test("a model that gives a byte probability 0 cannot have bits per byte, and is told so", async () => {
  const never: ScoringModel = { blockSize: 8, tokenLogProbs: (x) => tf.fill(x.shape, -Infinity) as Tensor2D };
  await noLeaks(() => assert.rejects(new Evaluator(never, fixture).evaluate(), /test bits\/byte \(a-text\): this model cannot be scored: the model gives a byte of the text probability 0/));
  const noBlock: ScoringModel = { blockSize: 0, tokenLogProbs: (x) => tf.zeros(x.shape) as Tensor2D };
  await assert.rejects(new Evaluator(noBlock, fixture).evaluate(), /every metric: this model cannot be scored: its blockSize must be a positive integer \(got 0\)/);
  await assert.rejects(new Evaluator(new CostModel(4), fixture).evaluate({ bytes: 1 }), /bytes must be a whole number >= 2 \(got 1\)/);
});

// ---------------------------------------------------------------------------
// The n-gram floors

test("an n-gram scored through the evaluation gets the bits per byte it computes on its own", async () => {
  const m = trainGapNgram(austen.train.subarray(0, 200_000), { order: 3 });
  const text = austen.test.subarray(0, 1001);
  const report = await noLeaks(() => new Evaluator(ngramScorer(m, 2000), { ...fixture, corpora: [{ name: "austen", test: text }] }).evaluate());
  const direct = gapNgramBitsPerByte(m, text);
  assert.ok(Math.abs(report.testBitsPerByte.austen - direct) < 1e-5, `${report.testBitsPerByte.austen} vs ${direct}`);
});

test("the length-only baselines read on the full sets are data/README.md's table", async () => {
  const sets = { minimalPairs: realData.minimalPairs, nextSentence: realData.nextSentence };
  const full = new Evaluator(lm, realData).resolve();
  const r = lengthOnlyOnSubset(sets, full);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  assert.equal(round(r.minimalPairs.accuracy), 0.335);
  assert.deepEqual(
    Object.fromEntries(Object.entries(r.minimalPairs.byType).map(([t, v]) => [t, round(v.accuracy)])),
    { agreement: 0.625, determiner: 0.733, article: 0.874, pronoun_case: 0.223, adjacent_swap: 0, word_substitution: 0, ngram_shuffle: 0 }
  );
  assert.equal(round(r.nextSentence.acc), 0.145);
  assert.equal(round(r.nextSentence.accNorm), 0.239);
});

test("a floor read on a subset counts exactly the subset's items and the bytes' running sums", () => {
  const sets = { minimalPairs: fixture.minimalPairs, nextSentence: fixture.nextSentence };
  const floor: FloorRecord = {
    id: "hand", label: "hand", train: "hand", order: 1,
    testBits: { "a-text": { cum: [1023, 2047], total: 2099, length: 2100 } },
    minimalPairs: "101",
    nextSentence: { acc: "000", accNorm: "103" }
  };
  const size = { bytes: { "a-text": 2048, "z-text": 6 }, minimalPairs: 2, nextSentence: 3, order: "seeded shuffle" as const, seed: SUBSET_SEED };
  const n = floorOnSubset(floor, sets, size);
  assert.equal(n.testBitsPerByte["a-text"], 1, "2047 bits over 2047 predicted bytes");
  assert.equal(n.testBitsPerByte["z-text"], undefined, "no sums for that split");
  assert.equal(floorOnSubset(floor, sets, { ...size, bytes: { "a-text": 2100 } }).testBitsPerByte["a-text"], 1, "the whole split: total over length - 1");
  assert.equal(floorOnSubset(floor, sets, { ...size, bytes: { "a-text": 1500 } }).testBitsPerByte["a-text"], undefined, "not a whole KiB");
  const first2 = Array.from(subsetOrder(3).subarray(0, 2));
  assert.equal(n.minimalPairs.accuracy, first2.filter((i) => floor.minimalPairs[i] === "1").length / 2);
  // acc_norm picks 1, 0, 3 against labels 1, 0, 3: all right; acc picks 0 everywhere: right on item 1 only.
  assert.deepEqual(n.nextSentence, { accNorm: 1, acc: 1 / 3, n: 3 });
  assert.throws(() => floorOnSubset({ ...floor, minimalPairs: "1" }, sets, size), /computed on 1 pairs and 3 next-sentence items, not on these sets \(3, 3\)/);
});
