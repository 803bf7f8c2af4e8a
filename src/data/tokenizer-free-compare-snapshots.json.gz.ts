// The tokenizer-free comparison's training snapshots (data/runs/tokenizer-free/
// compare-snapshots.json.gz, made by scripts/tokenizer-free-compare-snapshots.ts: one
// seed of each model re-run for its recorded steps with snapshots), checked against
// austen-compare.json (lib/runs/precomputed-snapshots.ts) and passed on gzipped; the
// page gunzips it (lib/text/data.ts).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { checkCompareSnapshots } from "../../lib/runs/precomputed-snapshots.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "tokenizer-free");
const file = join(dir, "compare-snapshots.json.gz");
if (!existsSync(file)) {
  process.stdout.write(gzipSync(JSON.stringify({ available: false, reason: "data/runs/tokenizer-free/compare-snapshots.json.gz has not been made (node --import tsx scripts/tokenizer-free-compare-snapshots.ts)." })));
} else {
  const bytes = await readFile(file);
  const figure = JSON.parse(await readFile(join(dir, "austen-compare.json"), "utf8"));
  checkCompareSnapshots(JSON.parse(gunzipSync(bytes).toString("utf8")), figure, "data/runs/tokenizer-free/compare-snapshots.json.gz");
  process.stdout.write(bytes);
}
