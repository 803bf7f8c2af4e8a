// The run record: one versioned shape for a run from the CLI, a page, a data loader
// or an import; malformed files are refused with a message that says what was wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { presetConfig } from "../../lib/config.js";
import { readRunRecord, RUN_RECORD_FILE, metricsRows } from "../../lib/node/runrecord.js";
import {
  checkRunFileSize,
  configDiff,
  makeRunRecord,
  MAX_RUN_RECORD_BYTES,
  metricsCsv,
  parseRunRecord,
  RunRecordError,
  summarizeMetrics,
  validateRunRecord,
  type RecordParts
} from "../../lib/runs/record.js";
import { stlm } from "./stlm.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = await mkdtemp(path.join(tmpdir(), "stlm-record-"));

function parts(over: Partial<RecordParts> = {}): RecordParts {
  const { model, train } = presetConfig("nano", { train: { steps: 3, seed: 7 } });
  const steps = [
    { step: 1, loss: 5.5, lr: 0.001, tokensPerSecond: 4000, elapsedMs: 10 },
    { step: 2, loss: 5.25, lr: 0.002, tokensPerSecond: 4200, elapsedMs: 20 },
    { step: 3, loss: 5.0, lr: 0.003, tokensPerSecond: 4400, elapsedMs: 30 }
  ];
  const evals = [{ step: 3, valBitsPerByte: 6.5 }];
  return {
    label: "nano on austen, seed 7",
    origin: "page",
    page: "/train",
    preset: "nano",
    spec: { kind: "bytes", model },
    train,
    data: { name: "austen", sha256: "ab".repeat(32), bytes: 1234 },
    lab: { version: "0.1.0", commit: "deadbeef" },
    runtime: { backend: "wasm", threads: 1, simd: true, fma: true, platform: "test" },
    startedAt: "2026-12-01T10:00:00.000Z",
    steps,
    evals,
    final: summarizeMetrics(steps, evals, 3),
    ...over
  };
}

const refused = (re: RegExp) => (e: Error) => e instanceof RunRecordError && re.test(e.message);

test("a record survives JSON and back unchanged, with a stable id from its start time and settings", () => {
  const r = makeRunRecord(parts());
  assert.deepEqual(parseRunRecord(JSON.stringify(r)), r);
  assert.equal(makeRunRecord(parts()).id, r.id, "the same run gets the same id");
  assert.notEqual(makeRunRecord(parts({ startedAt: "2026-12-01T10:00:01.000Z" })).id, r.id);
  assert.deepEqual(r.final, { steps: 3, plannedSteps: 3, stopped: false, trainLoss: 5, valBitsPerByte: 6.5, meanTokensPerSecond: 4200 });
});

test("a truncated file is refused as cut short, not as a mystery", () => {
  const text = JSON.stringify(makeRunRecord(parts()));
  assert.throws(() => parseRunRecord(text.slice(0, text.length - 40), "run.json"), refused(/^run\.json is not valid JSON \(it ends too early: was the download or copy cut short\?\)/));
  // Cut after a comma and a line break (a pretty-printed download): the parser blames a property name, not the end.
  const pretty = JSON.stringify(makeRunRecord(parts()), null, 1);
  const cut = pretty.slice(0, pretty.indexOf(",\n", 200) + 2);
  assert.throws(() => parseRunRecord(cut, "run.json"), refused(/^run\.json is not valid JSON \(it ends too early: was the download or copy cut short\?\)/));
  assert.throws(() => parseRunRecord(""), refused(/is empty/));
});

test("a record of another version or format is refused, naming what this lab reads", () => {
  const r = makeRunRecord(parts());
  assert.throws(() => validateRunRecord({ ...r, version: 2 }), refused(/version 2, newer than this lab reads \(1\); open it with a newer lab/));
  assert.throws(() => validateRunRecord({ ...r, version: 0 }), refused(/version 0; this lab reads version 1/));
  assert.throws(() => validateRunRecord({ ...r, format: "wandb" }), refused(/is not a lab run record \(format "wandb"/));
  assert.throws(() => validateRunRecord([1, 2]), refused(/a JSON object was expected/));
});

test("a number that is not finite anywhere in a record is refused with its path", () => {
  const r = makeRunRecord(parts());
  const nan = structuredClone(r);
  nan.metrics.steps[1].loss = NaN;
  assert.throws(() => validateRunRecord(nan), refused(/metrics\.steps\[1\]\.loss is NaN, not a finite number/));
  // JSON cannot say NaN; it can say 1e999, which parses as Infinity.
  const text = JSON.stringify(r).replace('"valBitsPerByte":6.5', '"valBitsPerByte":1e999');
  assert.throws(() => parseRunRecord(text), refused(/metrics\.evals\[0\]\.valBitsPerByte is Infinity/));
  assert.throws(() => parseRunRecord(JSON.stringify(r).replace('"loss":5.5', '"loss":NaN')), refused(/is not valid JSON/));
});

test("a file declared larger than a record may be is refused before it is read", () => {
  assert.throws(() => checkRunFileSize(2 ** 30, "big.json"), refused(/^big\.json is 1\.0 GiB, more than the 64\.0 MiB a run record may be; is it a checkpoint or a corpus/));
  assert.doesNotThrow(() => checkRunFileSize(MAX_RUN_RECORD_BYTES));
  assert.throws(() => checkRunFileSize(0), refused(/is empty/));
});

test("bad settings or shapes inside a record are refused with the field named", () => {
  const r = makeRunRecord(parts());
  assert.throws(() => validateRunRecord({ ...r, train: { ...r.train, learningRate: 5 } }), refused(/its model or training settings are invalid: .*learningRate/));
  assert.throws(() => validateRunRecord({ ...r, origin: "mars" }), refused(/origin must be one of cli, page, precomputed, import/));
  assert.throws(() => validateRunRecord({ ...r, data: { name: "austen", sha256: "xyz", bytes: 1 } }), refused(/data must be/));
  assert.throws(() => validateRunRecord({ ...r, metrics: { steps: [{ step: -1, loss: 1 }], evals: [] } }), refused(/metrics\.steps\[0\] must be/));
  assert.throws(() => validateRunRecord({ ...r, metrics: { ...r.metrics, evals: [{ step: 3, valBitsPerByte: 6.5, elapsedMs: -5 }] } }), refused(/metrics\.evals\[0\]\.elapsedMs, where present, must be the training milliseconds/));
  assert.throws(() => validateRunRecord({ ...r, data: { ...r.data, identifiedBy: 7 } }), refused(/data\.identifiedBy, where present, must be a text/));
});

test("an evaluation may keep its training time (the version stays 1); a record without it reads as before", () => {
  const timed = makeRunRecord(parts({ evals: [{ step: 3, valBitsPerByte: 6.5, elapsedMs: 30 }] }));
  assert.equal(timed.version, 1);
  assert.deepEqual(parseRunRecord(JSON.stringify(timed)).metrics.evals, [{ step: 3, valBitsPerByte: 6.5, elapsedMs: 30 }]);
  const untimed = parseRunRecord(JSON.stringify(makeRunRecord(parts())));
  assert.deepEqual(untimed.metrics.evals, [{ step: 3, valBitsPerByte: 6.5 }]);
});

test("metrics export as CSV with validation on the steps that were evaluated", () => {
  const csv = metricsCsv(makeRunRecord(parts({ evals: [{ step: 0, valBitsPerByte: 8 }, { step: 3, valBitsPerByte: 6.5 }] })));
  assert.equal(csv, "step,loss,lr,tokensPerSecond,elapsedMs,valBitsPerByte\n0,,,,,8\n1,5.5,0.001,4000,10,\n2,5.25,0.002,4200,20,\n3,5,0.003,4400,30,6.5\n");
});

test("the config diff names only the settings that differ", () => {
  const a = makeRunRecord(parts());
  const b = makeRunRecord(parts({ train: { ...a.train, learningRate: 0.001, seed: 8 }, data: { ...a.data, name: "moby-dick" } }));
  assert.deepEqual(configDiff(a, b), ["data: \"austen\" → \"moby-dick\"", "train.learningRate: 0.003 → 0.001", "train.seed: 7 → 8"]);
  assert.deepEqual(configDiff(a, a), []);
});

test("stlm train writes run.json: the record of its config, data hash, runtime, metrics and checkpoint", async () => {
  const text = path.join(dir, "pride.txt");
  await writeFile(text, (await readFile(path.join(ROOT, "README.md"), "utf8")).repeat(3));
  const out = path.join(dir, "run");
  const r = await stlm("train", "--preset", "nano", "--text", text, "--steps", "4", "--seed", "3", "--eval-every", "2", "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const record = parseRunRecord(await readFile(path.join(out, RUN_RECORD_FILE), "utf8"));
  assert.equal(record.origin, "cli");
  assert.equal(record.train.seed, 3);
  assert.equal(record.data.name, "text:pride.txt");
  assert.match(record.data.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(record.runtime.backend, "wasm");
  assert.match(record.runtime.platform, /^node v\d+/);
  assert.equal(record.lab.version, JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")).version);
  const rows = metricsRows(await readFile(path.join(out, "metrics.jsonl"), "utf8"));
  assert.deepEqual(record.metrics.steps, rows.steps);
  assert.deepEqual(record.metrics.evals.map((e) => e.step), [2, 4]);
  assert.equal(record.final?.steps, 4);
  assert.equal(record.final?.trainLoss, rows.steps[3].loss);
  const { createHash } = await import("node:crypto");
  const ckpt = await readFile(path.join(out, "checkpoint.safetensors"));
  assert.deepEqual(record.checkpoint, { sha256: createHash("sha256").update(ckpt).digest("hex"), bytes: ckpt.length });
  assert.deepEqual(await readRunRecord(out), record, "a run folder reads back as its run.json");

  // A resumed run keeps its start time and continues the same record.
  const resumed = await stlm("train", "--resume", out, "--extend-to", "6", "--quiet");
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = await readRunRecord(out);
  assert.equal(after.startedAt, record.startedAt);
  assert.equal(after.id, record.id, "an extended run keeps its id");
  assert.deepEqual(after.metrics.steps.slice(0, 4), record.metrics.steps);
  assert.equal(after.metrics.steps.length, 6);

  // Resuming on bytes that changed is refused, and the saved run is untouched.
  await writeFile(text, "other text entirely. ".repeat(400));
  const changed = await stlm("train", "--resume", out, "--extend-to", "8", "--quiet");
  assert.equal(changed.code, 2, changed.stderr);
  assert.match(changed.stderr, /the data this run trained on has changed since it started \(text:pride\.txt: SHA-256 [0-9a-f]{12}…, run\.json records [0-9a-f]{12}…\)/);
  assert.deepEqual(await readRunRecord(out), after);
});

test("a run folder from before run records reads as one, its unknowns stated", async () => {
  // data/runs/nano-austen as it was before it had a run.json: the same files, less that one.
  const legacy = await mkdtemp(path.join(tmpdir(), "stlm-legacy-"));
  for (const f of ["config.json", "metrics.jsonl", "summary.json", "checkpoint.safetensors"]) await copyFile(path.join(ROOT, "data", "runs", "nano-austen", f), path.join(legacy, f));
  const record = await readRunRecord(legacy, { origin: "precomputed" });
  assert.equal(record.origin, "precomputed");
  assert.equal(record.preset, "nano");
  assert.equal(record.data.name, "austen");
  assert.equal(record.data.sha256, null);
  assert.equal(record.lab.commit, null);
  assert.match(record.notes?.[0] ?? "", /predates run records \(no run\.json\)/);
  assert.equal(record.metrics.steps.length, record.train.steps);
  assert.match(record.checkpoint?.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.deepEqual(parseRunRecord(JSON.stringify(record)), record, "and it is a valid record");
});

test("the training page's data loader hands the page the precomputed run's record", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(ROOT, "src/data/nano-austen-run.json.ts")], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  const out = JSON.parse(stdout) as { available: boolean; record: unknown; steps: unknown[] };
  assert.equal(out.available, true);
  const record = validateRunRecord(out.record, "the loader's record");
  assert.equal(record.origin, "precomputed");
  assert.equal(record.metrics.steps.length, out.steps.length);
});

test("data/runs/nano-austen's run.json is a CLI record of the figure: the same losses as its metrics.jsonl, the data's hash, the commit that made it", async () => {
  const dir = path.join(ROOT, "data", "runs", "nano-austen");
  const record = await readRunRecord(dir, { origin: "precomputed" });
  assert.equal(record.notes, undefined, "read from run.json, not the legacy default");
  assert.match(record.data.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.match(record.lab.commit ?? "", /^[0-9a-f]{40}$/);
  assert.equal(record.runtime.backend, "wasm");
  const { steps } = metricsRows(await readFile(path.join(dir, "metrics.jsonl"), "utf8"));
  assert.deepEqual(record.metrics.steps.map((s) => [s.step, s.loss, s.lr]), steps.map((s) => [s.step, s.loss, s.lr]));
});
