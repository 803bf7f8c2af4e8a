// The tokenizer-free page's replayed run: the learned-boundary pooled model's snapshots
// (data/runs/tokenizer-free/learned-snapshots/, made by scripts/tokenizer-free-snapshots.ts;
// format: lib/train/snapshots.ts), with its metrics for the loss curve.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readSnapshotRun } from "../../lib/node/snapshots.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "tokenizer-free", "learned-snapshots");
const run = await readSnapshotRun(dir, "data/runs/tokenizer-free/learned-snapshots", { script: "scripts/tokenizer-free-snapshots.ts" });
const steps: { step: number; loss: number }[] = [];
const evals: { step: number; valBitsPerByte: number }[] = [];
if (existsSync(join(dir, "metrics.jsonl"))) {
  for (const line of (await readFile(join(dir, "metrics.jsonl"), "utf8")).split("\n")) {
    if (!line.trim()) continue;
    const row = JSON.parse(line);
    if (typeof row.valBitsPerByte === "number") evals.push({ step: row.step, valBitsPerByte: row.valBitsPerByte });
    else if (typeof row.loss === "number") steps.push({ step: row.step, loss: row.loss });
  }
}
process.stdout.write(JSON.stringify({ ...run, steps, evals }));
