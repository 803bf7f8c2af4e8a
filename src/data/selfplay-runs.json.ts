// The self-play page's precomputed runs, made in Node by scripts/selfplay-runs.ts and
// committed in data/runs/selfplay/: {tictactoe, wordchain, expert}, each the script's
// record (3 seeds) or null when it has not been made yet.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "selfplay");
const out: Record<string, unknown> = {};
for (const game of ["tictactoe", "wordchain", "expert"]) {
  const file = join(dir, `${game}.json`);
  out[game] = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : null;
}
process.stdout.write(JSON.stringify(out));
