// Seed 1's final tictactoe model from scripts/selfplay-runs.ts (data/runs/selfplay/tictactoe-model.safetensors),
// which the self-play page's reader plays against. Writes nothing when it has not been made yet.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "selfplay", "tictactoe-model.safetensors");
if (existsSync(file)) process.stdout.write(await readFile(file));
