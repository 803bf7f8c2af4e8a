// Where WebGPU's first training step spends the page's frames, with and without compiling
// the step ahead (lib/compile-ahead.ts): a dedicated worker (scripts/compile-ahead/worker.ts)
// trains nano (batch 16 x 128, lib's TinyLM and AdamW) for 4 steps on WebGPU in the test's
// headless Chromium (SwiftShader), reading the loss after each; in `precompile` mode it first
// runs the step dry in tfjs-webgpu's compile-only mode and waits for the compiles. The page
// (scripts/compile-ahead/page.ts) records every animation-frame gap over 100 ms, long tasks,
// and worker pings slower than 100 ms. Prints each phase's times and those lists as JSON.
// The figures in data/runs/main-thread/README.md ("Since 2026-12-02") come from it.
//
//   node --import tsx scripts/compile-ahead.ts plain
//   node --import tsx scripts/compile-ahead.ts precompile
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { rm } from "node:fs/promises";
import { launchBrowser } from "../test/e2e/harness.js";
const mode = process.argv[2] ?? "plain";
if (mode !== "plain" && mode !== "precompile") throw new Error(`usage: compile-ahead.ts [plain|precompile], not ${mode}`);
const here = path.dirname(new URL(import.meta.url).pathname);
const dir = await mkdtemp(path.join(tmpdir(), "gpuc-"));
for (const f of ["page", "worker"]) await build({ entryPoints: [path.join(here, "compile-ahead", f + ".ts")], bundle: true, format: "esm", outfile: path.join(dir, f + ".js"), logLevel: "warning" });
await writeFile(path.join(dir, "index.html"), '<!doctype html><meta charset="utf-8"><title>gpuc</title><script type="module" src="page.js"></script>\n');
const server = spawn(process.execPath, [path.join(here, "serve.mjs"), "--port", "0", "--root", dir, "--plain"], { stdio: ["ignore", "pipe", "inherit"] });
const url: string = await new Promise((resolve) => server.stdout!.on("data", (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) resolve(m[1]); }));
const session = await launchBrowser({ webgpu: true });
try {
  const page = await session.context.newPage();
  page.on("console", (m) => console.log("console:", m.text().slice(0, 200)));
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page.goto(url + "index.html");
  await page.waitForFunction(() => (globalThis as any).pageReady === true);
  const r = await page.evaluate((m) => (globalThis as any).go(m), mode);
  console.log(JSON.stringify(r, null, 1));
} finally { await session.close(); server.kill(); await rm(dir, { recursive: true, force: true }); }
