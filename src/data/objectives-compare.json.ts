// The objectives page's precomputed comparison (data/runs/objectives/compare.json, made by
// scripts/objectives-runs.ts), with the per-seed runs summarised (mean and min–max) by
// lib/experiments/objectives.ts. Emits {missing: true} when the runs have not been made.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { summarizeObjectiveRuns, type ObjectiveRunRecord } from "../../lib/experiments/objectives.js";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "objectives", "compare.json");
if (!existsSync(file)) process.stdout.write(JSON.stringify({ missing: true }));
else {
  const record = JSON.parse(await readFile(file, "utf8")) as { runs: ObjectiveRunRecord[] } & Record<string, unknown>;
  process.stdout.write(JSON.stringify({ ...record, missing: false, summary: summarizeObjectiveRuns(record.runs) }));
}
