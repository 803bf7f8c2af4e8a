// A run folder's training snapshots (snapshots.jsonl, lib/train/snapshots.ts) with
// what was snapshotted (config.json "snapshots"), for data loaders and scripts.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseSnapshots, type Snapshot, type SnapshotConfig } from "../train/snapshots.js";

export type SnapshotRun =
  | { available: true; name: string; config: SnapshotConfig; totalSteps: number; snapshots: Snapshot[] }
  | { available: false; reason: string };

/** `dir`'s snapshots, checked line by line; {available: false, reason} when it has none. `name` is how messages call the folder. */
export async function readSnapshotRun(dir: string, name: string, { script }: { script: string }): Promise<SnapshotRun> {
  if (!existsSync(path.join(dir, "snapshots.jsonl"))) return { available: false, reason: `${name}/ has no snapshots.jsonl: make it with ${script}.` };
  const config = JSON.parse(await readFile(path.join(dir, "config.json"), "utf8"));
  if (!config.snapshots) throw new Error(`${name}/config.json has no "snapshots" entry saying what snapshots.jsonl holds`);
  const snapshots = parseSnapshots(await readFile(path.join(dir, "snapshots.jsonl"), "utf8"), `${name}/snapshots.jsonl`);
  return { available: true, name: path.basename(dir), config: config.snapshots, totalSteps: config.train.steps, snapshots };
}
