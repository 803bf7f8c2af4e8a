import { test } from "node:test";
import assert from "node:assert/strict";
import { gapNgramBitsPerByte, gapNgramProb, trainGapNgram } from "../../lib/eval/ngram.js";
import { encodeText } from "../../lib/text/tokenizer.js";

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

test("a gap-0 bigram on \"abab\" gives the hand-computed Witten-Bell probabilities", () => {
  const text = encodeText("abab");
  const m = trainGapNgram(text, { order: 2, gap: 0 });
  // Unigram: c(a) = c(b) = 2, N = 4, two distinct bytes: P0(b) = (2 + 2/256) / (4 + 2).
  const p0 = (2 + 2 / 256) / 6;
  // Bigram contexts: a -> b twice, b -> a once. After "a": c = 2, one distinct follower.
  close(gapNgramProb(m, encodeText("ab"), 1), (2 + 1 * p0) / 3, "p(b | a)");
  close(gapNgramProb(m, encodeText("aa"), 1), (0 + 1 * p0) / 3, "p(a | a)");
  // After "b": c = 1, one distinct follower (a).
  close(gapNgramProb(m, encodeText("ba"), 1), (1 + p0) / 2, "p(a | b)");
  // A context never seen backs off to the unigram; an unseen byte keeps a uniform share.
  close(gapNgramProb(m, encodeText("za"), 1), p0, "p(a | z)");
  close(gapNgramProb(m, encodeText("az"), 1), (0 + (0 + 2 / 256) / 6) / 3, "p(z | a)");
  // Bits per byte of "abab" itself: bytes 1..3 = b|a, a|b, b|a.
  const expected = -(2 * Math.log2((2 + p0) / 3) + Math.log2((1 + p0) / 2)) / 3;
  close(gapNgramBitsPerByte(m, text), expected, "bits/byte");
});

test("a gap-1 bigram predicts from the byte two back, never the byte just before", () => {
  const m = trainGapNgram(encodeText("abab"), { order: 2, gap: 1 });
  // Pairs (t-2 -> t): a -> a (t = 2), b -> b (t = 3).
  const p0 = (2 + 2 / 256) / 6;
  close(gapNgramProb(m, encodeText("aza"), 2), (1 + p0) / 2, "p(a | a, gap 1)");
  // The byte just before is ignored: "a?a" scores the same whatever ? is.
  close(gapNgramProb(m, encodeText("aba"), 2), gapNgramProb(m, encodeText("a\u0000a"), 2), "the gap byte is unseen");
});

test("a gap n-gram's probabilities over the 256 bytes sum to 1, at every order and gap", () => {
  const train = encodeText("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.".repeat(3));
  const ctx = encodeText("the man in w?");
  for (const order of [1, 2, 3, 5]) {
    for (const gap of [0, 1, 3]) {
      const m = trainGapNgram(train, { order, gap });
      let sum = 0;
      for (let v = 0; v < 256; v++) {
        const row = ctx.slice();
        row[row.length - 1] = v;
        sum += gapNgramProb(m, row, row.length - 1);
      }
      assert.ok(Math.abs(sum - 1) < 1e-9, `order ${order}, gap ${gap}: ${sum}`);
    }
  }
});

test("on repetitive text, a larger gap scores worse and order 1 ignores the gap", () => {
  const train = encodeText("the cat sat on the mat. ".repeat(50));
  const val = encodeText("the cat sat on the mat. ".repeat(4));
  const bits = [0, 1, 2, 3].map((gap) => gapNgramBitsPerByte(trainGapNgram(train, { order: 4, gap }), val));
  for (let g = 1; g < 4; g++) assert.ok(bits[g] > bits[g - 1], `gap ${g}: ${bits[g]} should exceed gap ${g - 1}: ${bits[g - 1]}`);
  close(gapNgramBitsPerByte(trainGapNgram(train, { order: 1, gap: 0 }), val), gapNgramBitsPerByte(trainGapNgram(train, { order: 1, gap: 2 }), val), "unigram");
  assert.throws(() => trainGapNgram(train, { order: 7 }), /order/);
});
