// The distillation page's precomputed comparison, made in Node by
// scripts/distill-runs.ts students and committed as data/runs/distill/students.json.
// Emits {runs: []} with missing: true when it has not been made.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "distill", "students.json");
if (!existsSync(file)) process.stdout.write(JSON.stringify({ runs: [], missing: true }));
else {
  const text = await readFile(file, "utf8");
  try {
    JSON.parse(text);
  } catch (e) {
    throw new Error(`data/runs/distill/students.json is not valid JSON: ${(e as Error).message}`);
  }
  process.stdout.write(text);
}
