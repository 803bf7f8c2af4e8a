// The training page's precomputed run's snapshots (data/runs/nano-austen/snapshots.jsonl,
// made by scripts/nano-austen-run.ts; format: lib/train/snapshots.ts), checked line by
// line, with what was snapshotted; {available: false, reason} when there are none.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readSnapshotRun } from "../../lib/node/snapshots.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "nano-austen");
process.stdout.write(JSON.stringify(await readSnapshotRun(dir, "data/runs/nano-austen", { script: "scripts/nano-austen-run.ts" })));
