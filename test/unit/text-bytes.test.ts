// A reader's text file is checked and split as bytes: never decoded into one
// string (V8 strings stop short of 600 MB of text, and decoding and encoding a
// 200 MB file back took a GB), with the same messages as before.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { corpusFromBytes, corpusFromText } from "../../lib/text/data.js";
import { checkUserBytes, decodeUserBytes, encodeText, firstInvalidUtf8, firstInvalidUtf8Chunked, UTF8_CHUNK } from "../../lib/text/tokenizer.js";
import { loadTextBytes, loadTextCorpus, loadTextFile, MAX_TEXT_FILE_BYTES } from "../../lib/node/data.js";

const dir = await mkdtemp(path.join(tmpdir(), "stlm-text-"));
const text = Array.from({ length: 300 }, (_, i) => `line ${i}: Café, naïve — “quoted” ✓ 😀`).join("\n");

test("corpusFromBytes cuts the same train and validation bytes as corpusFromText", () => {
  const fromText = corpusFromText(text, { name: "t" });
  const fromBytes = corpusFromBytes(encodeText(text), { name: "t" });
  assert.deepEqual(fromBytes, fromText);
  assert.deepEqual(corpusFromBytes(encodeText(text), { valFraction: 0.25 }).val, corpusFromText(text, { valFraction: 0.25 }).val);
  assert.throws(() => corpusFromBytes(encodeText(text), { valFraction: 1 }), /valFraction must be between 0 and 1/);
  assert.throws(() => corpusFromBytes(encodeText("x")), /too short to split/);
});

test("empty, whitespace-only and non-UTF-8 bytes get decodeUserBytes's messages", () => {
  assert.throws(() => corpusFromBytes(new Uint8Array(0), { what: "notes.txt" }), /^InvalidTextError: notes\.txt is empty: give at least a few kilobytes/);
  for (const blank of [" \n\t\r\n ", "\u00a0\u3000 \u2028", "\ufeff", "\ufeff  \n"]) {
    assert.throws(() => corpusFromBytes(encodeText(blank), { what: "notes.txt" }), /notes\.txt holds only whitespace/, JSON.stringify(blank));
    assert.throws(() => decodeUserBytes(encodeText(blank), "notes.txt"), /notes\.txt holds only whitespace/, JSON.stringify(blank));
  }
  const bytes = encodeText(text);
  const bad = new Uint8Array(bytes.length + 1);
  bad.set(bytes.subarray(0, 5000));
  bad[5000] = 0xe9; // Latin-1 é
  bad.set(bytes.subarray(5000), 5001);
  assert.equal(firstInvalidUtf8(bytes.subarray(0, 5000)), -1, "the cut is at a character boundary");
  assert.throws(() => corpusFromBytes(bad, { what: "notes.txt" }), /notes\.txt is not valid UTF-8 \(first bad byte at offset 5000, 0xe9\)\. Save it as UTF-8 \(for example `iconv/);
  assert.throws(() => decodeUserBytes(bad, "notes.txt"), /first bad byte at offset 5000, 0xe9/);
});

test("a leading byte order mark is dropped from the bytes, as decoding drops it", () => {
  const withBom = encodeText("\ufeff" + text);
  assert.deepEqual(checkUserBytes(withBom), encodeText(text));
  assert.deepEqual(corpusFromBytes(withBom), corpusFromText(text));
  assert.equal(decodeUserBytes(withBom), text);
  assert.equal(decodeUserBytes(encodeText("\ufeff\ufeffx")), "\ufeffx", "only the first mark is a byte order mark");
});

test("a character split across the 1 MiB pieces the check decodes is whole, and a bad byte there is found where it is", () => {
  const ascii = (n: number) => new Uint8Array(n).fill(0x61);
  const emoji = [0xf0, 0x9f, 0x98, 0x80]; // U+1F600
  for (const start of [UTF8_CHUNK - 3, UTF8_CHUNK - 2, UTF8_CHUNK - 1]) {
    const b = ascii(UTF8_CHUNK + 16);
    b.set(emoji, start);
    assert.equal(firstInvalidUtf8Chunked(b), -1, `U+1F600 at ${start}`);
    assert.doesNotThrow(() => checkUserBytes(b));
  }
  const cut = ascii(UTF8_CHUNK + 16);
  cut.set([0xe2, 0x9c], UTF8_CHUNK - 1); // a three-byte character with its last byte missing, across the boundary
  assert.equal(firstInvalidUtf8Chunked(cut), UTF8_CHUNK - 1);
  const stray = ascii(UTF8_CHUNK + 16);
  stray.set([0xc3, 0xa9], UTF8_CHUNK - 2); // é, whole, just before the boundary
  stray[UTF8_CHUNK] = 0x80; // a continuation byte with no character to continue
  assert.equal(firstInvalidUtf8Chunked(stray), UTF8_CHUNK);
  const end = ascii(UTF8_CHUNK);
  end[UTF8_CHUNK - 1] = 0xf0; // the file ends inside a character
  assert.equal(firstInvalidUtf8Chunked(end), UTF8_CHUNK - 1);
});

test("the chunked check finds the same first bad byte as the byte-by-byte one, for any piece size", () => {
  // Valid characters of every length mixed with bytes that break UTF-8 (overlong, surrogate, too large, stray, cut).
  const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x9c, 0x93], [0xf0, 0x9f, 0x98, 0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x9c], [0xff], [0xe0, 0x80, 0x80]];
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let trial = 0; trial < 400; trial++) {
    const bytes: number[] = [];
    const valid = trial % 4 === 0; // a quarter with nothing bad, to check the no-error path too
    while (bytes.length < 40) bytes.push(...pieces[valid ? rand(4) : rand(8) === 0 ? 4 + rand(7) : rand(4)]);
    const b = Uint8Array.from(bytes);
    const want = firstInvalidUtf8(b);
    for (const chunk of [1, 2, 3, 5, 8, 64]) assert.equal(firstInvalidUtf8Chunked(b, chunk), want, `trial ${trial}, pieces of ${chunk}: ${Array.from(b, (x) => x.toString(16)).join(" ")}`);
  }
});

test("loadTextCorpus reads a file as bytes into the corpus corpusFromText makes of its text", async () => {
  const file = path.join(dir, "notes.txt");
  await writeFile(file, "\ufeff" + text);
  const corpus = await loadTextCorpus(file);
  assert.deepEqual(corpus, corpusFromText(text, { name: "notes.txt" }));
  assert.equal(Object.getPrototypeOf(corpus.train), Uint8Array.prototype, "a plain Uint8Array, not a Buffer (whose slice() would share memory)");
  assert.equal(await loadTextFile(file), text);
  assert.deepEqual(await loadTextBytes(file), encodeText(text));
  const latin1 = path.join(dir, "latin1.txt");
  await writeFile(latin1, Buffer.from("Caf\xe9 au lait", "latin1"));
  await assert.rejects(loadTextCorpus(latin1), /the file .*latin1\.txt is not valid UTF-8 \(first bad byte at offset 3, 0xe9\)/);
  const empty = path.join(dir, "empty.txt");
  await writeFile(empty, "");
  await assert.rejects(loadTextCorpus(empty), /empty\.txt is empty/);
  await assert.rejects(loadTextCorpus(path.join(dir, "nope.txt")), /No such file: .*nope\.txt/);
  await assert.rejects(loadTextCorpus(dir), /is a folder; give the path of a UTF-8 text file/);
});

test("a file over the size limit is refused before it is read, with the limit and the reason", async () => {
  assert.equal(MAX_TEXT_FILE_BYTES, 2 ** 30);
  const file = path.join(dir, "big.txt");
  await writeFile(file, "a".repeat(200));
  await assert.rejects(
    loadTextCorpus(file, { maxBytes: 199 }),
    /big\.txt is 200 bytes, more than the 199 bytes a text file may be here: training reads random windows of a few hundred bytes, so a few MB is plenty\. Train on a part of it \(for example `head -n 100000 /
  );
  await assert.rejects(loadTextFile(file, { maxBytes: 100 }), /more than the 100 bytes/);
  assert.equal((await loadTextCorpus(file, { maxBytes: 200 })).train.length + (await loadTextCorpus(file, { maxBytes: 200 })).val.length, 200, "a file at the limit is fine");
});
