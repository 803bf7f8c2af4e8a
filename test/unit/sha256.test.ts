import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Rng } from "../../lib/rng.js";
import { Sha256, sha256 } from "../../lib/train/sha256.js";

const reference = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Seeded bytes, so a failure reproduces. */
function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextUint32() & 0xff;
  return out;
}

test("the empty input hashes to the published SHA-256 of nothing", () => {
  assert.equal(sha256(new Uint8Array(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(sha256([]), reference(new Uint8Array(0)));
});

test("\"abc\" hashes to the FIPS 180-4 example digest", () => {
  assert.equal(sha256(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("lengths either side of the padding and block boundaries match node:crypto", () => {
  for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
    const bytes = randomBytes(n, n);
    assert.equal(sha256(bytes), reference(bytes), `length ${n}`);
  }
});

test("a 3 MB random buffer matches node:crypto", () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 17, 3);
  assert.equal(sha256(bytes), reference(bytes));
});

test("parts split at odd boundaries hash as their concatenation", () => {
  const bytes = randomBytes(5000, 7);
  const want = reference(bytes);
  for (const cuts of [[1, 2, 3], [63, 64, 65], [0, 0, 100, 100, 4999], [7, 70, 700, 2049, 4001], [5000]]) {
    const parts: Uint8Array[] = [];
    let at = 0;
    for (const c of cuts) {
      parts.push(bytes.subarray(at, c));
      at = c;
    }
    parts.push(bytes.subarray(at));
    assert.equal(sha256(parts), want, `cuts ${cuts}`);
  }
});

test("the streaming hash gives the same digest for any split and can be read mid-stream", () => {
  const bytes = randomBytes(777, 11);
  const h = new Sha256();
  let at = 0;
  for (let step = 1; at < bytes.length; step = (step * 7 + 3) % 97) {
    h.update(bytes.subarray(at, at + step));
    at += step;
    assert.equal(h.hex(), reference(bytes.subarray(0, Math.min(at, bytes.length))), `after ${at} bytes`);
  }
});

test("a subarray view is hashed from its own offset, not from the start of its buffer", () => {
  const bytes = randomBytes(300, 13);
  const view = bytes.subarray(37, 251);
  assert.equal(sha256(view), reference(bytes.slice(37, 251)));
});

test("hashing 32 MB matches node:crypto (its speed is reported, not asserted: a shared machine's load is no test failure)", (t) => {
  const bytes = randomBytes(32 * 1024 * 1024, 17);
  const start = performance.now();
  const digest = sha256(bytes);
  const seconds = (performance.now() - start) / 1000;
  const mbPerSecond = bytes.length / 1e6 / seconds;
  t.diagnostic(`sha256: ${mbPerSecond.toFixed(0)} MB/s`);
  assert.equal(digest, reference(bytes));
});
