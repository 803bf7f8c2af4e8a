// Run records drawn as series: runs are named by the settings that differ between
// them (seed aside), and their curves and final numbers come out per seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { presetConfig } from "../../lib/config.js";
import { makeRunRecord, summarizeMetrics, type RunRecord } from "../../lib/runs/record.js";
import { finalValidationRows, seriesBySettings, trainingPoints, validationPoints } from "../../src/components/run-records.js";

function run(learningRate: number, seed: number, corpus = "austen"): RunRecord {
  const { model, train } = presetConfig("nano", { train: { steps: 20, seed, learningRate } });
  const steps = Array.from({ length: 20 }, (_, i) => ({ step: i + 1, loss: Math.LN2 * (8 - i * 0.1 - seed * 0.01) }));
  const evals = [{ step: 10, valBitsPerByte: 7 - seed * 0.1 }, { step: 20, valBitsPerByte: 6 - seed * 0.1 - learningRate * 100 }];
  return makeRunRecord({
    label: `lr${learningRate}-seed${seed}`, origin: "precomputed", preset: "nano", spec: { kind: "bytes", model }, train,
    data: { name: corpus, sha256: null, bytes: null }, lab: { version: "0.1.0", commit: null },
    runtime: { backend: "wasm", threads: 1, simd: true, fma: null, platform: "test" }, startedAt: `2026-12-01T10:00:0${seed}.000Z`,
    steps, evals, final: summarizeMetrics(steps, evals, 20)
  });
}

test("runs are named by the settings that differ between them, not by their seeds", () => {
  const records = [run(0.003, 1), run(0.003, 2), run(0.001, 1), run(0.001, 2)];
  assert.deepEqual([...seriesBySettings(records).values()], ["learningRate 0.003", "learningRate 0.003", "learningRate 0.001", "learningRate 0.001"]);
  const two = [run(0.003, 1), run(0.001, 1, "moby-dick")];
  assert.deepEqual([...seriesBySettings(two).values()], ['data "austen", learningRate 0.003', 'data "moby-dick", learningRate 0.001']);
  assert.deepEqual([...seriesBySettings([run(0.003, 1), run(0.003, 2)]).values()], ["lr0.003-seed1", "lr0.003-seed2"], "runs that differ only in seed keep their labels");
});

test("curves and final numbers come out one point per run and seed", () => {
  const records = [run(0.003, 1), run(0.003, 2)];
  const series = new Map(records.map((r) => [r, "a"]));
  assert.deepEqual(validationPoints(records, series).map((p) => [p.seed, p.step]), [[1, 10], [1, 20], [2, 10], [2, 20]]);
  const train = trainingPoints(records, { window: 10, series });
  assert.deepEqual(train.map((p) => [p.series, p.seed, p.step]), [["a (train)", 1, 10], ["a (train)", 1, 20], ["a (train)", 2, 10], ["a (train)", 2, 20]]);
  // The first window's mean loss, in bits: 8 - 0.1·mean(0..9) - 0.01·seed.
  assert.ok(Math.abs(train[0].value - (8 - 0.45 - 0.01)) < 1e-9);
  assert.deepEqual(finalValidationRows(records, series).map((r) => r.seed), [1, 2]);
});
