// The distillation page's precomputed comparison, made in Node by
// scripts/distill-runs.ts students and committed as data/runs/distill/students.json;
// Emits {runs: []} with missing: true when it has not been made. `checks`: every run as a
// run record with its teacher (lib/runs/precomputed.ts), for the page's "Re-run and check".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { distillRunFigure, type DistillFile } from "../../lib/runs/precomputed.js";

// data/runs/distill/bench.json (stlm bench --teacher, plain and distilled steps timed
// one after the other) is added as "bench" when it is there.
const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "distill");
const read = async (name: string) => {
  const file = join(dir, name);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`data/runs/distill/${name} is not valid JSON: ${(e as Error).message}`);
  }
};
const students = await read("students.json");
const bench = await read("bench.json");
const checks = students ? (students as DistillFile).runs.map((r) => distillRunFigure(students, r.arm, r.seed)) : [];
process.stdout.write(JSON.stringify(students ? { ...students, bench, checks } : { runs: [], missing: true, bench, checks }));
