// The one run-record builder (lib/runs/build.ts) that `stlm train` and the pages' live
// runs share: final figures summarised from the metrics, the data's hash over the bytes
// read, the checkpoint's identity, and a record it cannot build refused in words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { presetConfig } from "../../lib/config.js";
import { buildRunRecord, dataIdentity, runtimeOf, withCheckpoint, type BuildParts } from "../../lib/runs/build.js";
import { metricsCsv, parseRunRecord, RunRecordError } from "../../lib/runs/record.js";

function parts(over: Partial<BuildParts> = {}): BuildParts {
  const { model, train } = presetConfig("nano", { train: { steps: 4, seed: 3 } });
  return {
    label: "nano on austen",
    origin: "page",
    page: "/train",
    preset: "nano",
    spec: { kind: "bytes", model },
    train,
    data: { name: "austen", sha256: "cd".repeat(32), bytes: 99 },
    lab: { version: "0.1.0", commit: null },
    runtime: runtimeOf({ name: "wasm", threads: 2, simd: true }, "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome"),
    startedAt: "2026-12-01T20:00:00.000Z",
    steps: [
      { step: 1, loss: 5.5, tokensPerSecond: 1000 },
      { step: 2, loss: 5.0, tokensPerSecond: 2000 },
      { step: 3, loss: 4.5, tokensPerSecond: 3001 }
    ],
    evals: [
      { step: 0, valBitsPerByte: 8 },
      { step: 3, valBitsPerByte: 6.25 }
    ],
    ...over
  };
}

test("buildRunRecord summarises a run's end from its metrics against its planned steps", () => {
  const r = buildRunRecord(parts({ stopped: true, evaluations: { "test/austen bits/byte": 6.3 } }));
  assert.deepEqual(r.final, {
    steps: 3,
    plannedSteps: 4,
    stopped: true,
    trainLoss: 4.5,
    valBitsPerByte: 6.25,
    meanTokensPerSecond: 2000,
    evaluations: { "test/austen bits/byte": 6.3 }
  });
  assert.equal(r.runtime.platform, "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome");
  assert.equal(r.runtime.fma, null, "an FMA the backend did not report is unknown, not false");
  assert.equal(r.format, "stlm-run");
});

test("a run whose steps carry no throughput takes the run's own measure, and step rows win when they have one", () => {
  const bare = parts({ steps: [{ step: 1, loss: 5 }, { step: 2, loss: 4.5 }] });
  assert.equal(buildRunRecord({ ...bare, tokensPerSecond: 1234.6 }).final?.meanTokensPerSecond, 1235);
  assert.equal(buildRunRecord(bare).final?.meanTokensPerSecond, null);
  assert.equal(buildRunRecord({ ...parts(), tokensPerSecond: 99 }).final?.meanTokensPerSecond, 2000);
});

test("a run with no steps yet has no final figures", () => {
  assert.equal(buildRunRecord(parts({ steps: [], evals: [] })).final, null);
});

test("the data's identity is the SHA-256 of the training bytes then the validation bytes", () => {
  const train = new TextEncoder().encode("It is a truth universally acknowledged");
  const val = new TextEncoder().encode(", that a single man in possession");
  const id = dataIdentity("austen", { train, val });
  const expected = createHash("sha256").update(train).update(val).digest("hex");
  assert.deepEqual(id, { name: "austen", sha256: expected, bytes: train.length + val.length });
  assert.notEqual(dataIdentity("austen", { train: val, val: train }).sha256, expected, "the order of the splits counts");
});

test("a run whose loss or validation is not a number is refused, naming the step and what it was", () => {
  assert.throws(
    () => buildRunRecord(parts({ steps: [{ step: 1, loss: 5 }, { step: 2, loss: NaN }] })),
    (e: Error) => e instanceof RunRecordError && /the loss at step 2 is NaN \(did the run diverge\?\)/.test(e.message)
  );
  assert.throws(
    () => buildRunRecord(parts({ evals: [{ step: 3, valBitsPerByte: Infinity }] })),
    (e: Error) => e instanceof RunRecordError && /validation bits\/byte at step 3 is Infinity/.test(e.message)
  );
});

test("withCheckpoint records the checkpoint file's SHA-256 and size, and the record still reads back", () => {
  const bytes = new Uint8Array([1, 2, 3, 4, 5, 250]);
  const r = withCheckpoint(buildRunRecord(parts()), bytes);
  assert.deepEqual(r.checkpoint, { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: 6 });
  assert.deepEqual(parseRunRecord(JSON.stringify(r)), r);
});

test("a built record exports as CSV with one row per step and the evaluation at step 0 kept", () => {
  const csv = metricsCsv(buildRunRecord(parts())).trim().split("\n");
  assert.equal(csv[0], "step,loss,lr,tokensPerSecond,elapsedMs,valBitsPerByte");
  assert.deepEqual(csv.slice(1), ["0,,,,,8", "1,5.5,,1000,,", "2,5,,2000,,", "3,4.5,,3001,,6.25"]);
});

test("a page's live run snapshot becomes the same record shape, once it has read its data and taken a step", async () => {
  const { liveRunRecord } = await import("../../src/components/live-record.js");
  const p = parts();
  const facts = { page: "/train", backend: { name: "wasm", threads: 1, simd: true }, platform: "Mozilla/5.0 test", lab: { version: "0.1.0", commit: "abc" } };
  const snapshot = {
    status: "done" as const,
    label: "nano on austen",
    preset: "nano",
    model: p.spec.kind === "bytes" ? p.spec.model : undefined,
    train: p.train,
    data: p.data,
    startedAt: p.startedAt,
    finishedAt: "2026-12-01T20:01:00.000Z",
    steps: p.steps!.map((s) => ({ lr: 0.001, elapsedMs: 5, tokensPerSecond: 1, ...s })),
    evals: p.evals!,
    samples: [],
    trainingSnapshots: [],
    modelVersion: 2,
    runNumber: 2
  };
  const r = liveRunRecord(snapshot, facts)!;
  assert.equal(r.label, "nano on austen, seed 3 (run 2)");
  assert.deepEqual([r.origin, r.page, r.preset, r.finishedAt, r.lab.commit, r.runtime.platform], ["page", "/train", "nano", "2026-12-01T20:01:00.000Z", "abc", "Mozilla/5.0 test"]);
  assert.deepEqual(r.data, p.data);
  assert.equal(r.final?.steps, 3);
  assert.deepEqual(parseRunRecord(JSON.stringify(r)), r, "it exports and imports unchanged");
  assert.equal(liveRunRecord({ ...snapshot, data: undefined }, facts), null, "no record before the data is read");
  assert.equal(liveRunRecord({ ...snapshot, steps: [] }, facts), null, "no record before the first step");
});

test("two arms of a page's pair that share every setting are two records, each with its arm's notes", async () => {
  const { pairArmRecord } = await import("../../src/components/live-record.js");
  const p = parts();
  const facts = { page: "/distillation", backend: { name: "cpu", threads: 1, simd: false }, platform: "Mozilla/5.0 test", lab: { version: "0.1.0", commit: null } };
  const arm = (label: string, notes: string[]) => ({
    label,
    totalSteps: 4,
    step: 3,
    losses: p.steps!.map((s) => ({ step: s.step, loss: s.loss, dropout: 0, tokensPerSecond: s.tokensPerSecond })),
    evals: p.evals!,
    points: [],
    tokensPerSecond: 3001,
    done: true,
    startedAt: p.startedAt,
    facts: { preset: "nano", spec: p.spec, train: p.train, data: p.data, notes }
  });
  const alone = pairArmRecord(arm("student alone", ["alone"]), { stopped: false, prefix: "distillation: " }, facts)!;
  const kd = pairArmRecord(arm("forward KL, T = 1", ["distilled"]), { stopped: false, prefix: "distillation: " }, facts)!;
  assert.notEqual(alone.id, kd.id);
  assert.deepEqual([alone.label, alone.notes, kd.notes], ["distillation: student alone, seed 3", ["alone"], ["distilled"]]);
  assert.equal(kd.final?.meanTokensPerSecond, 2000);
  assert.equal(pairArmRecord({ ...arm("x", []), facts: undefined }, { stopped: false, prefix: "" }, facts), null, "an arm without its facts has no record");
});

test("an objectives arm's record keeps its multi-byte objective and its bytes/s from the arm's ms per step", async () => {
  const { objectivesArmRecord } = await import("../../src/components/live-record.js");
  const { objectiveSpec } = await import("../../lib/experiments/objectives.js");
  const p = parts();
  const spec = objectiveSpec("nano", { kind: "mtp", heads: 2, headType: "linear" });
  const facts = { page: "/objectives", backend: { name: "wasm", threads: 1, simd: true }, platform: "test", lab: { version: "0.1.0", commit: null } };
  const arm = { label: "mtp:2", parameters: 1, steps: p.steps!.map(({ step, loss }) => ({ step, loss })), evals: p.evals!, msPerStep: 250, spec };
  const r = objectivesArmRecord(arm, { facts: { train: p.train, data: p.data, startedAt: p.startedAt }, stopped: false }, facts)!;
  assert.deepEqual(r.spec, spec);
  assert.equal(r.final?.meanTokensPerSecond, Math.round((p.train.batchSize * (spec.kind === "bytes" ? spec.model.blockSize : 0) * 1000) / 250));
  assert.equal(objectivesArmRecord({ ...arm, spec: undefined }, { facts: undefined, stopped: false }, facts), null);
});
