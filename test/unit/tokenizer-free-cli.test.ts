// The tokenizer-free presets through the stlm command, as a user runs it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stlm } from "./stlm.js";


test("stlm train runs a BPE-pooled preset, and stlm eval and stlm tokenize read its checkpoint", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "stlm-tf-"));
  const text = path.join(dir, "pride.txt");
  await writeFile(text, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));
  const out = path.join(dir, "run");
  const train = await stlm("train", "--preset", "pooled-bpe", "--text", text, "--steps", "2", "--out", out, "--quiet");
  assert.equal(train.code, 0, train.stderr);
  const summary = JSON.parse(await readFile(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.steps, 2);
  assert.ok(summary.valBitsPerByte > 0);

  const evaluated = await stlm("eval", "--checkpoint", out, "--max-bytes", "256", "--limit", "2", "--json");
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const result = JSON.parse(evaluated.stdout);
  assert.equal(result.parameters, summary.parameters);
  assert.ok(result.testBitsPerByte.austen > 0);

  const tokenized = await stlm("tokenize", "--strategy", "bpe", "--checkpoint", out, "--text", "a truth");
  assert.equal(tokenized.code, 0, tokenized.stderr);
  assert.match(tokenized.stdout, /chunks, 7 bytes/);
});
