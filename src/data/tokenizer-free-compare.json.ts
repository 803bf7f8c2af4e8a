// The precomputed tokenizer-free comparison (equal time, several seeds, two
// contexts and budgets), made by scripts/tokenizer-free-compare.ts, and the
// decoder study (per-slot bits/byte, the n-gram ceiling, the collapse), made by
// scripts/tokenizer-free-decoders.ts; both committed in data/runs/tokenizer-free/.
// Each part is {available: false, reason} until it has been made. The comparison's
// `checks`: every run as a run record (lib/runs/precomputed.ts; each model's spec,
// its BPE or entropy model included, from austen-specs.json), for the page's
// "Re-run and check"; empty, with `checksMissing` saying why, without the specs file.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tokenizerFreeRunFigure, type TokenizerFreeFile, type TokenizerFreeSpecs } from "../../lib/runs/precomputed.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "tokenizer-free");
async function part(file: string, command: string) {
  const path = join(dir, file);
  if (!existsSync(path)) return { available: false, reason: `${file} has not been made yet (${command}).` };
  const data = JSON.parse(await readFile(path, "utf8"));
  if (file === "austen-compare.json") {
    const specsFile = join(dir, "austen-specs.json");
    if (existsSync(specsFile)) {
      const specs = JSON.parse(await readFile(specsFile, "utf8")) as TokenizerFreeSpecs;
      const f = data as TokenizerFreeFile;
      data.checks = f.runs.map((r) => ({ ctx: r.ctx, budgetSeconds: r.budgetSeconds, ...tokenizerFreeRunFigure(f, specs, r.model, r.ctx, r.budgetSeconds, r.seed) }));
    } else {
      data.checks = [];
      data.checksMissing = "austen-specs.json has not been made yet (node --import tsx scripts/tokenizer-free-compare.ts --ctx 128,512 --specs-only)";
    }
  }
  // The curves of every step are not drawn on the page: keep every 10th loss to keep the page light.
  for (const r of data.runs ?? []) if (Array.isArray(r.losses)) r.losses = r.losses.filter((_: unknown, i: number) => i % 10 === 0);
  return { available: true, ...data };
}
process.stdout.write(
  JSON.stringify({
    compare: await part("austen-compare.json", "node --import tsx scripts/tokenizer-free-compare.ts"),
    decoders: await part("decoders-austen.json", "node --import tsx scripts/tokenizer-free-decoders.ts")
  })
);
