// The training page's precomputed run, data/runs/nano-austen/: `stlm train` with
// the nano preset on austen, 500 steps, seed 1, with training snapshots every 25
// steps (lib/train/snapshots.ts), on one kernel thread (--threads 1: the figure's
// record says 1 thread, as its re-check in Node does; the kernels give the same bits
// at any thread count, test/unit/threads.test.ts).
//
//   node --import tsx scripts/nano-austen-run.ts [--every 25] [--replace] [--run DIR]
//
// The run is trained again into a scratch folder (or, with --run DIR, a folder an
// earlier call of this script left, checked to be this command's run), and its
// losses, gradient norms, learning rates, validation bits/byte and samples are
// compared with the committed ones. The same seed and code give the same numbers;
// when they agree the new run (with its snapshots) is written over
// data/runs/nano-austen/. When they differ the script prints where and by how much
// and writes nothing, unless --replace says to take the new run anyway (after
// finding out why they differ: e.g. a kernel that sums in another order).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../lib/cli/args.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RUN = path.join(ROOT, "data", "runs", "nano-austen");
const f = parseFlags(process.argv.slice(2), { every: { kind: "int", min: 1, example: 25 }, replace: "boolean", run: "string" }, "nano-austen-run");
const every = (f.every as number | undefined) ?? 25;

let out: string;
let scratch: string | null = null;
if (f.run !== undefined) {
  out = path.resolve(String(f.run));
  const c = JSON.parse(await readFile(path.join(out, "config.json"), "utf8"));
  const want = { preset: "nano", corpus: "austen", steps: 500, seed: 1, every };
  const got = { preset: c.preset, corpus: c.source?.corpus, steps: c.train?.steps, seed: c.train?.seed, every: c.snapshots?.every };
  if (JSON.stringify(want) !== JSON.stringify(got)) throw new Error(`${out} is not this script's run: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
} else {
  scratch = await mkdtemp(path.join(tmpdir(), "stlm-nano-austen-"));
  out = path.join(scratch, "run");
  const args = ["bin/stlm.js", "train", "--preset", "nano", "--corpus", "austen", "--steps", "500", "--seed", "1", "--snapshot-every", String(every), "--threads", "1", "--out", out];
  process.stderr.write(`node ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`stlm train exited with ${r.status}`);
}

const rows = async (dir: string) =>
  (await readFile(path.join(dir, "metrics.jsonl"), "utf8"))
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, number>);
const [before, after] = [await rows(RUN), await rows(out)];
// What the seed and the code decide; tokensPerSecond and elapsedMs are the machine's.
const DETERMINED = ["step", "loss", "lr", "gradNorm", "valBitsPerByte"];
const differences: string[] = [];
const largest: Record<string, number> = {};
if (before.length !== after.length) differences.push(`${before.length} metrics rows committed, ${after.length} now`);
for (let i = 0; i < Math.min(before.length, after.length); i++) {
  for (const k of DETERMINED) {
    if (before[i][k] === after[i][k]) continue;
    differences.push(`metrics row ${i + 1} (step ${before[i].step}): ${k} ${before[i][k]} committed, ${after[i][k]} now`);
    largest[k] = Math.max(largest[k] ?? 0, Math.abs(before[i][k] - after[i][k]));
  }
}
const samples = async (dir: string) => JSON.parse(await readFile(path.join(dir, "samples.json"), "utf8")) as { step: number; text: string }[];
const [sBefore, sAfter] = [await samples(RUN), await samples(out)];
sBefore.forEach((s, i) => {
  if (s.text !== sAfter[i]?.text) differences.push(`sample at step ${s.step} differs`);
});
const summary = async (dir: string) => JSON.parse(await readFile(path.join(dir, "summary.json"), "utf8")) as { finalLoss: number; valBitsPerByte: number };
if (differences.length > 0) {
  const first = differences[0];
  const [a, b] = [await summary(RUN), await summary(out)];
  process.stderr.write(
    `The regenerated run differs from the committed one: ${differences.length} difference(s), the first: ${first}\n` +
      `largest differences: ${Object.entries(largest).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(", ")}\n` +
      `final loss ${a.finalLoss} committed, ${b.finalLoss} now; val bits/byte ${a.valBitsPerByte} committed, ${b.valBitsPerByte} now\n`
  );
  if (!f.replace) {
    process.stderr.write(`Nothing written; the run is kept in ${out}. Find out why before taking it (--replace --run ${out}).\n`);
    process.exit(1);
  }
} else {
  process.stderr.write(`same numbers: ${after.length} metrics rows (loss, lr, gradNorm, val bits/byte) and ${sAfter.length} samples equal to the committed run's\n`);
}
for (const file of ["config.json", "metrics.jsonl", "samples.json", "summary.json", "snapshots.jsonl", "checkpoint.safetensors", "run.json"]) {
  if (existsSync(path.join(out, file))) await copyFile(path.join(out, file), path.join(RUN, file));
}
if (scratch) await rm(scratch, { recursive: true, force: true });
process.stderr.write(`wrote the run into ${path.relative(ROOT, RUN)}/\n`);
