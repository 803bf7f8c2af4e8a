// The objectives page's precomputed comparison (data/runs/objectives/compare.json, made by
// scripts/objectives-runs.ts), with the per-seed runs summarised (mean and min–max) by
// lib/experiments/objectives.ts. Emits {missing: true} when the runs have not been made.
// `checks`: every distinct run as a run record (lib/runs/precomputed.ts), for the page's
// "Re-run and check" (an equal-time run that is its equal-steps run is offered once).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { summarizeObjectiveRuns, type ObjectiveRunRecord } from "../../lib/experiments/objectives.js";
import { objectiveRunFigure, type ObjectivesFile } from "../../lib/runs/precomputed.js";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "objectives", "compare.json");
if (!existsSync(file)) process.stdout.write(JSON.stringify({ missing: true }));
else {
  const record = JSON.parse(await readFile(file, "utf8")) as { runs: ObjectiveRunRecord[] } & Record<string, unknown>;
  const stored = record as unknown as ObjectivesFile;
  const seen = new Set<string>();
  const checks = stored.runs
    .filter((r) => {
      const key = `${r.size} ${r.arm} ${r.seed} ${r.steps}`;
      return !seen.has(key) && (seen.add(key), true);
    })
    .map((r) => objectiveRunFigure(stored, r.size, r.arm, r.seed, r.budget));
  process.stdout.write(JSON.stringify({ ...record, missing: false, summary: summarizeObjectiveRuns(record.runs), checks }));
}
