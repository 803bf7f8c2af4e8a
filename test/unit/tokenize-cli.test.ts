import { test } from "node:test";
import assert from "node:assert/strict";
import { formatChunks, tokenizeFromFlags } from "../../lib/cli/tokenize.js";

const run = async (flags: Record<string, string | number>) => {
  const r = await tokenizeFromFlags(flags);
  return { ...r, text: formatChunks(r.bytes, r.spans) };
};

test("stlm tokenize prints stride chunks, with hex for a chunk that is not whole UTF-8", async () => {
  const { text } = await run({ strategy: "stride", stride: 2, text: "aébc" });
  assert.equal(text.split("\n")[0], "[<61 c3>][<a9 62>][c]");
});

test("stlm tokenize prints GPT-2 chunks", async () => {
  const { text } = await run({ strategy: "gpt2", text: "Hello world" });
  assert.match(text, /^\[Hello\]\[ world\]\n2 chunks, 11 bytes/);
});

test("stlm tokenize says when learned boundaries come from an untrained predictor", async () => {
  const { notes, text } = await run({ strategy: "learned", text: "It is a truth universally acknowledged" });
  assert.match(notes.join(" "), /UNTRAINED/);
  assert.match(text, /chunks, 38 bytes/);
});

test("stlm tokenize refuses an unknown strategy", async () => {
  await assert.rejects(run({ strategy: "morpheme", text: "x" }), /--strategy must be one of/);
});
