// The distillation page's teacher (data/runs/distill/teacher/checkpoint.safetensors, made by
// scripts/distill-runs.ts). Writes nothing when it has not been made; the page treats an
// empty file as "no checkpoint".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const file = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "distill", "teacher", "checkpoint.safetensors");
if (existsSync(file)) process.stdout.write(await readFile(file));
