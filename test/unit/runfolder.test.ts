// Run folders: a new run gets a new, empty folder or a message that says why not;
// one process at a time writes to a folder; a resume cuts metrics back to its step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { acquireRunLock, LOCK_FILE, prepareNewRunFolder, RunFolderError, truncateMetrics } from "../../lib/node/runfolder.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = await mkdtemp(path.join(tmpdir(), "stlm-runfolder-"));
let n = 0;
const fresh = () => path.join(dir, `case-${++n}`);

/** Rejects when `p` takes longer than `ms`: a hang is a failure, not a stuck test run. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms).unref())]);
}

test("a new run folder is created with its missing parents, and its absolute path returned", async () => {
  const deep = path.join(fresh(), "a", "b", "run");
  const rel = path.relative(process.cwd(), deep);
  assert.equal(await prepareNewRunFolder(rel), deep);
  assert.ok((await stat(deep)).isDirectory());
  assert.equal(await prepareNewRunFolder(deep), deep, "an empty folder that exists is fine");
});

test("an empty or blank --out is refused rather than meaning the current folder", async () => {
  for (const blank of ["", "   ", "\t"]) await assert.rejects(prepareNewRunFolder(blank), (e: Error) => e instanceof RunFolderError && /--out needs a folder to create/.test(e.message));
});

test("a file, or a folder under a file, is refused", async () => {
  const file = path.join(fresh() + ".txt");
  await writeFile(file, "notes");
  await assert.rejects(prepareNewRunFolder(file), new RegExp(`${file.replace(/[.]/g, "\\.")} is a file; --out names a folder to create`));
  await assert.rejects(prepareNewRunFolder(path.join(file, "x", "y")), /cannot create .*y: .*\.txt is a file, not a folder/);
});

test("a folder that holds anything at all is refused, and one that holds a run points to --resume", async () => {
  const other = fresh();
  await mkdir(other);
  await writeFile(path.join(other, ".hidden"), "");
  await assert.rejects(prepareNewRunFolder(other), /holds files that are not a finished lab run \(\.hidden\); choose a new folder \(a run is never written over\) or use --resume DIR to continue a run/);
  const halfRun = fresh();
  await mkdir(halfRun);
  await writeFile(path.join(halfRun, "checkpoint.stlm"), "");
  await assert.rejects(prepareNewRunFolder(halfRun), /not a finished lab run/, "a checkpoint without its config is not a run");
  for (const files of [["run.json"], ["checkpoint.safetensors"], ["checkpoint.stlm", "config.json"]]) {
    const run = fresh();
    await mkdir(run);
    for (const f of files) await writeFile(path.join(run, f), "{}");
    await assert.rejects(prepareNewRunFolder(run), new RegExp(`already holds a saved run; use --resume .*${path.basename(run)} to continue it`), files.join(" + "));
  }
});

test("a folder that cannot be made under /proc is refused at once (Node 20's recursive mkdir loops forever there)", { skip: !existsSync("/proc/self") && "no /proc here" }, async () => {
  await assert.rejects(within(prepareNewRunFolder("/proc/x"), 1000), /cannot create \/proc\/x: no such file or folder \(ENOENT\); this file system does not allow new folders there/);
  await assert.rejects(within(prepareNewRunFolder("/proc/self/x/y"), 1000), /cannot create \/proc\/self\/x: no such file or folder \(ENOENT\)/);
  await assert.rejects(within(prepareNewRunFolder("/proc/self/x"), 1000), /cannot create \/proc\/self\/x/);
});

test("a folder without write permission is refused with the errno in words", { skip: process.getuid?.() === 0 && "root may write anywhere" }, async () => {
  const locked = fresh();
  await mkdir(locked);
  await chmod(locked, 0o500);
  try {
    await assert.rejects(prepareNewRunFolder(path.join(locked, "run")), /cannot create .*run: permission denied \(EACCES\); choose a folder you can write to/);
  } finally {
    await chmod(locked, 0o700);
  }
});

test("a second lock on one folder is refused while the first is held, and free again once released", async () => {
  const run = fresh();
  await mkdir(run);
  const lock = await acquireRunLock(run);
  const held = JSON.parse(await readFile(path.join(run, LOCK_FILE), "utf8"));
  assert.equal(held.pid, process.pid);
  assert.equal(held.hostname, hostname());
  assert.ok(!Number.isNaN(Date.parse(held.startedAt)));
  await assert.rejects(acquireRunLock(run), new RegExp(`another stlm train \\(pid ${process.pid}, started .*\\) is writing to .*${path.basename(run)}; wait for it or stop it`));
  await assert.rejects(prepareNewRunFolder(run), /another stlm train \(pid \d+, started .*\) is writing to/, "a new run there is told who holds it");
  lock.release();
  lock.release();
  assert.ok(!existsSync(path.join(run, LOCK_FILE)));
  (await acquireRunLock(run)).release();
  assert.deepEqual(await readdir(run), [], "no temporary files are left behind");
});

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", ""]);
    child.on("exit", () => resolve(child.pid!));
  });
}

test("a lock left by a process that has exited is taken over, with a note", async () => {
  const run = fresh();
  await mkdir(run);
  const pid = await deadPid();
  await writeFile(path.join(run, LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), startedAt: "2024-01-01T00:00:00.000Z" }));
  const notes: string[] = [];
  const lock = await acquireRunLock(run, { onNote: (s) => notes.push(s) });
  assert.equal(JSON.parse(await readFile(path.join(run, LOCK_FILE), "utf8")).pid, process.pid);
  assert.deepEqual(notes, [`took over the lock of pid ${pid} (started 2024-01-01T00:00:00.000Z), which is no longer running`]);
  lock.release();
});

test("a lock file that is not a lock (garbage, empty) is taken over", async () => {
  for (const garbage of ["{not json", "", '{"pid":"12"}', "null"]) {
    const run = fresh();
    await mkdir(run);
    await writeFile(path.join(run, LOCK_FILE), garbage);
    const notes: string[] = [];
    const lock = await acquireRunLock(run, { onNote: (s) => notes.push(s) });
    assert.equal(JSON.parse(await readFile(path.join(run, LOCK_FILE), "utf8")).pid, process.pid, JSON.stringify(garbage));
    assert.match(notes.join(), /which was not a readable lock/);
    lock.release();
    assert.deepEqual(await readdir(run), []);
  }
});

test("a lock held on another host is refused, since this one cannot tell whether it runs", async () => {
  const run = fresh();
  await mkdir(run);
  await writeFile(path.join(run, LOCK_FILE), JSON.stringify({ pid: 1, hostname: "elsewhere-" + hostname(), startedAt: "2024-01-01T00:00:00.000Z" }));
  await assert.rejects(acquireRunLock(run), /pid 1 on elsewhere-.* holds .*\.lock; this machine cannot tell whether it still runs/);
});

test("releasing leaves alone a lock that is no longer ours", async () => {
  const run = fresh();
  await mkdir(run);
  const lock = await acquireRunLock(run);
  const theirs = JSON.stringify({ pid: process.pid + 1, hostname: hostname(), startedAt: new Date().toISOString() });
  await writeFile(path.join(run, LOCK_FILE), theirs);
  lock.release();
  assert.equal(await readFile(path.join(run, LOCK_FILE), "utf8"), theirs);
});

/** Four child processes lock `run` at once; what each printed ("won", or "lost: " and the message). */
async function race(run: string): Promise<string[]> {
  const url = pathToFileURL(path.join(ROOT, "lib/node/runfolder.ts")).href;
  // Each child loads the module, says "ready", waits for "go" on stdin, then races.
  // The winner holds the lock 500 ms and exits without releasing: the exit handler must.
  const code = `(async () => {
    const { acquireRunLock } = await import(${JSON.stringify(url)});
    process.stdout.write("ready\\n");
    await new Promise((r) => process.stdin.once("data", r));
    try {
      await acquireRunLock(${JSON.stringify(run)});
      process.stdout.write("won\\n");
      setTimeout(() => process.exit(0), 500);
    } catch (e) {
      process.stdout.write("lost: " + e.message + "\\n");
      process.exit(0);
    }
  })();`;
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, ["--import", "tsx", "-e", code], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] }));
  const outputs = children.map((c) => {
    let out = "";
    c.stdout!.on("data", (d) => (out += d));
    return {
      ready: new Promise<void>((resolve) => c.stdout!.on("data", () => out.includes("ready") && resolve())),
      done: new Promise<string>((resolve) => c.on("exit", () => resolve(out)))
    };
  });
  await within(Promise.all(outputs.map((o) => o.ready)), 60_000);
  for (const c of children) c.stdin!.write("go\n");
  return within(Promise.all(outputs.map((o) => o.done)), 60_000);
}

test("of four processes that lock one folder at once, exactly one wins, and its exit frees the folder", async () => {
  const run = fresh();
  await mkdir(run);
  const results = await race(run);
  assert.equal(results.filter((r) => r.includes("won")).length, 1, results.join("\n"));
  assert.equal(results.filter((r) => r.includes("lost: another stlm train (pid ")).length, 3, results.join("\n"));
  assert.deepEqual(await readdir(run), [], "the winner's exit removed the lock, and no one left a temporary file");
});

test("of four processes that find one stale lock at once, exactly one takes it over", async () => {
  const run = fresh();
  await mkdir(run);
  await writeFile(path.join(run, LOCK_FILE), JSON.stringify({ pid: await deadPid(), hostname: hostname(), startedAt: "2024-01-01T00:00:00.000Z" }));
  const results = await race(run);
  assert.equal(results.filter((r) => r.includes("won")).length, 1, results.join("\n"));
  assert.deepEqual(await readdir(run), []);
});

test("truncateMetrics keeps the rows up to a step and drops the rest and a cut last line", async () => {
  const run = fresh();
  await mkdir(run);
  const file = path.join(run, "metrics.jsonl");
  const rows = [1, 2, 3, 4, 5].map((step) => JSON.stringify({ step, loss: 5 - step / 10 }));
  await writeFile(file, rows.join("\n") + "\n" + JSON.stringify({ step: 3, valBitsPerByte: 4 }) + "\n" + '{"step": 6, "lo');
  assert.equal(await truncateMetrics(file, 3), 3, "steps 4 and 5, and the cut line");
  assert.equal(await readFile(file, "utf8"), [...rows.slice(0, 3), JSON.stringify({ step: 3, valBitsPerByte: 4 })].join("\n") + "\n");
  assert.equal(await truncateMetrics(file, 3), 0, "nothing more to drop");
  assert.equal(await truncateMetrics(file, 0), 4);
  assert.equal(await readFile(file, "utf8"), "");
  assert.deepEqual((await readdir(run)).sort(), ["metrics.jsonl"], "no temporary file is left");
});

test("truncateMetrics takes a missing file as no rows, and names a damaged line", async () => {
  assert.equal(await truncateMetrics(path.join(fresh(), "metrics.jsonl"), 10), 0);
  const file = path.join(dir, "damaged.jsonl");
  const good = JSON.stringify({ step: 1, loss: 5 });
  await writeFile(file, `${good}\n{oops\n${good}\n`);
  await assert.rejects(truncateMetrics(file, 0), /damaged\.jsonl, line 2: not valid JSON/);
  await writeFile(file, `${good}\n${JSON.stringify({ loss: 5 })}\n`);
  await assert.rejects(truncateMetrics(file, 0), /line 2: a row without a numeric "step"/);
  assert.equal(await readFile(file, "utf8"), `${good}\n${JSON.stringify({ loss: 5 })}\n`, "a damaged file is left as it was");
});
