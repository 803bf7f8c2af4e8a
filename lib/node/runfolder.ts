// Run folders for `stlm train`: a new one is made empty or refused, one training
// process writes to a folder at a time (a lock file), and a resumed run's
// metrics.jsonl is cut back to the checkpoint it resumes from.
//
// A run is never written over: a folder that holds anything is refused, and the
// message says whether --resume would continue it.
import { readFileSync, unlinkSync } from "node:fs";
import { link, lstat, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { writeFileAtomic } from "./files.js";

/** A run folder that cannot be used as asked; the message says why and what to do. */
export class RunFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunFolderError";
  }
}

/** The lock file's name inside a run folder. */
export const LOCK_FILE = ".lock";

/** The files by which a folder is recognised as a lab run (a saved checkpoint). */
const RUN_MARKERS = ["run.json", "checkpoint.safetensors"];

const ERRNO_WORDS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  ENOTDIR: "a parent is a file, not a folder",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up",
  EEXIST: "it already exists",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EIO: "an input/output error",
  EMLINK: "the parent folder holds too many links",
  EBUSY: "the resource is busy"
};

/** An errno in words, with its code: "permission denied (EACCES)". */
export function errnoWords(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words = e.code ? ERRNO_WORDS[e.code] : undefined;
  return words ? `${words} (${e.code})` : e.message;
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Make `dir` a new, empty run folder and return its absolute path. An empty
 * existing folder is used as it is; a file, a folder that holds a run, or a
 * folder that holds anything else is refused.
 */
export async function prepareNewRunFolder(dir: string): Promise<string> {
  if (dir.trim() === "") throw new RunFolderError(`--out needs a folder to create; got ${JSON.stringify(dir)} (an empty path would mean the current folder)`);
  const abs = path.resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    if (codeOf(err) !== "ENOENT" && codeOf(err) !== "ENOTDIR") throw new RunFolderError(`cannot look at ${abs}: ${errnoWords(err)}`);
    await createFolders(abs);
    return abs;
  }
  if (st.isFile()) throw new RunFolderError(`${abs} is a file; --out names a folder to create`);
  if (!st.isDirectory()) throw new RunFolderError(`${abs} is not a folder; --out names a folder to create`);
  let entries: string[];
  try {
    entries = await readdir(abs);
  } catch (err) {
    throw new RunFolderError(`cannot list ${abs}: ${errnoWords(err)}`);
  }
  if (entries.length === 0) return abs;
  // A live lock says more than "holds files": another train is writing there now.
  if (entries.includes(LOCK_FILE)) await lockState(path.join(abs, LOCK_FILE), abs, hostname());
  if (holdsRun(entries)) {
    throw new RunFolderError(`${abs} already holds a saved run; use --resume ${dir} to continue it, or choose a new folder for a new run (a run is never written over)`);
  }
  throw new RunFolderError(
    `${abs} holds files that are not a finished lab run (${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}); ` +
      `choose a new folder (a run is never written over) or use --resume DIR to continue a run`
  );
}

/** A folder's entries show a lab run: run.json, checkpoint.safetensors, or checkpoint.stlm with config.json. */
function holdsRun(entries: readonly string[]): boolean {
  return RUN_MARKERS.some((m) => entries.includes(m)) || (entries.includes("checkpoint.stlm") && entries.includes("config.json"));
}

/**
 * Create `abs` and its missing parents one at a time, each without `recursive`:
 * Node 20's recursive mkdir loops forever where mkdir fails with ENOENT under an
 * existing parent (/proc/x), and one step at a time also names the component
 * that failed.
 */
async function createFolders(abs: string): Promise<void> {
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    try {
      const st = await stat(p);
      if (!st.isDirectory()) throw new RunFolderError(`cannot create ${abs}: ${p} is a file, not a folder`);
      break;
    } catch (err) {
      if (err instanceof RunFolderError) throw err;
      const code = codeOf(err);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new RunFolderError(`cannot create ${abs}: cannot look at ${p}: ${errnoWords(err)}`);
    }
    missing.push(p);
    const parent = path.dirname(p);
    if (parent === p) break; // the root is missing: mkdir below reports it
    p = parent;
  }
  for (const m of missing.reverse()) {
    try {
      await mkdir(m);
    } catch (err) {
      if (codeOf(err) === "EEXIST" && (await lstat(m).then((s) => s.isDirectory(), () => false))) continue; // made by someone else meanwhile
      const hint =
        codeOf(err) === "ENOENT"
          ? "; this file system does not allow new folders there"
          : codeOf(err) === "EACCES" || codeOf(err) === "EPERM" || codeOf(err) === "EROFS"
            ? "; choose a folder you can write to"
            : "";
      throw new RunFolderError(`cannot create ${m}: ${errnoWords(err)}${hint}`);
    }
  }
}

// ---------------------------------------------------------------------------
// The lock

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

export interface RunLock {
  /** Remove the lock file, if it is still ours. Safe to call twice. */
  release(): void;
}

/** What a lock file says, or null when it is not a lock this module wrote. */
function parseLock(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text) as Partial<LockInfo> | null;
    if (v && typeof v === "object" && Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.hostname === "string" && typeof v.startedAt === "string") {
      return { pid: v.pid as number, hostname: v.hostname, startedAt: v.startedAt };
    }
  } catch {
    // not JSON: a lock cut short, or not ours
  }
  return null;
}

/** Whether a process of this host runs: signal 0 checks without sending. EPERM: it runs, as another user. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return codeOf(err) === "EPERM";
  }
}

/**
 * Take `dir/.lock` for this process, so two `stlm train` processes never write
 * one run folder. The lock is a JSON file {pid, hostname, startedAt} that appears
 * whole: it is written to a temporary file and hard-linked into place, and
 * link() fails when the lock exists, so of processes racing for a folder exactly
 * one wins. A lock whose process has exited (kill -9, a crash) or that is not a
 * lock at all is stale and is taken over (`onNote` hears of it), by one process
 * at a time: see takeOver.
 */
export async function acquireRunLock(dir: string, { onNote }: { onNote?: (note: string) => void } = {}): Promise<RunLock> {
  const abs = path.resolve(dir);
  const lockPath = path.join(abs, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const tmp = path.join(abs, `${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    await writeFile(tmp, JSON.stringify(info) + "\n", { flag: "wx" });
  } catch (err) {
    throw new RunFolderError(`cannot write a lock file in ${abs}: ${errnoWords(err)}`);
  }
  try {
    // Each round that does not end in a win or a refusal waited on another process
    // (a lock being written, a takeover under way, a lock released meanwhile).
    for (let round = 0; round < 60; round++) {
      if (await tryLink(tmp, lockPath)) return holdLock(lockPath, info);
      const state = await lockState(lockPath, abs, info.hostname);
      if (state.kind === "gone") continue;
      if (state.kind === "empty" && round < 2) {
        // An empty lock may be one being written where hard links are not allowed (tryLink's fallback).
        await sleep(100);
        continue;
      }
      const taken = await takeOver(abs, tmp, info.hostname);
      if (taken === "busy") {
        await sleep(50);
        continue;
      }
      if (taken === "won") {
        onNote?.(state.other ? `took over the lock of pid ${state.other.pid} (started ${state.other.startedAt}), which is no longer running` : `replaced ${lockPath}, which was not a readable lock`);
        return holdLock(lockPath, info);
      }
    }
    throw new RunFolderError(`could not take ${lockPath}: other processes kept taking and dropping it; try again`);
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type LockState = { kind: "gone" } | { kind: "empty"; other: null } | { kind: "stale"; other: LockInfo | null };

/** What holds `lockPath` now; a live holder is refused here, with the message a reader needs. */
async function lockState(lockPath: string, abs: string, host: string): Promise<LockState> {
  let held: string;
  try {
    held = await readFile(lockPath, "utf8");
  } catch (err) {
    if (codeOf(err) === "ENOENT") return { kind: "gone" };
    held = "\0"; // unreadable: not a lock, and not one being written
  }
  const other = parseLock(held);
  if (!other) return held === "" ? { kind: "empty", other: null } : { kind: "stale", other: null };
  if (other.hostname !== host) {
    throw new RunFolderError(
      `another stlm train (pid ${other.pid} on ${other.hostname}, started ${other.startedAt}) holds ${lockPath}; ` +
        `this machine cannot tell whether it still runs: wait for it, or delete ${lockPath} if it has stopped`
    );
  }
  if (alive(other.pid)) {
    throw new RunFolderError(
      `another stlm train (pid ${other.pid}, started ${other.startedAt}) is writing to ${abs}; wait for it or stop it ` +
        `(if no stlm train is running there, delete ${lockPath})`
    );
  }
  return { kind: "stale", other };
}

/**
 * Replace a stale lock with ours, one process at a time. Removing a stale lock
 * and linking a new one is not safe between racers: a slow one would remove the
 * winner's fresh lock, thinking it the stale one. So a takeover first takes
 * `.lock.takeover` (a hard link, exclusive like the lock), looks at the lock
 * again while holding it, and only then renames our lock over the stale one
 * (atomic: the lock never goes missing, so no newcomer's link can slip in).
 * "busy": another process is taking over; "lost": the lock is live after all
 * (lockState throws for that) or went away.
 */
async function takeOver(abs: string, tmp: string, host: string): Promise<"won" | "busy" | "lost"> {
  const lockPath = path.join(abs, LOCK_FILE);
  const claim = path.join(abs, `${LOCK_FILE}.takeover`);
  if (!(await tryLink(tmp, claim))) {
    const holder = parseLock(await readFile(claim, "utf8").catch(() => ""));
    if (holder && holder.hostname === host && !alive(holder.pid)) {
      throw new RunFolderError(`a takeover of a stale lock in ${abs} was cut short (pid ${holder.pid} is gone); delete ${claim} and ${lockPath}, then try again`);
    }
    return "busy";
  }
  try {
    const state = await lockState(lockPath, abs, host);
    if (state.kind === "gone") return "lost"; // released meanwhile: the next round links a fresh lock
    await rename(tmp, lockPath);
    return "won";
  } finally {
    await unlink(claim).catch(() => {});
  }
}

/** link(tmp, target): true when `target` is now ours, false when it existed. Falls back to an exclusive create where links are not allowed. */
async function tryLink(tmp: string, target: string): Promise<boolean> {
  try {
    await link(tmp, target);
    return true;
  } catch (err) {
    if (codeOf(err) === "EEXIST") return false;
    if (codeOf(err) !== "EPERM" && codeOf(err) !== "ENOTSUP" && codeOf(err) !== "EOPNOTSUPP") throw new RunFolderError(`cannot create ${target}: ${errnoWords(err)}`);
  }
  // A file system without hard links: open with O_EXCL (a reader can, for a moment, see it empty).
  try {
    await writeFile(target, await readFile(tmp), { flag: "wx" });
    return true;
  } catch (err) {
    if (codeOf(err) === "EEXIST") return false;
    throw new RunFolderError(`cannot create ${target}: ${errnoWords(err)}`);
  }
}

function holdLock(lockPath: string, info: LockInfo): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    try {
      const now = parseLock(readFileSync(lockPath, "utf8"));
      if (now && now.pid === info.pid && now.hostname === info.hostname && now.startedAt === info.startedAt) unlinkSync(lockPath);
    } catch {
      // already gone, or its folder is: nothing to release
    }
  };
  // An exit that skips release (an uncaught error, process.exit) still frees the folder.
  process.on("exit", release);
  return { release };
}

// ---------------------------------------------------------------------------
// Metrics

/**
 * Cut a run's metrics.jsonl back to the rows of steps <= `step` (a resume
 * continues from its checkpoint's step, so rows logged after it would repeat).
 * Rows are JSON objects with a numeric `step`. A last line without its newline
 * (a kill -9 mid-write) is dropped; a damaged line elsewhere is an error that
 * names it. Rewritten atomically. Returns the rows dropped, the cut line among
 * them; a missing file drops none.
 */
export async function truncateMetrics(file: string, step: number): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if (codeOf(err) === "ENOENT") return 0;
    throw new RunFolderError(`cannot read ${file}: ${errnoWords(err)}`);
  }
  const lines = text.split("\n");
  const partial = lines.pop() !== ""; // "" when the file ends with a newline (or is empty)
  const kept: string[] = [];
  let dropped = partial ? 1 : 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (err) {
      throw new RunFolderError(`${file}, line ${i + 1}: not valid JSON (${(err as Error).message}); repair or remove that line, then resume again`);
    }
    const s = (row as { step?: unknown } | null)?.step;
    if (typeof s !== "number" || !Number.isFinite(s)) throw new RunFolderError(`${file}, line ${i + 1}: a row without a numeric "step"; repair or remove that line, then resume again`);
    if (s <= step) kept.push(line);
    else dropped++;
  }
  if (dropped > 0) await writeFileAtomic(file, kept.length ? kept.join("\n") + "\n" : "");
  return dropped;
}
