// The precomputed tokenizer-free comparison on austen, made by
// scripts/tokenizer-free-compare.ts and committed in data/runs/tokenizer-free/.
// Emits {available: false, reason} when it has not been made yet.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "tokenizer-free", "austen.json");
if (!existsSync(file)) {
  process.stdout.write(JSON.stringify({ available: false, reason: "The precomputed comparison has not been made yet (node --import tsx scripts/tokenizer-free-compare.ts)." }));
} else {
  process.stdout.write(JSON.stringify({ available: true, ...JSON.parse(await readFile(file, "utf8")) }));
}
