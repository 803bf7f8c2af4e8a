// The precomputed run's training snapshots (data/runs/nano-austen/snapshots.jsonl,
// made by scripts/nano-austen-run.ts; format: lib/train/snapshots.ts), checked line
// by line, with what was snapshotted (config.json "snapshots"). Emits
// {available: false, reason} when the run has none, so the page can say so.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSnapshots } from "../../lib/train/snapshots.js";

const RUN = "nano-austen";
const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", RUN);

async function main(): Promise<unknown> {
  if (!existsSync(join(dir, "snapshots.jsonl"))) return { available: false, reason: `data/runs/${RUN}/ has no snapshots.jsonl: make it with scripts/nano-austen-run.ts.` };
  const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  if (!config.snapshots) throw new Error(`data/runs/${RUN}/config.json has no "snapshots" entry saying what snapshots.jsonl holds`);
  const snapshots = parseSnapshots(await readFile(join(dir, "snapshots.jsonl"), "utf8"), `data/runs/${RUN}/snapshots.jsonl`);
  return { available: true, name: RUN, config: config.snapshots, totalSteps: config.train.steps, snapshots };
}

process.stdout.write(JSON.stringify(await main()));
