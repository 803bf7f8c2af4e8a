import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  BatchSampler,
  CORPUS_NAMES,
  DOC_SEPARATOR,
  DataFormatError,
  SHARED_ONLY_CORPUS_NAMES,
  SHARED_ONLY_EVAL_SET_NAMES,
  corpusFromDocs,
  corpusFromText,
  crc32,
  gunzipText,
  parseJsonl,
  splitForId,
  toCorpusDocs,
  toNextSentenceItems,
  type CorpusDoc
} from "../../lib/text/data.js";
import { DATA_DIR, listCorpora, loadCorpus, loadCorpusDocs, loadEvalSet, loadTextFile, loadTextCorpus, sharedDataDir } from "../../lib/node/data.js";
import { Rng } from "../../lib/rng.js";
import { encodeText } from "../../lib/text/tokenizer.js";

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Where `needle` first occurs in `haystack`, or -1. */
function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength));
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "stlm-data-"));

// ---------------------------------------------------------------------------
// Files

test("gunzipText reads what CompressionStream wrote, non-ASCII included", async () => {
  const text = '{"id":"a","split":"train","text":"café -- naïve"}\n';
  assert.equal(await gunzipText(await gzip(text)), text);
});

test("gunzipText says when bytes are not gzip or are damaged", async () => {
  await assert.rejects(gunzipText(encodeText("<html>not found</html>"), "austen.jsonl.gz"), /austen\.jsonl\.gz is not gzip data/);
  const good = await gzip("x".repeat(5000) + "y".repeat(5000));
  await assert.rejects(gunzipText(good.subarray(0, good.length - 12)), (err: Error) => err instanceof DataFormatError && /damaged gzip/.test(err.message));
});

test("parseJsonl skips blank lines and names the line that is not JSON", () => {
  assert.deepEqual(parseJsonl('{"a":1}\n\n{"a":2}\n'), [{ a: 1 }, { a: 2 }]);
  assert.throws(() => parseJsonl('{"a":1}\n{"a":\n', "f.jsonl"), /f\.jsonl, line 2: not valid JSON/);
});

test("the checksums in data/SHA256SUMS match the committed files", () => {
  const lines = readFileSync(path.join(DATA_DIR, "SHA256SUMS"), "utf8").trim().split("\n");
  const listed = lines.map((line) => {
    const [sum, file] = line.split(/\s+/);
    const actual = createHash("sha256").update(readFileSync(path.join(DATA_DIR, file))).digest("hex");
    assert.equal(actual, sum, `${file} does not match data/SHA256SUMS`);
    return file;
  });
  const present = ["corpora", "eval"].flatMap((dir) => readdirSync(path.join(DATA_DIR, dir)).map((f) => `${dir}/${f}`));
  assert.deepEqual(listed.sort(), present.sort(), "every file in data/corpora and data/eval is listed, and nothing else");
});

test("data/ holds none of the corpora or evaluation sets that must stay in ../shared", () => {
  const corpora = readdirSync(path.join(DATA_DIR, "corpora"));
  const evals = readdirSync(path.join(DATA_DIR, "eval"));
  for (const name of SHARED_ONLY_CORPUS_NAMES) assert.ok(!corpora.some((f) => f.startsWith(name)), `${name} must not be in data/corpora`);
  for (const name of SHARED_ONLY_EVAL_SET_NAMES) assert.ok(!evals.some((f) => f.startsWith(name)), `${name} must not be in data/eval`);
});

// ---------------------------------------------------------------------------
// Splits and corpora

test("crc32 gives the standard check value", () => {
  assert.equal(crc32(encodeText("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test("the four committed corpora store the crc32(id) % 20 split and the documented sizes", async () => {
  // From data/README.md: documents and text bytes per split.
  const expected: Record<string, { docs: [number, number, number]; bytes: [number, number, number] }> = {
    austen: { docs: [242, 16, 11], bytes: [3618168, 235504, 158768] },
    "moby-dick": { docs: [122, 5, 9], bytes: [1040903, 72049, 74911] },
    sotu: { docs: [213, 9, 11], bytes: [9860897, 468582, 430495] },
    bible: { docs: [1262, 59, 67], bytes: [4384082, 192937, 233606] }
  };
  assert.deepEqual(listCorpora().filter((n) => (CORPUS_NAMES as readonly string[]).includes(n)).sort(), [...CORPUS_NAMES].sort());
  for (const name of CORPUS_NAMES) {
    const docs = await loadCorpusDocs(name);
    for (const doc of docs) assert.equal(doc.split, splitForId(doc.id), `${doc.id} is stored as ${doc.split}`);
    const splits = ["train", "val", "test"] as const;
    assert.deepEqual(splits.map((s) => docs.filter((d) => d.split === s).length), expected[name].docs, name);
    assert.deepEqual(
      splits.map((s) => docs.filter((d) => d.split === s).reduce((n, d) => n + encodeText(d.text).length, 0)),
      expected[name].bytes,
      name
    );
  }
});

test("a corpus's training bytes are exactly its train documents, and hold no test document", async () => {
  for (const name of CORPUS_NAMES) {
    const docs = await loadCorpusDocs(name);
    const corpus = corpusFromDocs(name, docs);
    // Walk the train array document by document: every byte is accounted for.
    let at = 0;
    const sep = encodeText(DOC_SEPARATOR);
    docs
      .filter((d) => d.split === "train")
      .forEach((d, i) => {
        if (i > 0) {
          assert.deepEqual(corpus.train.subarray(at, at + sep.length), sep);
          at += sep.length;
        }
        const bytes = encodeText(d.text);
        assert.ok(Buffer.from(corpus.train.subarray(at, at + bytes.length)).equals(bytes), `${d.id} at byte ${at}`);
        at += bytes.length;
      });
    assert.equal(at, corpus.train.length, `${name}: train holds nothing but train documents`);
    for (const d of docs.filter((d) => d.split === "test")) {
      const bytes = encodeText(d.text);
      assert.equal(indexOfBytes(corpus.train, bytes), -1, `test document ${d.id} appears in ${name}'s training bytes`);
      assert.equal(indexOfBytes(corpus.val, bytes), -1, `test document ${d.id} appears in ${name}'s validation bytes`);
      assert.ok(indexOfBytes(corpus.test, bytes) >= 0, `test document ${d.id} is missing from ${name}'s test bytes`);
    }
    assert.deepEqual(corpus.docCounts, {
      train: docs.filter((d) => d.split === "train").length,
      val: docs.filter((d) => d.split === "val").length,
      test: docs.filter((d) => d.split === "test").length
    });
  }
});

test("no batch sampled for training ever contains a byte of a test or validation document", () => {
  // Each split is written in its own alphabet: train in lower-case letters,
  // val in digits, test in upper-case letters with a planted marker. Any byte
  // of a held-out document in a training batch would show.
  const rng = new Rng(7);
  const word = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]).join("");
  const docs: CorpusDoc[] = [];
  for (let i = 0; i < 60; i++) {
    const split = (["train", "train", "val", "test", "train"] as const)[i % 5];
    const alphabet = split === "train" ? "abcdefghij klmnop" : split === "val" ? "0123456789" : "ABCDEFGHIJ KLMNOP";
    const text = (split === "test" ? "QZXJ-TEST-MARKER " : "") + word(alphabet, 50 + rng.int(300));
    docs.push({ id: `synthetic/${i}`, split, text });
  }
  const corpus = corpusFromDocs("synthetic", docs);
  assert.deepEqual(corpus.docCounts, { train: 36, val: 12, test: 12 });
  assert.equal(indexOfBytes(corpus.train, encodeText("QZXJ")), -1);
  assert.ok(indexOfBytes(corpus.test, encodeText("QZXJ-TEST-MARKER")) >= 0);

  const allowed = new Set(encodeText("abcdefghij klmnop\n"));
  const sampler = new BatchSampler(corpus.train);
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) {
    const { x, y } = sampler.sample(rng, 8, 32);
    for (const v of [...x, ...y]) {
      assert.ok(allowed.has(v), `byte ${v} (${String.fromCharCode(v)}) came from a held-out document`);
      seen.add(v);
    }
  }
  assert.equal(seen.size, allowed.size, "the sampler reached every byte value of the training text");
});

test("toCorpusDocs names the document that has a bad split, a repeated id or no text", () => {
  assert.throws(() => toCorpusDocs([{ id: "a", split: "dev", text: "x" }], "c"), /c, document 1: "split" must be "train", "val" or "test" \(got "dev"\)/);
  assert.throws(() => toCorpusDocs([{ id: "a", split: "train", text: "x" }, { id: "a", split: "val", text: "y" }]), /document 2: repeats the id "a"/);
  assert.throws(() => toCorpusDocs([{ id: "a", split: "train", text: "" }]), /document 1: needs a non-empty string "text"/);
});

test("loadCorpus says which corpora exist when the name is unknown", async () => {
  await assert.rejects(loadCorpus("austin"), (err: Error) => /No corpus "austin"/.test(err.message) && /austen, .*moby-dick/.test(err.message));
  await assert.rejects(loadCorpus("../secret"), /is not a data set name/);
});

test("tinyshakespeare loads from ../shared/data with nanoGPT's split, when that folder is there", async (t) => {
  if (!sharedDataDir()) return t.skip("../shared/data is not present");
  const corpus = await loadCorpus("tinyshakespeare");
  assert.deepEqual([corpus.train.length, corpus.val.length, corpus.test.length], [1003854, 111540, 0]);
});

// ---------------------------------------------------------------------------
// Reader text

test("corpusFromText keeps the last tenth for validation, cut after a line break", () => {
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} of the reader's text`);
  const text = lines.join("\n");
  const corpus = corpusFromText(text);
  const bytes = encodeText(text);
  assert.equal(corpus.train.length + corpus.val.length, bytes.length);
  assert.deepEqual(corpus.test.length, 0);
  assert.deepEqual(corpus.docCounts, { train: 1, val: 1, test: 0 });
  assert.equal(corpus.train[corpus.train.length - 1], 0x0a, "train ends with the line break");
  assert.ok(corpus.val.length >= bytes.length * 0.08 && corpus.val.length <= bytes.length * 0.1, `val is ${corpus.val.length} of ${bytes.length} bytes`);
  assert.match(new TextDecoder().decode(corpus.val), /^line \d+ of/);
  assert.deepEqual(corpusFromText(text).val, corpus.val, "the cut is the same every time");
});

test("corpusFromText never cuts a multi-byte character when there is no line break", () => {
  const text = "é".repeat(1001); // two bytes each; 10% from the end falls mid-character
  const corpus = corpusFromText(text);
  const strict = new TextDecoder("utf-8", { fatal: true });
  assert.equal(strict.decode(corpus.train) + strict.decode(corpus.val), text);
  assert.ok(corpus.val.length > 0);
});

test("corpusFromText refuses a fraction outside (0, 1) and a text too short to split", () => {
  assert.throws(() => corpusFromText("some text\nmore", { valFraction: 0 }), /valFraction must be between 0 and 1/);
  assert.throws(() => corpusFromText("x"), /too short to split/);
});

test("loadTextFile reads UTF-8 and explains a missing file or a Latin-1 one", async () => {
  const dir = tmp();
  const good = path.join(dir, "good.txt");
  writeFileSync(good, "It is a truth universally acknowledged.\nCafé.\n".repeat(20));
  assert.match(await loadTextFile(good), /^It is a truth/);
  const corpus = await loadTextCorpus(good);
  assert.equal(corpus.name, "good.txt");
  assert.ok(corpus.val.length > 0 && corpus.train.length > corpus.val.length);

  await assert.rejects(loadTextFile(path.join(dir, "nope.txt")), /No such file: .*nope\.txt\. Check the path/);
  const latin1 = path.join(dir, "latin1.txt");
  writeFileSync(latin1, Buffer.from("Caf\xe9 au lait", "latin1"));
  await assert.rejects(loadTextFile(latin1), /latin1\.txt is not valid UTF-8 \(first bad byte at offset 3, 0xe9\).*iconv/);
  mkdirSync(path.join(dir, "folder"));
  await assert.rejects(loadTextFile(path.join(dir, "folder")), /is a folder/);
});

// ---------------------------------------------------------------------------
// Batches

test("BatchSampler returns targets that are the inputs shifted by one byte", () => {
  const bytes = encodeText("abcdefghijklmnopqrstuvwxyz");
  const { x, y } = new BatchSampler(bytes).sample(new Rng(1), 4, 5);
  assert.equal(x.length, 20);
  assert.equal(y.length, 20);
  for (let b = 0; b < 4; b++) {
    const start = bytes.indexOf(x[b * 5]);
    for (let t = 0; t < 5; t++) {
      assert.equal(x[b * 5 + t], bytes[start + t]);
      assert.equal(y[b * 5 + t], bytes[start + t + 1]);
    }
  }
});

test("BatchSampler draws its windows from the Rng alone, one draw per row", () => {
  const bytes = encodeText("The quick brown fox jumps over the lazy dog. ".repeat(10));
  const sampler = new BatchSampler(bytes);
  const a = new Rng(42);
  const b = new Rng(42);
  assert.deepEqual(sampler.sample(a, 6, 16), new BatchSampler(bytes.slice()).sample(b, 6, 16));
  assert.deepEqual(a.state(), b.state());
  const c = new Rng(42);
  for (let i = 0; i < 6; i++) c.int(1);
  assert.deepEqual(a.state(), c.state(), "sampling a batch of 6 advances the Rng by exactly 6 draws");
  assert.notDeepEqual(sampler.sample(new Rng(43), 6, 16).x, sampler.sample(new Rng(42), 6, 16).x);
});

test("BatchSampler reaches both the first and the last window of the text", () => {
  const bytes = encodeText("0123456789");
  const sampler = new BatchSampler(bytes);
  const firsts = new Set<number>();
  const lasts = new Set<number>();
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const { x, y } = sampler.sample(rng, 1, 4);
    firsts.add(x[0]);
    lasts.add(y[3]);
  }
  assert.deepEqual([...firsts].sort(), [...encodeText("012345")].sort(), "windows start at every offset 0..n-blockSize-1");
  assert.ok(lasts.has(encodeText("9")[0]), "the last byte of the text is a target");
});

test("BatchSampler says when the text is shorter than one window", () => {
  const sampler = new BatchSampler(encodeText("tiny"));
  assert.throws(() => sampler.sample(new Rng(1), 2, 4), /4 bytes, shorter than one training window of blockSize \+ 1 = 5 bytes/);
  assert.doesNotThrow(() => sampler.sample(new Rng(1), 2, 3));
  assert.throws(() => sampler.sample(new Rng(1), 0, 3), /batchSize must be a positive integer/);
});

// ---------------------------------------------------------------------------
// Evaluation sets

test("the minimal-pairs set loads with its seven types and four sources", async () => {
  const pairs = await loadEvalSet("minimal-pairs");
  assert.equal(pairs.length, 5290);
  assert.deepEqual([...new Set(pairs.map((p) => p.type))].sort(), [
    "adjacent_swap", "agreement", "article", "determiner", "ngram_shuffle", "pronoun_case", "word_substitution"
  ]);
  assert.deepEqual([...new Set(pairs.map((p) => p.source))].sort(), ["austen", "bible", "moby-dick", "sotu"]);
  assert.ok(pairs.every((p) => p.good !== p.bad));
});

test("the next-sentence set loads with four choices and a label per item", async () => {
  const items = await loadEvalSet("next-sentence");
  assert.equal(items.length, 915);
  assert.ok(items.every((it) => it.choices.length === 4 && it.label >= 0 && it.label < 4));
  assert.equal(items[0].id, "austen/ns/0000");
});

test("toNextSentenceItems names the item with a bad label or the wrong number of choices", () => {
  const item = { id: "x", source: "s", context: "c", choices: ["a", "b", "c", "d"], label: 1 };
  assert.equal(toNextSentenceItems([item])[0].label, 1);
  assert.throws(() => toNextSentenceItems([item, { ...item, label: 4 }]), /document 2: "label" must be 0, 1, 2 or 3 \(got 4\)/);
  assert.throws(() => toNextSentenceItems([{ ...item, choices: ["a", "b"] }]), /"choices" must be an array of 4/);
});

test("BLiMP loads from ../shared/data as minimal pairs by paradigm, when that folder is there", async (t) => {
  if (!sharedDataDir()) return t.skip("../shared/data is not present");
  const pairs = await loadEvalSet("blimp");
  assert.equal(pairs.length, 67000);
  assert.equal(new Set(pairs.map((p) => p.type)).size, 67);
  assert.equal(pairs[0].source, "blimp");
});
