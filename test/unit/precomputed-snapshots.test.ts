// The snapshots shipped for the precomputed comparisons belong to the runs they claim:
// the sharing A/B files (data/runs/sharing/snapshots/, scripts/sharing-snapshots.ts) and
// the tokenizer-free comparison's (data/runs/tokenizer-free/compare-snapshots.json.gz,
// scripts/tokenizer-free-compare-snapshots.ts) checked against the figures' files by
// lib/runs/precomputed-snapshots.ts: arm and model names, seeds, step counts, the
// snapshot steps, map shapes, finite numbers, and the re-run's losses against the
// stored ones. And each check fails on a file that does not match.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { SHARING_EXPERIMENTS } from "../../lib/experiments/sharing.js";
import { COMPARE_MODELS } from "../../lib/experiments/tokenizer-free.js";
import { RERUN_TOLERANCE, checkCompareSnapshots, checkSharingSnapshots, snapshotSteps } from "../../lib/runs/precomputed-snapshots.js";
import { DEFAULT_PROBE } from "../../lib/train/snapshots.js";

const ROOT = join(import.meta.dirname, "..", "..");
const json = (p: string) => JSON.parse(readFileSync(join(ROOT, p), "utf8"));
const gz = (p: string) => JSON.parse(gunzipSync(readFileSync(join(ROOT, p))).toString("utf8"));
const clone = <T>(x: T): T => structuredClone(x);

/** Committed, loaded by a page: a few hundred KB at most per page. */
const MAX_PAGE_BYTES = 400_000;
/** The sharing page fetches one experiment's snapshot file, when that experiment is shown: each at most this, all three together at most 450 KB. */
const MAX_SHARING_FILE_BYTES = 200_000;
const MAX_SHARING_BYTES = 450_000;

test("snapshotSteps: step 0, every N and the last step", () => {
  assert.deepEqual(snapshotSteps(50, 250), [0, 50, 100, 150, 200, 250]);
  assert.deepEqual(snapshotSteps(22, 50), [0, 22, 44, 50]);
});

test("the sharing experiments' snapshot files match their figures: seed 1 of both arms, or a re-run that departed, said so", () => {
  let bytes = 0;
  const shipped: string[] = [];
  for (const e of SHARING_EXPERIMENTS) {
    const path = `data/runs/sharing/snapshots/${e.id}.json.gz`;
    if (!existsSync(join(ROOT, path))) continue;
    const size = statSync(join(ROOT, path)).size;
    assert.ok(size <= MAX_SHARING_FILE_BYTES, `${path}: ${size} bytes`);
    bytes += size;
    const figure = json(`data/runs/sharing/${e.id}.json`);
    const file = checkSharingSnapshots(gz(path), figure, path);
    assert.equal(file.seed, figure.seeds[0], "the figure's first seed");
    assert.deepEqual(file.arms.map((a) => a.label), e.arms.map((a) => a.label));
    assert.equal(file.snapshots.probe, DEFAULT_PROBE);
    if (file.available === false) {
      assert.match(file.reason!, /departs from the figure's run by more than/);
      continue;
    }
    shipped.push(e.id);
    for (const a of file.arms) {
      assert.ok(a.maxLossDiff <= RERUN_TOLERANCE, `${e.id} ${a.label}: re-run within ${RERUN_TOLERANCE} of the stored losses (${a.maxLossDiff})`);
      assert.ok(a.snapshots.at(-1)!.sample.length > 0);
    }
  }
  // Every experiment ships its snapshots (shared-ffn's and interior-lora's taken by their own runs since 2026-12-02).
  assert.deepEqual(shipped, SHARING_EXPERIMENTS.map((e) => e.id), `experiments with snapshots: ${shipped.join(", ")}`);
  assert.ok(bytes <= MAX_SHARING_BYTES, `the sharing page's snapshot files: ${bytes} bytes`);
});

test("the sharing check fails on a file that is not its figure's", () => {
  const e = SHARING_EXPERIMENTS[0];
  const figure = json(`data/runs/sharing/${e.id}.json`);
  const good = gz(`data/runs/sharing/snapshots/${e.id}.json.gz`);
  const bad = (change: (f: typeof good) => void, message: RegExp) => {
    const f = clone(good);
    change(f);
    assert.throws(() => checkSharingSnapshots(f, figure), message);
  };
  bad((f) => (f.arms[1].label = "something else"), /the figure's arm 1 is/);
  bad((f) => (f.experiment = "shared-ffn"), /is for experiment "shared-ffn"/);
  bad((f) => ((f.arms[0].seed = 7), (f.seed = 7)), /no run with seed 7/);
  bad((f) => f.arms[0].snapshots.pop(), /expected 0, 50/);
  bad((f) => (f.arms[0].steps[10][1] += 0.5), /records differences|departs from the stored run/);
  bad((f) => ((f.arms[0].steps[10][1] += 0.5), (f.arms[0].maxLossDiff = 0.5)), /departs from the stored run by up to 0\.5/);
  bad((f) => (f.arms[0].steps[3][1] = NaN), /value at step 4 is NaN/);
  bad((f) => (f.arms[0].snapshots[1].attention[0][0][0] = 300), /not a whole number 0\.\.255/);
  bad((f) => (f.totalSteps = 100), /the figure's runs trained 250/);
  // Unavailable only when the re-run departed; then with no snapshots.
  bad((f) => ((f.available = false), (f.reason = "x"), f.arms.forEach((a: { snapshots: unknown[] }) => (a.snapshots = []))), /marked unavailable, but every arm's re-run is within/);
  bad((f) => ((f.available = false), (f.reason = "x")), /ships no snapshots/);
});

test("the tokenizer-free comparison ships one seed of its models, re-run for its recorded steps, that matches the comparison", () => {
  const path = "data/runs/tokenizer-free/compare-snapshots.json.gz";
  assert.ok(existsSync(join(ROOT, path)), `${path} is committed`);
  assert.ok(statSync(join(ROOT, path)).size <= MAX_PAGE_BYTES, `${path}: ${statSync(join(ROOT, path)).size} bytes`);
  const figure = json("data/runs/tokenizer-free/austen-compare.json");
  const file = checkCompareSnapshots(gz(path), figure, path);
  const models = file.runs.map((r) => r.model);
  assert.ok(models.length >= 2 && new Set(models).size === models.length, `at least two models, each once (${models.join(", ")})`);
  assert.ok(models.every((m) => COMPARE_MODELS.some((x) => x.id === m)), "models of the comparison");
  for (const r of file.runs) {
    const stored = figure.runs.find((x: { model: string; ctx: number; budgetSeconds: number; seed: number }) => x.model === r.model && x.ctx === file.ctx && x.budgetSeconds === file.budgetSeconds && x.seed === r.seed);
    assert.equal(r.snapshots.at(-1)!.step, stored.steps, `${r.model}: the last snapshot is at the run's last step`);
    assert.ok(r.snapshots.length >= 5, `${r.model}: ${r.snapshots.length} snapshots`);
  }
  const bad = (change: (f: typeof file) => void, message: RegExp) => {
    const f = clone(file);
    change(f);
    assert.throws(() => checkCompareSnapshots(f, figure), message);
  };
  bad((f) => (f.runs[0].label = "bytes?"), /label "bytes\?"/);
  bad((f) => (f.runs[0].steps += 1), /steps \(warm-up/);
  bad((f) => (f.ctx = 64), /no run of [a-z0-9-]+ at context 64/);
  bad((f) => ((f.runs[0].losses[2][1] += 0.2), (f.runs[0].maxLossDiff = 0.2)), /departs from the stored run/);
  bad((f) => f.runs[0].losses.pop(), /steps \(\d+\) are not the stored run's/);
  bad((f) => f.runs[0].snapshots.shift(), /expected 0,/);
});
