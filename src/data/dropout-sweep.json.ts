// The dropout page's precomputed sweep, made in Node by scripts/dropout-sweep.ts and
// committed as data/runs/dropout/sweep.json. Emits {runs: []} with missing: true when
// the sweep has not been made, so the page can say so instead of failing. `checks`: every
// run as a run record with what else it trained on (lib/runs/precomputed.ts), for the
// page's "Re-run and check".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { dropoutRunFigure, type DropoutFile } from "../../lib/runs/precomputed.js";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "dropout", "sweep.json");
if (!existsSync(file)) process.stdout.write(JSON.stringify({ runs: [], missing: true }));
else {
  let sweep: DropoutFile;
  try {
    sweep = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`data/runs/dropout/sweep.json is not valid JSON: ${(e as Error).message}`);
  }
  const checks = sweep.runs.map((r) => dropoutRunFigure(sweep, r.regime, r.arm, r.seed));
  process.stdout.write(JSON.stringify({ ...sweep, checks }));
}
