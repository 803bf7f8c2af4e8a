import { test } from "node:test";
import assert from "node:assert/strict";
import { BpeTokenizer, pieces, trainBpe } from "../../lib/text/bpe.js";
import { checkSpans, learnedSpans, splitLong, strideSpans, wordSpans, bpeSpans, type Span } from "../../lib/text/boundaries.js";
import { gpt2Encode, gpt2Spans, gpt2Tokens } from "../../lib/text/gpt2.js";
import { Rng } from "../../lib/rng.js";
import { encodeText } from "../../lib/text/tokenizer.js";

const TRAIN = encodeText(
  "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. " +
    "However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well " +
    "fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.\n\n"
);
const tokenizer = new BpeTokenizer(trainBpe(TRAIN, 300));

const SAMPLES: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  ascii: encodeText("The quick brown fox, aged 12, jumps!\n\n  Over   the lazy dog."),
  utf8: encodeText("café — naïve 日本語 🙂 Zoë's façade"),
  longWord: encodeText("Antidisestablishmentarianism and pneumonoultramicroscopicsilicovolcanoconiosis"),
  invalid: Uint8Array.of(0x41, 0xff, 0xc3, 0x20, 0x62, 0xe6, 0x97, 0x41)
};

function randomBytes(seed: number, n: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 0x61 + rng.int(26) : rng.int(256)));
}

function strategies(bytes: Uint8Array): Record<string, { spans: Span[]; maxLen: number }> {
  const probs = Float32Array.from({ length: bytes.length }, (_, i) => ((i * 7919) % 10) / 10);
  return {
    stride: { spans: strideSpans(bytes.length, 4), maxLen: 4 },
    word: { spans: wordSpans(bytes, 12), maxLen: 12 },
    bpe: { spans: bpeSpans(bytes, tokenizer, 12), maxLen: 12 },
    gpt2: { spans: gpt2Spans(bytes, 12), maxLen: 12 },
    learned: { spans: learnedSpans(probs, { minLen: 3, maxLen: 16 }), maxLen: 16 }
  };
}

test("every strategy covers every byte exactly once, in order, within its length limits", () => {
  const inputs = { ...SAMPLES, random1: randomBytes(1, 500), random2: randomBytes(2, 37) };
  for (const [name, bytes] of Object.entries(inputs)) {
    for (const [strategy, { spans, maxLen }] of Object.entries(strategies(bytes))) {
      assert.equal(checkSpans(spans, bytes.length, maxLen), null, `${strategy} on ${name}`);
    }
  }
});

test("empty input gives no chunks under every strategy", () => {
  for (const [strategy, { spans }] of Object.entries(strategies(new Uint8Array(0)))) assert.deepEqual(spans, [], strategy);
});

test("learned boundaries keep every chunk but the last at least minLen long and cut at maxLen", () => {
  const ones = new Float32Array(20).fill(1);
  assert.deepEqual(learnedSpans(ones, { minLen: 3, maxLen: 16 }).map(([s, e]) => e - s), [3, 3, 3, 3, 3, 3, 2]);
  const zeros = new Float32Array(40);
  assert.deepEqual(learnedSpans(zeros, { minLen: 3, maxLen: 16 }).map(([s, e]) => e - s), [16, 16, 8]);
});

test("word chunks keep multi-byte UTF-8 characters whole", () => {
  const bytes = SAMPLES.utf8;
  for (const [s, e] of wordSpans(bytes)) {
    assert.notEqual(bytes[s] & 0xc0, 0x80, `a chunk starts inside a character at ${s}`);
    assert.ok(e === bytes.length || (bytes[e] & 0xc0) !== 0x80, `a chunk ends inside a character at ${e}`);
  }
});

test("splitLong cuts a long word at character starts", () => {
  const bytes = encodeText("ééééééé"); // 14 bytes, 2 per character
  assert.deepEqual(splitLong(bytes, [[0, 14]], 5), [[0, 4], [4, 8], [8, 12], [12, 14]]);
});

test("pieces() attaches one leading space to the word after it", () => {
  const bytes = encodeText("a  big, 1999\nend");
  const text = pieces(bytes).map(([s, e]) => new TextDecoder().decode(bytes.subarray(s, e)));
  assert.deepEqual(text, ["a", " ", " big", ",", " 1999", "\n", "end"]);
});

test("BPE train/encode/decode round-trips arbitrary bytes", () => {
  for (const bytes of [...Object.values(SAMPLES), randomBytes(3, 2000), TRAIN]) {
    const ids = tokenizer.encode(bytes);
    assert.ok(ids.every((id) => id >= 0 && id < tokenizer.vocabSize));
    assert.deepEqual(tokenizer.decode(ids), bytes);
  }
  assert.ok(tokenizer.encode(TRAIN).length < TRAIN.length * 0.7, "merges shorten the text they were learned on");
});

test("BPE training is deterministic and stops when no pair repeats", () => {
  assert.deepEqual(trainBpe(TRAIN, 300), trainBpe(TRAIN, 300));
  const tiny = trainBpe(encodeText("abcd"), 1000);
  assert.equal(tiny.vocabSize, 256);
});

test("GPT-2 ids for fixed strings match the published encoding", () => {
  assert.deepEqual(gpt2Encode("Hello world"), [15496, 995]);
  assert.deepEqual(gpt2Encode("hello world"), [31373, 995]);
  assert.deepEqual(gpt2Encode("The quick brown fox"), [464, 2068, 7586, 21831]);
  assert.deepEqual(gpt2Encode("<|endoftext|>").length > 1, true, "the special token is read as plain text");
});

test("GPT-2 spans of invalid UTF-8 give each bad byte its own chunk", () => {
  const { ids, spans } = gpt2Tokens(SAMPLES.invalid);
  assert.equal(checkSpans(spans, SAMPLES.invalid.length), null);
  assert.ok(ids.includes(-1));
});
