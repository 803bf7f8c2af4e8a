// The tokenizer-free page's replayed run: the learned-boundary pooled model
// (pooled-learned) trained on austen with training snapshots (lib/train/snapshots.ts),
// so the page can show its chunk boundaries and the core's attention over chunks
// changing step by step. One seed: it illustrates, it measures nothing.
//
//   node --import tsx scripts/tokenizer-free-snapshots.ts [--steps 300] [--every 15]
//
// Writes data/runs/tokenizer-free/learned-snapshots/ (the run folder `stlm train`
// writes, without its 4 MB checkpoint, which the page does not use, and the
// run.json that names it).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags } from "../lib/cli/args.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "data", "runs", "tokenizer-free", "learned-snapshots");
const f = parseFlags(process.argv.slice(2), { steps: { kind: "int", min: 1, example: 300 }, every: { kind: "int", min: 1, example: 15 } }, "tokenizer-free-snapshots");
const steps = (f.steps as number | undefined) ?? 300;
const every = (f.every as number | undefined) ?? 15;
if (existsSync(OUT)) await rm(OUT, { recursive: true });
const args = ["bin/stlm.js", "train", "--preset", "pooled-learned", "--corpus", "austen", "--steps", String(steps), "--seed", "1", "--snapshot-every", String(every), "--out", OUT];
process.stderr.write(`node ${args.join(" ")}\n`);
const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
if (r.status !== 0) throw new Error(`stlm train exited with ${r.status}`);
// run.json records the checkpoint's hash: both go.
await rm(path.join(OUT, "checkpoint.safetensors"));
await rm(path.join(OUT, "run.json"), { force: true });
process.stderr.write(`wrote ${path.relative(ROOT, OUT)}/\n`);
