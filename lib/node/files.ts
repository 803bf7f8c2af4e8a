// Run folders and checkpoint files in Node. Writes go to a temporary file that
// is renamed into place, so a crash or a full disk mid-write never replaces a
// good checkpoint with a broken one.
import { existsSync, statSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { CHECKPOINT_FILE, CheckpointError, decodeCheckpoint, type Checkpoint } from "../checkpoint.js";

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

/** The checkpoint file a path names: the file itself, or checkpoint.stlm inside a run folder. */
export function checkpointPath(p: string): string {
  if (!existsSync(p)) throw new CheckpointError(`no such checkpoint or run folder: ${path.resolve(p)}`);
  if (statSync(p).isDirectory()) {
    const f = path.join(p, CHECKPOINT_FILE);
    if (!existsSync(f)) throw new CheckpointError(`${path.resolve(p)} holds no ${CHECKPOINT_FILE}: is it a run folder written by \`stlm train --out\`?`);
    return f;
  }
  return p;
}

export async function loadCheckpointFile(p: string): Promise<Checkpoint> {
  const file = checkpointPath(p);
  const buf = await readFile(file);
  return decodeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}
