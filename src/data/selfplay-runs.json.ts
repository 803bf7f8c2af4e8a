// The self-play page's precomputed runs, made in Node by scripts/selfplay-runs.ts and
// committed in data/runs/selfplay/: {tictactoe, wordchain, expert}, each the script's
// record (3 seeds) or null when it has not been made yet; each game's file also carries
// `records`: every run as a run record of kind "game" (lib/runs/precomputed.ts), for the
// page's runs table. The spec is the game's committed model's (every run of a file has its shape).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { selfPlayRunRecord, type SelfPlayFile } from "../../lib/runs/precomputed-games.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "selfplay");
const out: Record<string, unknown> = {};
for (const game of ["tictactoe", "wordchain", "expert"]) {
  const file = join(dir, `${game}.json`);
  const data = existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as SelfPlayFile & Record<string, unknown>) : null;
  const model = join(dir, `${game}-model.safetensors`);
  if (data && Array.isArray(data.runs) && existsSync(model)) {
    const spec = decodeCheckpoint(new Uint8Array(await readFile(model))).spec;
    data.records = data.runs.map((run) => selfPlayRunRecord(data, run, spec));
  }
  out[game] = data;
}
process.stdout.write(JSON.stringify(out));
