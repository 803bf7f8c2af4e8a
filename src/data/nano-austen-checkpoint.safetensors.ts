// The precomputed run's checkpoint (data/runs/nano-austen/checkpoint.safetensors), so the
// training page can sample from it and show its attention before anything trains.
// Writes nothing when the run has not been made yet; the page treats an empty
// file as "no checkpoint".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "nano-austen", "checkpoint.safetensors");
if (existsSync(file)) process.stdout.write(await readFile(file));
