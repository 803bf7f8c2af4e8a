import { test } from "node:test";
import assert from "node:assert/strict";
import * as tfjs from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Tensor, Tensor2D } from "@tensorflow/tfjs";
import { installTf, tf } from "../../lib/tf.js";
import { bitsPerByte, minimalPairs, nextSentence, scoreContinuations, type ScoringModel } from "../../lib/eval/eval.js";
import type { MinimalPair, NextSentenceItem } from "../../lib/text/data.js";
import { loadCorpus, loadEvalSet } from "../../lib/node/data.js";
import { BYTE_VOCAB_SIZE, encodeText } from "../../lib/text/tokenizer.js";

tfjs.env().set("IS_NODE", true);
installTf(tfjs);
await tfjs.setBackend("wasm");
await tfjs.ready();

const V = BYTE_VOCAB_SIZE;

/**
 * A byte bigram model: log p(next | previous) from a [258, 258] table. It is a
 * real language model, and its scores can be recomputed exactly on the CPU
 * (a sum over adjacent byte pairs, whatever the windows), which is what these
 * tests compare against. Like a transformer, it refuses input wider than its
 * context.
 */
class BigramModel implements ScoringModel {
  private readonly table: Tensor; // [V * V], row = previous byte

  constructor(readonly blockSize: number, readonly logProbs: Float32Array) {
    this.table = tf.tensor1d(logProbs);
  }

  /** Add-alpha smoothed counts of byte pairs in `text`; specials get no mass. */
  static fit(text: Uint8Array, blockSize: number, alpha = 0.5): BigramModel {
    const counts = new Float64Array(V * V);
    for (let i = 0; i + 1 < text.length; i++) counts[text[i] * V + text[i + 1]]++;
    const logProbs = new Float32Array(V * V).fill(-Infinity);
    for (let a = 0; a < V; a++) {
      let total = 0;
      for (let b = 0; b < 256; b++) total += counts[a * V + b] + alpha;
      for (let b = 0; b < 256; b++) logProbs[a * V + b] = Math.log((counts[a * V + b] + alpha) / total);
    }
    return new BigramModel(blockSize, logProbs);
  }

  /** Every byte equally likely: 8 bits each. */
  static uniform(blockSize: number): BigramModel {
    return BigramModel.fit(new Uint8Array(0), blockSize, 1);
  }

  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
    if (x.shape[1] > this.blockSize) throw new Error(`input of ${x.shape[1]} positions is wider than blockSize ${this.blockSize}`);
    return tf.tidy(() => tf.gather(this.table, tf.add(tf.mul(x, tf.scalar(V, "int32")), y)) as Tensor2D);
  }

  /** The same score in float64 on the CPU: log p of bytes[from..] given the bytes before. */
  sumLogProb(bytes: Uint8Array, from = 1): number {
    let s = 0;
    for (let i = Math.max(1, from); i < bytes.length; i++) s += this.logProbs[bytes[i - 1] * V + bytes[i]];
    return s;
  }

  dispose(): void {
    this.table.dispose();
  }
}

/**
 * A probe of the window geometry: log p of the target at window position t is
 * -(t + 1), minus the number of bytes the model sees when predicting it. A
 * score is then minus the sum of the context lengths each target was given.
 */
class ContextLengthProbe implements ScoringModel {
  constructor(readonly blockSize: number) {}

  tokenLogProbs(x: Tensor2D): Tensor2D {
    if (x.shape[1] > this.blockSize) throw new Error(`input of ${x.shape[1]} positions is wider than blockSize ${this.blockSize}`);
    const [B, T] = x.shape;
    return tf.tidy(() => tf.tile(tf.neg(tf.range(1, T + 1, 1, "float32")).reshape([1, T]), [B, 1]) as Tensor2D);
  }
}

/** Run an evaluation and check that it leaves no tensor behind. */
async function noLeaks<T>(run: () => Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await run();
  assert.equal(tf.memory().numTensors, before, "the evaluation leaked tensors");
  return result;
}

const bytes = (s: string) => encodeText(s);
const austen = await loadCorpus("austen");
const bigram = BigramModel.fit(austen.train, 64);

// ---------------------------------------------------------------------------
// Bits per byte

test("bitsPerByte of a model that finds every byte equally likely is 8", async () => {
  const uniform = BigramModel.uniform(64);
  const bpb = await noLeaks(() => bitsPerByte(uniform, austen.test, { maxBytes: 20000 }));
  assert.ok(Math.abs(bpb - 8) < 1e-5, `got ${bpb}`);
  uniform.dispose();
});

test("bitsPerByte counts every predicted byte exactly once, the short last window and padded batch included", async () => {
  const text = austen.test.subarray(0, 64 * 7 + 23); // 7 full windows and one of 23 bytes
  for (const batchSize of [1, 3, 16]) {
    const bpb = await noLeaks(() => bitsPerByte(bigram, text, { batchSize }));
    const expected = -bigram.sumLogProb(text) / (text.length - 1) / Math.LN2;
    assert.ok(Math.abs(bpb - expected) < 1e-5, `batchSize ${batchSize}: ${bpb} vs ${expected}`);
  }
  const capped = await bitsPerByte(bigram, austen.test, { maxBytes: 500 });
  const expected = -bigram.sumLogProb(austen.test.subarray(0, 500)) / 499 / Math.LN2;
  assert.ok(Math.abs(capped - expected) < 1e-5, `maxBytes 500: ${capped} vs ${expected}`);
});

test("a bigram fitted on austen's train split beats the uniform model on its test split", async () => {
  const bpb = await noLeaks(() => bitsPerByte(bigram, austen.test, { maxBytes: 40000, batchSize: 32 }));
  assert.ok(bpb > 2.5 && bpb < 4, `a byte bigram on English is ~3.3 bits per byte, got ${bpb}`);
  const progress: number[] = [];
  await bitsPerByte(bigram, austen.test, { maxBytes: 64 * 10 + 1, batchSize: 4, onProgress: (done) => progress.push(done) });
  assert.deepEqual(progress, [4, 8, 10]);
});

test("bitsPerByte says when there is too little text", async () => {
  await assert.rejects(bitsPerByte(bigram, bytes("a")), /at least 2 bytes of text \(got 1\)/);
});

// ---------------------------------------------------------------------------
// Continuations

test("scoreContinuations predicts the first continuation byte from the last context byte", async () => {
  const [withContext, empty] = await noLeaks(() =>
    scoreContinuations(bigram, [
      { context: bytes("She was"), continuation: bytes(" happy.") },
      { context: new Uint8Array(0), continuation: bytes("She") }
    ])
  );
  assert.ok(Math.abs(withContext - bigram.sumLogProb(bytes("She was happy."), 7)) < 1e-4);
  assert.ok(Math.abs(empty - bigram.sumLogProb(bytes("\n\nShe"), 2)) < 1e-4, "an empty context becomes the prefix \\n\\n");
});

test("scoreContinuations fits context and continuation into the block, cutting the context from the left", async () => {
  const probe = new ContextLengthProbe(8);
  const long = "x".repeat(100);
  const scores = await noLeaks(() =>
    scoreContinuations(probe, [
      // "ab" + "cd" fits in 9 bytes: one window; "c" sees 2 bytes, "d" sees 3.
      { context: bytes("ab"), continuation: bytes("cd") },
      // 100 + 2 bytes do not fit: the context is cut to 7 bytes, so "y" sees 7 and "z" sees 8.
      { context: bytes(long), continuation: bytes("yz") },
      // 20 bytes after a long context: windows predicting 4 bytes each from 5, 6, 7 and 8 bytes.
      { context: bytes(long), continuation: bytes("y".repeat(20)) }
    ])
  );
  assert.deepEqual(scores, [-(2 + 3), -(7 + 8), -5 * (5 + 6 + 7 + 8)]);
});

test("scoreContinuations scores each byte of a continuation longer than the block once", async () => {
  const small = BigramModel.fit(austen.train, 8);
  const text = "It is a truth universally acknowledged, that a single man";
  const [score] = await noLeaks(() => scoreContinuations(small, [{ context: bytes("Chapter 1. "), continuation: bytes(text) }]));
  assert.ok(Math.abs(score - small.sumLogProb(bytes("Chapter 1. " + text), 11)) < 1e-3);
  await assert.rejects(scoreContinuations(small, [{ context: bytes("a"), continuation: new Uint8Array(0) }]), /item 0 has an empty continuation/);
  small.dispose();
});

test("a model that returns the wrong shape is caught, and nothing leaks", async () => {
  const wrong: ScoringModel = { blockSize: 8, tokenLogProbs: (x) => tf.slice(tf.cast(x, "float32"), [0, 0], [-1, 1]) as Tensor2D };
  await noLeaks(() =>
    assert.rejects(scoreContinuations(wrong, [{ context: bytes("ab"), continuation: bytes("cd") }]), /tokenLogProbs returned shape \[1,1\] for inputs of shape \[1, 8\]/)
  );
});

// ---------------------------------------------------------------------------
// Minimal pairs

test("minimalPairs counts a pair correct only when good scores strictly higher, per type", async () => {
  const pairs: MinimalPair[] = [
    { id: "1", source: "hand", type: "spelling", good: "She was very happy.", bad: "Sxe wqs vkry haqpy." },
    { id: "2", source: "hand", type: "spelling", good: "Sxe wqs vkry haqpy.", bad: "She was very happy." },
    { id: "3", source: "hand", type: "same", good: "the same", bad: "the same" }
  ];
  const result = await noLeaks(() => minimalPairs(bigram, pairs));
  assert.deepEqual(result, { accuracy: 1 / 3, n: 3, byType: { spelling: { accuracy: 0.5, n: 2 }, same: { accuracy: 0, n: 1 } } });
});

test("minimalPairs on real pairs agrees with a float64 recount of the bigram scores", async () => {
  const all = await loadEvalSet("minimal-pairs");
  const pairs = all.filter((_, i) => i % 25 === 0); // 212 pairs of every type and source
  const result = await noLeaks(() => minimalPairs(bigram, pairs, { batchSize: 64 }));
  let correct = 0;
  let nearTies = 0;
  for (const p of pairs) {
    const margin = bigram.sumLogProb(bytes("\n\n" + p.good), 2) - bigram.sumLogProb(bytes("\n\n" + p.bad), 2);
    if (Math.abs(margin) < 1e-3) nearTies++;
    if (margin > 0) correct++;
  }
  assert.equal(result.n, pairs.length);
  assert.ok(Math.abs(result.accuracy * pairs.length - correct) <= nearTies, `${result.accuracy * pairs.length} vs ${correct} correct`);
  assert.equal(Object.values(result.byType).reduce((n, t) => n + t.n, 0), pairs.length);
  assert.ok(result.accuracy > 0.5, `a bigram does better than chance on minimal pairs, got ${result.accuracy}`);
});

// ---------------------------------------------------------------------------
// Next sentence

test("nextSentence divides each choice's log-probability by its length for acc_norm", async () => {
  // Every transition costs 1 nat, except into "b" (0.5) and into "z" (3).
  const logProbs = new Float32Array(V * V);
  for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) logProbs[a * V + b] = b === 0x62 ? -0.5 : b === 0x7a ? -3 : -1;
  const model = new BigramModel(64, logProbs);
  const items: NextSentenceItem[] = [
    // sums: a -1, bbbbbbbb -4, zz -6, ab -1.5; per byte: -1, -0.5, -3, -0.75. acc picks 0, acc_norm picks 1.
    { id: "1", source: "hand", context: "ctx", choices: ["a", "bbbbbbbb", "zz", "ab"], label: 1 },
    { id: "2", source: "hand", context: "ctx", choices: ["a", "bbbbbbbb", "zz", "ab"], label: 0 },
    // sums: zz -6, ab -1.5, a -1, bb -1 (a tie: the first wins); per byte: -3, -0.75, -1, -0.5.
    { id: "3", source: "hand", context: "ctx", choices: ["zz", "ab", "a", "bb"], label: 3 }
  ];
  const result = await noLeaks(() => nextSentence(model, items));
  assert.deepEqual(result, { accNorm: 2 / 3, acc: 1 / 3, n: 3 });
  model.dispose();
});

test("nextSentence scores real items from context plus a space", async () => {
  const items = (await loadEvalSet("next-sentence")).slice(0, 20);
  const result = await noLeaks(() => nextSentence(bigram, items));
  let acc = 0;
  let accNorm = 0;
  for (const item of items) {
    const ctx = item.context + " ";
    const raw = item.choices.map((c) => bigram.sumLogProb(bytes(ctx + c), bytes(ctx).length));
    const norm = raw.map((s, j) => s / bytes(item.choices[j]).length);
    if (raw.indexOf(Math.max(...raw)) === item.label) acc++;
    if (norm.indexOf(Math.max(...norm)) === item.label) accNorm++;
  }
  assert.deepEqual(result, { accNorm: accNorm / 20, acc: acc / 20, n: 20 });
});

test("a model that knows nothing scores the length baselines given in data/README.md", async () => {
  // Every byte costs the same, so the shorter sentence wins and equal lengths tie (counted wrong).
  const uniform = BigramModel.uniform(128);
  const pairs = await noLeaks(() => loadEvalSet("minimal-pairs").then((p) => minimalPairs(uniform, p, { batchSize: 128 })));
  const byType = Object.fromEntries(Object.entries(pairs.byType).map(([type, r]) => [type, Math.round(r.accuracy * r.n)]));
  assert.deepEqual(byType, {
    agreement: 470, determiner: 556, article: 590, pronoun_case: 157, adjacent_swap: 0, word_substitution: 0, ngram_shuffle: 0
  });
  assert.equal(Math.round(pairs.accuracy * 1000) / 1000, 0.335);
  // The true sentence is the shortest choice in 14.5% of items; with all scores per byte equal, acc_norm picks choice 0.
  const ns = await nextSentence(uniform, await loadEvalSet("next-sentence"), { batchSize: 128 });
  assert.deepEqual([Math.round(ns.acc * 1000) / 1000, Math.round(ns.accNorm * 1000) / 1000], [0.145, 0.239]);
  uniform.dispose();
});
