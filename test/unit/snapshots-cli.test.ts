// stlm train --snapshot-every, as a user runs it: snapshots at the stated steps in
// the run folder, a killed run's resume continuing them exactly, bad values refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseSnapshots } from "../../lib/train/snapshots.js";
import { BIN, stlm } from "./stlm.js";

const dir = await mkdtemp(path.join(tmpdir(), "stlm-snapshots-"));
const textFile = path.join(dir, "pride.txt");
await writeFile(textFile, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));
const args = (out: string) => ["--text", textFile, "--steps", "8", "--batch", "2", "--eval-every", "4", "--snapshot-every", "3", "--seed", "4", "--out", out];
const snapshotsOf = async (out: string) => readFile(path.join(out, "snapshots.jsonl"), "utf8");

test("a bad --snapshot-every is refused, naming the flag and the forms it takes", async () => {
  for (const bad of ["-3", "1.5", "often", "", "25x"]) {
    const out = path.join(dir, `bad-${bad || "empty"}`);
    const r = await stlm("train", "--text", textFile, "--steps", "2", "--snapshot-every", bad, "--out", out);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--snapshot-every must be a whole number of steps N >= 1, auto \(about 20 snapshots over the run\) or off/, bad);
    assert.equal(existsSync(path.join(out, "config.json")), false, "refused before anything is written");
  }
});

test("stlm train --snapshot-every 3 snapshots steps 0, 3, 6 and the last (8) into snapshots.jsonl, config.json says what they hold; none by default, about 20 with auto", async () => {
  const out = path.join(dir, "whole");
  const r = await stlm("train", ...args(out), "--quiet");
  assert.equal(r.code, 0, r.stderr);
  const snapshots = parseSnapshots(await snapshotsOf(out));
  assert.deepEqual(snapshots.map((s) => s.step), [0, 3, 6, 8]);
  const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  assert.equal(config.snapshots.every, 3);
  assert.equal(config.snapshots.probe, "It is a truth universally acknowledged");
  assert.equal(snapshots[0].attention.length, 4, "nano: 4 layers");
  assert.equal(snapshots[0].spans.length, config.snapshots.probe.length, "one position per probe byte");

  for (const flag of [["--snapshot-every", "off"], []]) {
    const off = path.join(dir, `off-${flag.length}`);
    assert.equal((await stlm("train", "--text", textFile, "--steps", "2", "--batch", "2", ...flag, "--out", off, "--quiet")).code, 0);
    assert.equal(existsSync(path.join(off, "snapshots.jsonl")), false, `${flag.join(" ") || "by default"}: no snapshots`);
    assert.equal(JSON.parse(await readFile(path.join(off, "config.json"), "utf8")).snapshots, undefined);
  }
  const auto = path.join(dir, "auto");
  assert.equal((await stlm("train", "--text", textFile, "--steps", "6", "--batch", "1", "--eval-every", "0", "--snapshot-every", "auto", "--out", auto, "--quiet")).code, 0);
  assert.deepEqual(parseSnapshots(await snapshotsOf(auto)).map((s) => s.step), [0, 1, 2, 3, 4, 5, 6], "auto: every ceil(6 / 20) = 1 step");
  assert.equal(JSON.parse(await readFile(path.join(auto, "config.json"), "utf8")).snapshots.every, 1);

  const resumedWithFlag = await stlm("train", "--resume", out, "--extend-to", "10", "--snapshot-every", "5");
  assert.equal(resumedWithFlag.code, 2);
  assert.match(resumedWithFlag.stderr, /--snapshot-every cannot change on --resume/);
});

test("a run killed (kill -9) after a snapshot its checkpoint had not reached resumes with the snapshots of a run never stopped, byte for byte", async () => {
  const whole = path.join(dir, "reference");
  assert.equal((await stlm("train", ...args(whole), "--quiet")).code, 0);
  const out = path.join(dir, "killed");
  // Killed once step 6 is logged: the checkpoint is step 4's, the snapshot of step 6 may be on disk already.
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [BIN, "train", ...args(out), "--quiet"], { stdio: "ignore" });
    const timer = setInterval(async () => {
      if (!existsSync(path.join(out, "metrics.jsonl"))) return;
      const rows = (await readFile(path.join(out, "metrics.jsonl"), "utf8")).split("\n").filter(Boolean).map((l) => JSON.parse(l));
      if (rows.some((r) => r.step >= 6)) child.kill("SIGKILL");
    }, 10);
    child.on("exit", () => (clearInterval(timer), resolve()));
  });
  const before = parseSnapshots(await snapshotsOf(out)).map((s) => s.step);
  assert.ok(before.length >= 2 && before.at(-1)! < 8, `killed mid-way: snapshots ${before}`);
  const resumed = await stlm("train", "--resume", out, "--quiet");
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(await snapshotsOf(out), await snapshotsOf(whole), "no duplicates, no gaps, the same bytes");
});
