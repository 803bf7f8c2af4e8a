// Run folders and checkpoint files in Node. Writes go to a temporary file that
// is renamed into place, so a crash or a full disk mid-write never replaces a
// good checkpoint with a broken one.
import { existsSync, statSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { CHECKPOINT_FILE, CheckpointError, decodeCheckpoint, LEGACY_CHECKPOINT_FILE, type Checkpoint } from "../train/checkpoint.js";
import { MAX_MODEL_BYTES } from "../models/models.js";

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

export async function appendJsonl(file: string, value: unknown): Promise<void> {
  await appendFile(file, JSON.stringify(value) + "\n");
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, "utf8")) as T;
}

/** The checkpoint file a path names: the file itself, or the checkpoint inside a run folder (an old checkpoint.stlm when there is no new one). */
export function checkpointPath(p: string): string {
  if (!existsSync(p)) throw new CheckpointError(`no such checkpoint or run folder: ${path.resolve(p)}`);
  if (statSync(p).isDirectory()) {
    for (const name of [CHECKPOINT_FILE, LEGACY_CHECKPOINT_FILE]) {
      const f = path.join(p, name);
      if (existsSync(f)) return f;
    }
    throw new CheckpointError(`${path.resolve(p)} holds no ${CHECKPOINT_FILE}: is it a run folder written by \`stlm train --out\`?`);
  }
  return p;
}

export async function loadCheckpointFile(p: string): Promise<Checkpoint> {
  const file = checkpointPath(p);
  const size = statSync(file).size;
  // A model this large could not be built anyway (lib/models/models.ts); refuse before reading it into memory.
  if (size > MAX_MODEL_BYTES) throw new CheckpointError(`${file} is ${(size / 2 ** 30).toFixed(1)} GiB, larger than any model the lab can build (${MAX_MODEL_BYTES / 2 ** 30} GiB); it is not a lab checkpoint.`);
  const buf = await readFile(file);
  return decodeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}
