// Run folders through the stlm command, as a user (or a script, or a crash) meets
// them: nothing written over, one writer at a time, kills and Ctrl-C that lose
// nothing, and resumes that continue exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { BIN, stlm } from "./stlm.js";


const dir = await mkdtemp(path.join(tmpdir(), "stlm-runs-"));
const textFile = path.join(dir, "pride.txt");
await writeFile(textFile, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));

const rows = async (out: string) => (await readFile(path.join(out, "metrics.jsonl"), "utf8")).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const checkpointOf = async (out: string) => decodeCheckpoint(new Uint8Array(await readFile(path.join(out, "checkpoint.safetensors"))));

/** Starts a train, calls `when(rowsSoFar)` as metrics arrive, resolves with the exit code or signal. */
function trainUntil(args: string[], out: string, act: (child: ReturnType<typeof spawn>, lines: number) => boolean): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "train", ...args, "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    let acted = false;
    const timer = setInterval(async () => {
      if (acted || !existsSync(path.join(out, "metrics.jsonl"))) return;
      const n = (await readFile(path.join(out, "metrics.jsonl"), "utf8")).split("\n").filter(Boolean).length;
      if (!acted && act(child, n)) acted = true;
    }, 15);
    child.on("exit", (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stderr });
    });
  });
}

test("--out refuses anything that is not a new or empty folder, and says what to do", async () => {
  const mine = path.join(dir, "mine");
  await mkdir(mine);
  await writeFile(path.join(mine, "config.json"), "my own notes\n");
  const r = await stlm("train", "--text", textFile, "--steps", "2", "--out", mine);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /holds files that are not a finished lab run/);
  assert.equal(await readFile(path.join(mine, "config.json"), "utf8"), "my own notes\n", "the user's file is untouched");
  const empty = await stlm("train", "--text", textFile, "--steps", "2", "--out", "");
  assert.notEqual(empty.code, 0);
  assert.match(empty.stderr, /--out/);
  const file = await stlm("train", "--text", textFile, "--steps", "2", "--out", textFile);
  assert.notEqual(file.code, 0);
  assert.match(file.stderr, /is a file/);
  const t0 = Date.now();
  const proc = await stlm("train", "--text", textFile, "--steps", "2", "--out", "/proc/x");
  assert.notEqual(proc.code, 0);
  assert.ok(Date.now() - t0 < 20_000, "refused, not hung");
});

test("two stlm train into one folder: exactly one runs, and the folder is that one's", async () => {
  const out = path.join(dir, "race");
  const [a, b] = await Promise.all([
    stlm("train", "--text", textFile, "--steps", "3", "--seed", "1", "--out", out, "--quiet"),
    stlm("train", "--text", textFile, "--steps", "3", "--seed", "2", "--out", out, "--quiet")
  ]);
  assert.deepEqual([a.code, b.code].sort(), [0, 2], `${a.stderr}\n---\n${b.stderr}`);
  const winner = a.code === 0 ? 1 : 2;
  const config = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  assert.equal(config.train.seed, winner);
  assert.equal((await checkpointOf(out)).trainConfig.seed, winner);
  assert.deepEqual((await rows(out)).filter((m) => "loss" in m).map((m) => m.step), [1, 2, 3]);
});

test("a run killed (kill -9) mid-way resumes with no duplicate rows and ends bit-identical to a run never stopped", async () => {
  const args = (out: string) => ["--text", textFile, "--steps", "12", "--seed", "5", "--eval-every", "3", "--out", out];
  const straight = path.join(dir, "straight");
  assert.equal((await stlm("train", ...args(straight), "--quiet")).code, 0);
  for (const killAt of [5, 9]) {
    const out = path.join(dir, `killed-${killAt}`);
    const killed = await trainUntil(args(out), out, (child, n) => n >= killAt && (child.kill("SIGKILL"), true));
    assert.equal(killed.signal, "SIGKILL", `killed at ${killAt} rows (${killed.stderr})`);
    const saved = (await checkpointOf(out)).trainer!.step;
    const resumed = await stlm("train", "--resume", out, "--quiet");
    assert.equal(resumed.code, 0, resumed.stderr);
    const steps = (await rows(out)).filter((m) => "loss" in m).map((m) => m.step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], `no duplicates after a kill at ${killAt} rows (checkpoint at step ${saved})`);
    const [a, b] = [await checkpointOf(straight), await checkpointOf(out)];
    for (const [name, w] of a.weights) assert.deepEqual(b.weights.get(name)!.data, w.data, `${name} after a kill at ${killAt} rows`);
    assert.deepEqual((await rows(out)).map((m) => m.loss), (await rows(straight)).map((m) => m.loss));
    const elapsed = (await rows(out)).filter((m) => "loss" in m).map((m) => m.elapsedMs);
    assert.ok(elapsed.every((t, i) => i === 0 || t >= elapsed[i - 1]), `elapsedMs continues: ${elapsed}`);
  }
});

test("Ctrl-C on a pooled preset saves a checkpoint, exits 130, and the run resumes to its total", async () => {
  const out = path.join(dir, "pooled-sigint");
  const r = await trainUntil(["--preset", "pooled-stride4", "--text", textFile, "--steps", "40", "--batch", "1", "--eval-every", "0", "--out", out], out, (child, n) => n >= 3 && (child.kill("SIGINT"), true));
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /stopped by Ctrl-C at step \d+ of 40; the checkpoint is saved/);
  const ckpt = await checkpointOf(out);
  assert.equal(ckpt.spec.kind, "pooled");
  assert.ok(ckpt.trainer!.step >= 3 && ckpt.trainer!.step < 40);
  assert.equal((await rows(out)).filter((m) => "loss" in m).length, ckpt.trainer!.step);
  const resumed = await stlm("train", "--resume", out, "--quiet");
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await checkpointOf(out)).trainer!.step, 40);
  const s = await stlm("sample", "--checkpoint", out, "--prompt", "It is a ", "--tokens", "8", "--seed", "2");
  assert.equal(s.code, 0, s.stderr);
  assert.ok(s.stdout.startsWith("It is a ") && s.stdout.length > "It is a \n".length, s.stdout);
  assert.equal((await stlm("sample", "--checkpoint", out, "--prompt", "It is a ", "--tokens", "8", "--seed", "2")).stdout, s.stdout, "sampling with a seed reproduces");
});

test("resume trusts the checkpoint over config.json; --steps is refused and --extend-to lengthens on the record", async () => {
  const out = path.join(dir, "trust");
  assert.equal((await stlm("train", "--text", textFile, "--steps", "4", "--eval-every", "2", "--out", out, "--quiet")).code, 0);
  const configFile = path.join(out, "config.json");
  const original = await readFile(configFile, "utf8");
  await writeFile(configFile, original.replace(/"text": "[^"]*"/, '"corpus": "austen"'));
  const edited = await stlm("train", "--resume", out, "--extend-to", "6");
  assert.equal(edited.code, 2);
  assert.match(edited.stderr, /disagree about the training text .*The checkpoint is the record/);
  await writeFile(configFile, original);
  const finished = await stlm("train", "--resume", out);
  assert.match(finished.stderr, /already finished 4 of 4 steps; use --extend-to N/);
  const steps = await stlm("train", "--resume", out, "--steps", "6");
  assert.match(steps.stderr, /--steps cannot change on --resume.*--extend-to N/);
  const extended = await stlm("train", "--resume", out, "--extend-to", "6", "--quiet");
  assert.equal(extended.code, 0, extended.stderr);
  assert.deepEqual((await rows(out)).filter((m) => "loss" in m).map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  const config = JSON.parse(await readFile(configFile, "utf8"));
  assert.equal(config.train.steps, 6);
  assert.deepEqual(config.extensions.map((e: { atStep: number; fromSteps: number; toSteps: number }) => [e.atStep, e.fromSteps, e.toSteps]), [[4, 4, 6]]);
  assert.deepEqual(((await checkpointOf(out)).meta.extensions as { toSteps: number }[]).map((e) => e.toSteps), [6]);

  // Another run's checkpoint dropped into this folder is not resumed as this run.
  const micro = path.join(dir, "micro");
  assert.equal((await stlm("train", "--preset", "micro", "--text", textFile, "--steps", "1", "--out", micro, "--quiet")).code, 0);
  await writeFile(path.join(out, "checkpoint.safetensors"), await readFile(path.join(micro, "checkpoint.safetensors")));
  const swapped = await stlm("train", "--resume", out, "--extend-to", "8");
  assert.equal(swapped.code, 2);
  assert.match(swapped.stderr, /disagree about the preset/);
});
