// The dropout page's precomputed sweep, made in Node by scripts/dropout-sweep.ts and
// committed as data/runs/dropout/sweep.json. Emits {runs: []} with missing: true when
// the sweep has not been made, so the page can say so instead of failing.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "dropout", "sweep.json");
if (!existsSync(file)) process.stdout.write(JSON.stringify({ runs: [], missing: true }));
else {
  const text = await readFile(file, "utf8");
  try {
    JSON.parse(text);
  } catch (e) {
    throw new Error(`data/runs/dropout/sweep.json is not valid JSON: ${(e as Error).message}`);
  }
  process.stdout.write(text);
}
