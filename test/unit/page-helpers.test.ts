// The training page's small helpers: the smoothed loss line follows the real curve
// without lag, the thread hint never tells an isolated page to serve itself isolated,
// the precomputed run names its own backend, and its curve is a reference only for
// the same preset and corpus.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { biasCorrectedEma, trailingMean, trendSmooth } from "../../src/components/smoothing.js";
import { precomputedBackend, sameSetup, threadHint } from "../../src/components/train-page.js";

const ROOT = join(import.meta.dirname, "..", "..");

test("trendSmooth follows a steadily falling loss exactly, where a trailing mean and an EMA lag", () => {
  const xs = Array.from({ length: 40 }, (_, i) => i + 1);
  const ys = xs.map((x) => 8 - 0.1 * x);
  const smooth = trendSmooth(xs, ys, 10);
  for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(smooth[i] - ys[i]) < 1e-9, `step ${xs[i]}: ${smooth[i]} against ${ys[i]}`);
  // The old line: the mean of the last 10 steps sits (10 - 1) / 2 steps of slope above.
  assert.ok(Math.abs(trailingMean(ys, 10)[20] - ys[20] - 0.45) < 1e-9);
  assert.ok(biasCorrectedEma(ys, 10)[20] - ys[20] > 0.3, "a bias-corrected EMA lags a falling curve too");
});

test("trendSmooth is the first loss at step 1 and the mean of a flat noisy curve", () => {
  assert.deepEqual(trendSmooth([5], [3.25]), [3.25]);
  const xs = Array.from({ length: 400 }, (_, i) => i);
  const ys = xs.map((i) => 2 + (i % 2 ? 0.3 : -0.3));
  const s = trendSmooth(xs, ys, 10);
  assert.ok(Math.abs(s.at(-1)! - 2) < 0.35 && Math.abs(s.slice(-50).reduce((a, b) => a + b, 0) / 50 - 2) < 0.01);
});

test("on the committed nano/austen run, the smoothed line at steps 10-30 is within 0.1 bits of the curve's level; the trailing mean was up to 0.56 above", () => {
  const rows = readFileSync(join(ROOT, "data", "runs", "nano-austen", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.loss !== undefined);
  const xs = rows.map((r) => r.step);
  const ys = rows.map((r) => r.loss / Math.LN2);
  const smooth = trendSmooth(xs, ys, 10);
  const mean = trailingMean(ys, 10);
  // The curve's level at step t: the mean of steps t-5..t+5, which a line drawn at step t cannot see.
  const level = (i: number) => ys.slice(i - 5, i + 6).reduce((a, b) => a + b, 0) / 11;
  let worstMean = 0;
  for (const step of [10, 15, 20, 25, 30]) {
    const i = xs.indexOf(step);
    assert.ok(Math.abs(smooth[i] - level(i)) < 0.1, `step ${step}: smoothed ${smooth[i].toFixed(3)}, level ${level(i).toFixed(3)}`);
    worstMean = Math.max(worstMean, mean[i] - level(i));
  }
  assert.ok(worstMean > 0.4, `the old trailing mean lagged by ${worstMean.toFixed(3)}`);
});

test("the thread hint: unisolated pages are told how to get threads, isolated ones are not", () => {
  assert.equal(threadHint({ name: "wasm", threads: 4 }, true, 4), "");
  assert.equal(threadHint({ name: "webgl", threads: 0 }, false, 4), "");
  assert.match(threadHint({ name: "wasm", threads: 1 }, false, 4), /served cross-origin isolated/);
  const isolated = threadHint({ name: "wasm", threads: 1 }, true, 2);
  assert.doesNotMatch(isolated, /served cross-origin isolated|--isolated/);
  assert.match(isolated, /is cross-origin isolated, yet the wasm backend started one thread \(this browser reports 2 logical cores\)/);
});

test("the precomputed run's backend is its own, from its summary", () => {
  const summary = JSON.parse(readFileSync(join(ROOT, "data", "runs", "nano-austen", "summary.json"), "utf8"));
  assert.equal(precomputedBackend(summary), "wasm (SIMD, 1 thread) in Node");
  assert.equal(precomputedBackend({}), "Node (backend not recorded)");
});

test("the precomputed curve is a reference only for the same preset and corpus", () => {
  assert.ok(sameSetup({ label: "nano on austen" }, "nano on austen"));
  assert.ok(!sameSetup({ label: "micro on moby-dick" }, "nano on austen"));
  assert.ok(!sameSetup({ label: "nano on moby-dick" }, "nano on austen"));
  assert.ok(!sameSetup({ label: "nano on austen" }, ""));
});
