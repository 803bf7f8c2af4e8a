// stlm train's dropout and distillation flags, as a user runs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { stlm } from "./stlm.js";

const TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. ".repeat(60);

async function setup() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "stlm-dropout-"));
  const text = path.join(dir, "text.txt");
  await writeFile(text, TEXT);
  return { dir, text };
}

const rows = async (dir: string) => (await readFile(path.join(dir, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));

test("stlm train applies a dropout schedule at the chosen sites and logs the rate of every step", async () => {
  const { dir, text } = await setup();
  const out = path.join(dir, "run");
  const r = await stlm("train", "--preset", "nano", "--text", text, "--steps", "8", "--batch", "2", "--eval-every", "4", "--dropout", "0.2", "--dropout-schedule", "early:3", "--dropout-at", "stlm", "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  assert.deepEqual(config.spec.model.dropoutSites, ["embed", "attn-probs", "attn-out"]);
  assert.equal(config.train.dropoutSchedule, "early:3");
  const steps = (await rows(out)).filter((m) => "loss" in m);
  assert.deepEqual(steps.map((m) => m.dropout), [0.2, 0.2, 0.2, 0, 0, 0, 0, 0]);
});

test("bad dropout and distillation flags are refused naming the flag and the allowed forms", async () => {
  const { dir, text } = await setup();
  const base = ["train", "--preset", "nano", "--text", text, "--steps", "2", "--quiet"];
  const cases: [string[], RegExp][] = [
    [["--dropout-schedule", "cosine"], /--dropout-schedule: "cosine" is not a schedule.*linear:A:B/s],
    [["--dropout-schedule", "early:5"], /uses the model's dropout rate, which is 0: give --dropout P/],
    [["--dropout", "1.5"], /--dropout/],
    [["--dropout", "0.1", "--dropout-at", "heads"], /--dropout-at: "heads" is not a dropout site.*embed, attn-probs, attn-out, mlp-out/],
    [["--kd", "reverse"], /--kd sets up distillation, which needs --teacher DIR/],
    [["--teacher", path.join(dir, "none"), "--kd", "sideways"], /--kd must be forward .* or reverse/],
    [["--teacher", path.join(dir, "none"), "--kd-weight", "2"], /--kd-weight: "2" is not a weight.*A:B/]
  ];
  let i = 0;
  for (const [flags, message] of cases) {
    const r = await stlm(...base, ...flags, "--out", path.join(dir, `o${i++}`));
    assert.equal(r.code, 2, `${flags.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, flags.join(" "));
  }
});

test("stlm train --teacher distils from a run folder, resumes with the same teacher, and refuses a changed one", async () => {
  const { dir, text } = await setup();
  const teacher = path.join(dir, "teacher");
  let r = await stlm("train", "--preset", "micro", "--text", text, "--steps", "3", "--batch", "2", "--out", teacher, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const student = path.join(dir, "student");
  r = await stlm("train", "--preset", "nano", "--text", text, "--steps", "6", "--batch", "2", "--eval-every", "3", "--teacher", teacher, "--kd", "reverse", "--kd-temperature", "2", "--kd-weight", "0.8:1.0", "--out", student);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /distilling from .*teacher .*reverse KL, T = 2, alpha 0.8 -> 1/);
  const config = JSON.parse(await readFile(path.join(student, "config.json"), "utf8"));
  assert.equal(config.distill.direction, "reverse");
  assert.match(config.distill.teacherSha256, /^[0-9a-f]{64}$/);
  // resume (extend) with the same teacher works; with the teacher changed it is refused and the run is kept
  r = await stlm("train", "--resume", student, "--extend-to", "8", "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const again = path.join(dir, "teacher2");
  r = await stlm("train", "--preset", "micro", "--text", text, "--steps", "2", "--batch", "2", "--seed", "9", "--out", again, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  await writeFile(path.join(teacher, "checkpoint.safetensors"), await readFile(path.join(again, "checkpoint.safetensors")));
  r = await stlm("train", "--resume", student, "--extend-to", "10", "--quiet");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /teacher's checkpoint .* has changed since the run started/);
  const summary = JSON.parse(await readFile(path.join(student, "summary.json"), "utf8"));
  assert.equal(summary.steps, 8, "the saved run is intact");
  // the bench times plain and distilled steps of the same student, one after the other
  r = await stlm("bench", "--preset", "nano", "--ctx", "16", "--batch", "2", "--steps", "2", "--warmup", "0", "--teacher", again, "--json");
  assert.equal(r.code, 0, r.stderr);
  const bench = JSON.parse(r.stdout);
  assert.ok(bench.distillation.plainTokensPerSecond > 0 && bench.distillation.distilledTokensPerSecond > 0, r.stdout);
  assert.equal(bench.distillation.teacherParams, 886_144);
  assert.equal(bench.tensorsLeaked, 0);
  // a pooled model cannot teach a byte student
  const pooled = path.join(dir, "pooled");
  r = await stlm("train", "--preset", "pooled-stride4", "--text", text, "--steps", "2", "--batch", "2", "--out", pooled, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  r = await stlm("train", "--preset", "nano", "--text", text, "--steps", "2", "--teacher", pooled, "--out", path.join(dir, "s2"), "--quiet");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /pooled model cannot be a teacher/);
});
