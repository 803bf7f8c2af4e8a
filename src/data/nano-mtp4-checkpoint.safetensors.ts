// The objectives page's sampler model: the nano mtp:4 model of scripts/objectives-runs.ts
// (data/runs/objectives/nano-mtp4.safetensors, weights only). Writes nothing when it has
// not been made; the page treats an empty file as "no model".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "objectives", "nano-mtp4.safetensors");
if (existsSync(file)) process.stdout.write(await readFile(file));
