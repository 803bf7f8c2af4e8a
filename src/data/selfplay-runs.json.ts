// The self-play page's precomputed runs, made in Node by scripts/selfplay-runs.ts and
// committed in data/runs/selfplay/: {tictactoe, wordchain, expert}. Each game is what the
// page draws of its file (lib/runs/precomputed-games.ts selfPlayPageFile): every run
// once, as a run record of kind "game" (the charts and the runs table read the same
// records), each run's processor time, and the word chain's two replayed games; null
// when the game's file or its model has not been made yet (the record's spec is the
// committed model's: every run of a file has its shape). The expert's file is small and
// sent as it is. A word-chain file made before the script recorded its data's hash gets
// the hash of the austen corpus read here (the record's notes say so).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadCorpus } from "../../lib/node/data.js";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { selfPlayPageFile, type SelfPlayFile } from "../../lib/runs/precomputed-games.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "selfplay");
const read = async <T>(file: string): Promise<T | null> => (existsSync(file) ? (JSON.parse(await readFile(file, "utf8")) as T) : null);
const out: Record<string, unknown> = {};
for (const game of ["tictactoe", "wordchain"]) {
  const data = await read<SelfPlayFile>(join(dir, `${game}.json`));
  const model = join(dir, `${game}-model.safetensors`);
  if (!data || !Array.isArray(data.runs) || !existsSync(model)) {
    out[game] = null;
    continue;
  }
  const spec = decodeCheckpoint(new Uint8Array(await readFile(model))).spec;
  const corpus = game === "wordchain" && !data.data ? await loadCorpus("austen") : undefined;
  out[game] = selfPlayPageFile(data, spec, { corpus });
}
out.expert = await read(join(dir, "expert.json"));
process.stdout.write(JSON.stringify(out));
