// Flags are read strictly: a value that is not plain decimal, or outside what the
// command can do, is refused with exit code 2 and a message naming the flag, the
// value, the rule and an example, before any model or file is loaded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BATCH_FLAG, describeRule, EVAL_EVERY_FLAG, LR_FLAG, parseFlags, SEED_FLAG, STEPS_FLAG, UsageError, type FlagSpec } from "../../lib/cli/args.js";
import { EVAL_FLAGS, SAMPLE_FLAGS } from "../../lib/cli/evaluate.js";
import { BENCH_FLAGS, checkBenchFits, MAX_BENCH_CTX, stepBytes, STEP_BYTES_LIMIT } from "../../lib/cli/bench.js";
import { TOKENIZE_FLAGS } from "../../lib/cli/tokenize.js";
import { main } from "../../lib/cli/main.js";

/** The UsageError message parseFlags gives, or fails when it accepts the flags. */
function refusal(argv: string[], spec: FlagSpec, command = "test"): string {
  try {
    parseFlags(argv, spec, command);
  } catch (e) {
    assert.ok(e instanceof UsageError, `a UsageError, not ${(e as Error).name}`);
    return e.message;
  }
  assert.fail(`parseFlags accepted ${argv.join(" ")}`);
}

/** Run the CLI in this process; what it writes to stdout and stderr is captured, not shown. */
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test("a whole-number flag takes decimal digits and nothing Number() would also take", () => {
  const spec: FlagSpec = { steps: STEPS_FLAG };
  assert.deepEqual(parseFlags(["--steps", "16"], spec, "train"), { steps: 16 });
  assert.deepEqual(parseFlags(["--steps=+16"], spec, "train"), { steps: 16 });
  for (const bad of ["0x10", "0b101", "0o17", "1e3", "1.5", "16.0", "", " 16", "16 ", "Infinity", "NaN", "sixteen", "1_000", "99999999999999999999"]) {
    assert.match(refusal(["--steps", bad], spec, "train"), /^stlm train: --steps must be a whole number from 1 to 10000000; got ".*"/, bad);
  }
  assert.match(refusal(["--steps", "0x10"], spec, "train"), /got "0x10" \(write numbers in decimal: 16\); for example --steps 500$/);
  assert.match(refusal(["--steps", "1e3"], spec, "train"), /got "1e3" \(write whole numbers as plain digits: 1000\)/);
});

test("a number flag takes decimals and exponents but not hex, Infinity or an empty value", () => {
  const spec: FlagSpec = { lr: LR_FLAG, x: "number" };
  assert.deepEqual(parseFlags(["--lr", "3e-3", "--x", "-.5"], spec, "train"), { lr: 0.003, x: -0.5 });
  assert.deepEqual(parseFlags(["--x", "2.", "--lr=0.25"], spec, "train"), { x: 2, lr: 0.25 });
  for (const bad of ["0x1", "Infinity", "-Infinity", "", ".", "1e", "e3", "1e400"]) {
    assert.match(refusal(["--x", bad], spec, "train"), /--x must be a number \(decimal\); got/, bad);
  }
  assert.match(refusal(["--lr", "0"], spec, "train"), /^stlm train: --lr must be a number > 0 and < 1; got "0"; for example --lr 0\.003$/);
  assert.match(refusal(["--lr", "1"], spec, "train"), /> 0 and < 1; got "1"/);
  assert.match(refusal(["--lr", "5"], spec, "train"), /> 0 and < 1; got "5"/);
});

test("the rules read as their bounds say", () => {
  assert.equal(describeRule({ kind: "int", min: 0, max: 10 }), "a whole number from 0 to 10");
  assert.equal(describeRule({ kind: "int", min: 1 }), "a whole number >= 1");
  assert.equal(describeRule({ kind: "int", max: 9 }), "a whole number <= 9");
  assert.equal(describeRule({ kind: "number", min: 0, minExclusive: true }), "a number > 0");
  assert.equal(describeRule({ kind: "number", min: 0, max: 1 }), "a number from 0 to 1");
  assert.equal(describeRule({ kind: "number", min: 0, max: 1, maxExclusive: true }), "a number >= 0 and < 1");
});

test("the flags train shares have the bounds its config checks", () => {
  const spec: FlagSpec = { seed: SEED_FLAG, steps: STEPS_FLAG, lr: LR_FLAG, batch: BATCH_FLAG, "eval-every": EVAL_EVERY_FLAG };
  assert.deepEqual(parseFlags(["--seed", "4294967295", "--steps", "10000000", "--lr", "0.999", "--batch", "1024", "--eval-every", "0"], spec, "train"), {
    seed: 2 ** 32 - 1,
    steps: 10_000_000,
    lr: 0.999,
    batch: 1024,
    "eval-every": 0
  });
  assert.match(refusal(["--seed", "4294967296"], spec, "train"), /--seed must be a whole number from 0 to 4294967295; got "4294967296"/);
  assert.match(refusal(["--steps", "0"], spec, "train"), /--steps must be a whole number from 1 to 10000000; got "0"/);
  assert.match(refusal(["--batch", "1025"], spec, "train"), /--batch must be a whole number from 1 to 1024; got "1025"/);
  assert.match(refusal(["--eval-every", "-1"], spec, "train"), /--eval-every must be a whole number >= 0 \(0: only at the end\); got "-1"/);
  assert.deepEqual(parseFlags(["--seed", "-0"], spec, "train"), { seed: 0 });
  assert.ok(Object.is(parseFlags(["--seed", "-0"], spec, "train").seed, 0), "-0 reads as 0");
});

test("each old bad case of sample, eval, bench and tokenize is refused by its flag spec", () => {
  assert.equal(refusal(["--top-k", "-3"], SAMPLE_FLAGS, "sample"), 'stlm sample: --top-k must be a whole number >= 0 (0: no top-k); got "-3"; for example --top-k 40');
  assert.match(refusal(["--seed", "1.5"], SAMPLE_FLAGS, "sample"), /--seed must be a whole number from 0 to 4294967295; got "1\.5"; for example --seed 1/);
  assert.match(refusal(["--seed", "-1"], SAMPLE_FLAGS, "sample"), /--seed must be a whole number from 0 to 4294967295; got "-1"/);
  assert.match(refusal(["--tokens", "100001"], SAMPLE_FLAGS, "sample"), /--tokens must be a whole number from 0 to 100000; got "100001"/);
  assert.match(refusal(["--temperature", "-0.1"], SAMPLE_FLAGS, "sample"), /--temperature must be a number >= 0 \(0: always the most likely byte\); got "-0\.1"/);
  assert.deepEqual(parseFlags(["--tokens", "0", "--temperature", "0", "--top-k", "0"], SAMPLE_FLAGS, "sample"), { tokens: 0, temperature: 0, "top-k": 0 });

  assert.match(refusal(["--max-bytes", "-5"], EVAL_FLAGS, "eval"), /^stlm eval: --max-bytes must be a whole number >= 2; got "-5"; for example --max-bytes 20000$/);
  assert.match(refusal(["--max-bytes", "0"], EVAL_FLAGS, "eval"), /--max-bytes must be a whole number >= 2; got "0"/);
  assert.match(refusal(["--limit", "2.5"], EVAL_FLAGS, "eval"), /--limit must be a whole number >= 1; got "2\.5"/);

  assert.match(refusal(["--ctx", "100000"], BENCH_FLAGS, "bench"), /--ctx must be a whole number from 2 to 2048 \(.*4 GiB heap.*\); got "100000"; for example --ctx 512/);
  assert.match(refusal(["--ctx", "1"], BENCH_FLAGS, "bench"), /from 2 to 2048/);
  assert.match(refusal(["--steps", "0x10"], BENCH_FLAGS, "bench"), /--steps must be a whole number from 1 to 100000; got "0x10"/);
  assert.match(refusal(["--warmup", "-1"], BENCH_FLAGS, "bench"), /--warmup must be a whole number from 0 to 10000/);
  assert.match(refusal(["--batch", "0"], BENCH_FLAGS, "bench"), /--batch must be a whole number from 1 to 1024/);

  assert.match(refusal(["--stride", "0"], TOKENIZE_FLAGS, "tokenize"), /--stride must be a whole number from 1 to 1024; got "0"/);
  assert.match(refusal(["--vocab", "100"], TOKENIZE_FLAGS, "tokenize"), /--vocab must be a whole number from 256 to 65536 \(256: bytes alone\); got "100"/);
  assert.match(refusal(["--max-chunk", "1e1"], TOKENIZE_FLAGS, "tokenize"), /--max-chunk must be a whole number from 1 to 1024; got "1e1" \(write whole numbers as plain digits: 10\)/);
});

test("a numeric flag followed by another flag says its value is missing", () => {
  assert.match(refusal(["--tokens", "--json"], SAMPLE_FLAGS, "sample"), /--tokens needs a value \(got the flag --json instead\)/);
  assert.match(refusal(["--tokens"], SAMPLE_FLAGS, "sample"), /--tokens needs a value$/);
  // A string flag may take a value that starts with dashes.
  assert.deepEqual(parseFlags(["--prompt", "--- a rule"], SAMPLE_FLAGS, "sample"), { prompt: "--- a rule" });
  assert.match(refusal(["--constructor", "1"], SAMPLE_FLAGS, "sample"), /unknown flag --constructor/);
});

test("a bench shape that would not fit wasm's heap is refused, and the measured ones that ran are not", () => {
  // These ran (peak 2.3, 3.1, 3.8 and 2.6 GB); the refused ones aborted or failed inside tfjs.
  for (const [preset, batch, ctx, stock] of [["micro", 1, 2048, false], ["micro", 16, 512, false], ["micro", 56, 256, false], ["micro", 1, 2048, true], ["micro", 16, 128, false], ["pooled-stride4", 16, 2048, false], ["pooled-stride4", 8, 2048, true]] as const) {
    assert.doesNotThrow(() => checkBenchFits(preset, batch, ctx, stock), `${preset} ${batch} x ${ctx}${stock ? " stock" : ""}`);
  }
  for (const [preset, batch, ctx, stock] of [["micro", 2, 2048, false], ["micro", 256, 128, false], ["nano", 1, 4096, false], ["micro", 48, 256, true], ["pooled-stride4", 1024, 2048, false]] as const) {
    assert.throws(() => checkBenchFits(preset, batch, ctx, stock), UsageError, `${preset} ${batch} x ${ctx}${stock ? " stock" : ""}`);
  }
  assert.throws(() => checkBenchFits("micro", 2, 2048), /--preset micro at --batch 2 --ctx 2048 would hold about 4\.\d\d GiB .* use --batch 1 at this context, or a shorter --ctx/);
  assert.ok(stepBytes("micro", 1, MAX_BENCH_CTX) < STEP_BYTES_LIMIT, "the longest --ctx fits at --batch 1");
  assert.ok(stepBytes("nano", 1, 2 * MAX_BENCH_CTX) > STEP_BYTES_LIMIT, "twice it does not");
});

test("stlm eval, sample and bench refuse a bad number with exit code 2 before loading anything", async () => {
  const missing = "/nonexistent/stlm-run"; // never opened: the flags are refused first
  const evalBad = await cli("eval", "--checkpoint", missing, "--max-bytes", "-5");
  assert.equal(evalBad.code, 2);
  assert.equal(evalBad.stderr, 'stlm eval: --max-bytes must be a whole number >= 2; got "-5"; for example --max-bytes 20000\n');
  const sampleBad = await cli("sample", "--checkpoint", missing, "--top-k", "-3");
  assert.equal(sampleBad.code, 2);
  assert.equal(sampleBad.stderr, 'stlm sample: --top-k must be a whole number >= 0 (0: no top-k); got "-3"; for example --top-k 40\n');
  const seed = await cli("sample", "--checkpoint", missing, "--seed", "1.5");
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /--seed must be a whole number from 0 to 4294967295; got "1\.5"/);
  const steps = await cli("bench", "--steps", "0x10");
  assert.equal(steps.code, 2);
  assert.match(steps.stderr, /^stlm bench: --steps must be a whole number from 1 to 100000; got "0x10" \(write numbers in decimal: 16\)/);
  const ctx = await cli("bench", "--ctx", "100000");
  assert.equal(ctx.code, 2);
  assert.match(ctx.stderr, /^stlm bench: --ctx must be a whole number from 2 to 2048 .*; got "100000"/);
  const shape = await cli("bench", "--ctx", "2048", "--batch", "16");
  assert.equal(shape.code, 2);
  assert.match(shape.stderr, /would hold about \d+\.\d\d GiB in one training step .* use --batch 1 at this context/);
  assert.equal(steps.stdout + ctx.stdout + shape.stdout, "", "nothing ran");
});
