// stlm train --objective, stlm sample --speculative and stlm eval on such a run, as a user runs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stlm } from "./stlm.js";
import { parseObjectiveFlag } from "../../lib/cli/objective.js";

const dir = await mkdtemp(path.join(tmpdir(), "stlm-objectives-"));
const textFile = path.join(dir, "pride.txt");
await writeFile(textFile, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));

test("--objective reads next, mtp:N with --mtp-heads, and mntp:R[:W]; anything else is refused naming the allowed forms", () => {
  assert.equal(parseObjectiveFlag(undefined, undefined), undefined);
  assert.equal(parseObjectiveFlag("next", undefined), undefined);
  assert.deepEqual(parseObjectiveFlag("mtp:4", undefined), { kind: "mtp", heads: 4, headType: "layer" });
  assert.deepEqual(parseObjectiveFlag("mtp:2", "linear"), { kind: "mtp", heads: 2, headType: "linear" });
  assert.deepEqual(parseObjectiveFlag("mntp:0.15", undefined), { kind: "mntp", rate: 0.15, weight: 1 });
  assert.deepEqual(parseObjectiveFlag("mntp:0.3:2", undefined), { kind: "mntp", rate: 0.3, weight: 2 });
  for (const bad of ["mtp", "mtp:1", "mtp:9", "mtp:x", "mtp:2.5", "mntp", "mntp:1", "mntp:-0.1", "mntp:0.1:200", "mntp:0x1", "bert", "mtp:4:2"]) {
    assert.throws(() => parseObjectiveFlag(bad, undefined), (e: Error) => e.name === "UsageError" && /allowed forms are next, mtp:N/.test(e.message), bad);
  }
  assert.throws(() => parseObjectiveFlag("mtp:4", "conv"), /--mtp-heads must be layer or linear/);
  assert.throws(() => parseObjectiveFlag("mntp:0.1", "linear"), /--mtp-heads goes with --objective mtp:N/);
  assert.throws(() => parseObjectiveFlag(undefined, "layer"), /--mtp-heads goes with --objective mtp:N/);
});

test("stlm train --objective mtp:3 saves a run that stlm eval scores and stlm sample --speculative samples, printing acceptance and speed-up", async () => {
  const out = path.join(dir, "mtp");
  const r = await stlm("train", "--preset", "nano", "--text", textFile, "--steps", "4", "--eval-every", "0", "--objective", "mtp:3", "--mtp-heads", "linear", "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  assert.deepEqual(config.spec.objective, { kind: "mtp", heads: 3, headType: "linear" });
  const summary = JSON.parse(await readFile(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.parameters, 230080 + 2 * 64 * 64, "the plain nano model plus two 64 x 64 linear heads");
  const e = await stlm("eval", "--checkpoint", out, "--json", "--max-bytes", "2000", "--limit", "5");
  assert.equal(e.code, 0, e.stderr);
  assert.ok(JSON.parse(e.stdout).testBitsPerByte.austen > 0);
  const s = await stlm("sample", "--checkpoint", out, "--prompt", "It is a ", "--tokens", "30", "--temperature", "0", "--speculative");
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith("It is a "));
  assert.match(s.stderr, /30 bytes in \d+ forward passes \([\d.]+ bytes a pass\)/);
  assert.match(s.stderr, /acceptance by draft position: \+2 [\d.-]+ \(\d+\/\d+\), \+3/);
  assert.match(s.stderr, /wall clock: [\d.]+ s speculative vs [\d.]+ s plain \([\d.]+x\); same text as plain sampling/);
  const plain = await stlm("sample", "--checkpoint", out, "--prompt", "It is a ", "--tokens", "30", "--temperature", "0");
  assert.equal(plain.stdout, s.stdout, "greedy speculative text is plain greedy text");
  const resume = await stlm("train", "--resume", out, "--extend-to", "6", "--objective", "mtp:2");
  assert.equal(resume.code, 2);
  assert.match(resume.stderr, /--objective cannot change on --resume/);
});

test("stlm train --objective mntp:0.2 trains and resumes; bad forms and kinds are usage errors that touch no folder", async () => {
  const out = path.join(dir, "mntp");
  const r = await stlm("train", "--preset", "nano", "--text", textFile, "--steps", "4", "--eval-every", "2", "--objective", "mntp:0.2", "--out", out, "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const resumed = await stlm("train", "--resume", out, "--extend-to", "6", "--quiet");
  assert.equal(resumed.code, 0, resumed.stderr);
  const s = await stlm("sample", "--checkpoint", out, "--tokens", "5", "--speculative");
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--speculative needs a multi-byte model, one trained with --objective mtp:N; .* holds a mntp:0.2 model/);
  for (const [args, message] of [
    [["--objective", "mtp:12"], /asks for 12 heads; the allowed forms are/],
    [["--objective", "mntp"], /needs a mask rate/],
    [["--objective", "mtp:2", "--preset", "local-stride4"], /trains a plain byte model \(presets nano, micro\); preset local-stride4 is not one/]
  ] as const) {
    const bad = path.join(dir, `bad-${args[1]}`);
    const b = await stlm("train", "--text", textFile, "--steps", "2", ...args, "--out", bad);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, message);
    assert.ok(!existsSync(bad), "a refused run makes no folder");
  }
});
