// The stlm command end to end, as a user runs it: a real process, real files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile, truncate, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stlm } from "./stlm.js";


const dir = await mkdtemp(path.join(tmpdir(), "stlm-cli-"));
const textFile = path.join(dir, "pride.txt");
await writeFile(textFile, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));

test("stlm train writes a run folder, and --resume --extend-to continues it to a new total", async () => {
  const out = path.join(dir, "run");
  const r = await stlm("train", "--preset", "nano", "--text", textFile, "--steps", "4", "--seed", "3", "--eval-every", "2", "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const metrics = (await readFile(path.join(out, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(metrics.filter((m) => "loss" in m).map((m) => m.step), [1, 2, 3, 4]);
  assert.deepEqual(metrics.filter((m) => "valBitsPerByte" in m).map((m) => m.step), [2, 4]);
  const summary = JSON.parse(await readFile(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.steps, 4);
  assert.equal(summary.parameters, 230080);
  const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  assert.equal(config.model.dModel, 64);

  const again = await stlm("train", "--preset", "nano", "--text", textFile, "--steps", "4", "--out", out);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already holds a saved run; use --resume/);

  const resumed = await stlm("train", "--resume", out, "--extend-to", "6", "--quiet");
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = (await readFile(path.join(out, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(after.filter((m) => "loss" in m).map((m) => m.step), [1, 2, 3, 4, 5, 6]);

  const s = await stlm("sample", "--checkpoint", out, "--prompt", "It is a ", "--tokens", "12");
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith("It is a "));
});

test("stlm eval prints all three evaluations as JSON", async () => {
  const out = path.join(dir, "run");
  const r = await stlm("eval", "--checkpoint", out, "--json", "--max-bytes", "2000", "--limit", "8");
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(result.testBitsPerByte).sort(), ["austen", "bible", "moby-dick", "sotu"]);
  for (const v of Object.values(result.testBitsPerByte) as number[]) assert.ok(v > 0 && v < 9);
  assert.equal(result.minimalPairs.n, 8);
  assert.ok(Object.keys(result.minimalPairs.byType).length >= 2);
  assert.equal(result.nextSentence.n, 8);
  assert.ok(result.nextSentence.accNorm >= 0 && result.nextSentence.accNorm <= 1);
});

test("bad input gets a message that says what was wrong, and a saved run is never lost", async () => {
  const missing = await stlm("train", "--preset", "nano", "--text", path.join(dir, "nope.txt"), "--steps", "2", "--out", path.join(dir, "x"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such file: .*nope\.txt/);

  const latin1 = path.join(dir, "latin1.txt");
  await writeFile(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  const bad = await stlm("train", "--preset", "nano", "--text", latin1, "--steps", "2", "--out", path.join(dir, "y"));
  assert.match(bad.stderr, /not valid UTF-8 \(first bad byte at offset 3, 0xe9\)/);

  const unknown = await stlm("train", "--preset", "huge", "--corpus", "austen", "--steps", "2", "--out", path.join(dir, "z"));
  assert.match(unknown.stderr, /unknown preset "huge"/);
  const badLr = await stlm("train", "--preset", "nano", "--corpus", "austen", "--lr", "5", "--out", path.join(dir, "z"));
  assert.match(badLr.stderr, /--lr must be a number > 0 and < 1; got "5"/);
  const flag = await stlm("bench", "--stepz", "3");
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown flag --stepz/);

  const out = path.join(dir, "run");
  const file = path.join(out, "checkpoint.safetensors");
  const size = (await stat(file)).size;
  const copy = path.join(dir, "cut.safetensors");
  await writeFile(copy, (await readFile(file)).subarray(0, size - 100));
  const cut = await stlm("sample", "--checkpoint", copy, "--tokens", "3");
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /cut\.safetensors.*truncated/);
  await truncate(copy, 0);
  assert.match((await stlm("eval", "--checkpoint", copy)).stderr, /0 bytes, too short/);
  assert.equal((await stat(file)).size, size, "the saved run is untouched");
});

test("stlm params and stlm bench report the model they measure", async () => {
  const p = await stlm("params", "--preset", "micro", "--json");
  assert.equal(JSON.parse(p.stdout).total, 886144);
  const b = await stlm("bench", "--preset", "nano", "--steps", "2", "--warmup", "1", "--profile", "--json");
  assert.equal(b.code, 0, b.stderr);
  const r = JSON.parse(b.stdout);
  assert.equal(r.backend, "wasm");
  assert.deepEqual(r.model, { vocab: 258, dModel: 64, layers: 4, heads: 4, ffn: 192, ctx: 128, batch: 16 });
  assert.ok(r.tokensPerSecond > 0);
  // The same steps through the real training loop, reported beside the timed step (no leaks from either).
  assert.equal(r.loop.steps, 2);
  assert.ok(r.loop.tokensPerSecond > 0 && r.loop.ratio > 0);
  assert.equal(r.tensorsLeaked, 0);
  assert.deepEqual(r.matmul, { engine: "gemm", relaxedSimd: true });
  // --profile: the step's serial time by kernel adds up with the pool's share to the step.
  const sp = r.threadProfile.serial;
  const mm = sp.byKernel.find((k: { kernel: string }) => k.kernel === "BatchMatMul");
  assert.ok(sp.kernelCalls > 100 && mm.calls > 20 && mm.poolMs > 0 && mm.serialMs >= 0, JSON.stringify(mm));
  const pool = sp.byKernel.reduce((a: number, k: { poolMs: number }) => a + k.poolMs, 0);
  assert.ok(Math.abs(sp.inKernelsMs + sp.outsideKernelsMs + pool - r.threadProfile.stepMs) < 0.5, JSON.stringify({ ...sp, byKernel: undefined, pool, step: r.threadProfile.stepMs }));
});

test("stlm bench runs the stride-pooled model at a chosen context, and refuses what it cannot run", async () => {
  const b = await stlm("bench", "--preset", "pooled-stride4", "--ctx", "64", "--batch", "2", "--steps", "1", "--warmup", "1", "--matmul", "xnnpack", "--json");
  assert.equal(b.code, 0, b.stderr);
  const r = JSON.parse(b.stdout);
  assert.equal(r.params, 870656, "the same parameter count as scripts/reference_pooled_torch.py");
  assert.equal(r.model.ctx, 64);
  assert.equal(r.model.batch, 2);
  assert.equal(r.matmul.engine, "xnnpack");
  assert.equal(r.tensorsLeaked, 0);
  const bad = await stlm("bench", "--preset", "pooled-word");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown --preset "pooled-word"; choose one of .*pooled-stride4/);
  assert.match((await stlm("bench", "--matmul", "blas")).stderr, /--matmul must be gemm or xnnpack/);
});
