// Merge comparison files made by separate scripts/tokenizer-free-compare.ts runs
// (each with its own --out, so two processes never write one file) into one:
//   node scripts/merge-compare.mjs OUT IN1 IN2 ...
// A run (same model, context, budget, seed) in a later file replaces an earlier one.
import { readFileSync, writeFileSync } from "node:fs";

const [out, ...inputs] = process.argv.slice(2);
const files = inputs.map((f) => JSON.parse(readFileSync(f, "utf8")));
const key = (r) => `${r.model}@${r.ctx}/${r.budgetSeconds}/${r.seed}`;
const runs = new Map();
for (const f of files) for (const r of f.runs) runs.set(key(r), r);
const merged = {
  ...files[0],
  calibration: Object.assign({}, ...files.map((f) => f.calibration)),
  commands: [...new Set(files.flatMap((f) => f.commands))],
  commit: [...new Set(files.map((f) => f.commit))].join(", "),
  updatedAt: new Date().toISOString(),
  runs: [...runs.values()]
};
writeFileSync(out, JSON.stringify(merged) + "\n");
console.error(`${out}: ${merged.runs.length} runs from ${inputs.length} files`);
