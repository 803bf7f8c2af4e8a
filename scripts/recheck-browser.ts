// The training page's "Re-run and check", measured in a real browser (Debian's
// Chromium, headless) over the built site: the precomputed nano-austen figure's first
// N steps trained again in the page's worker on a backend, and the card's verdict.
//
//   npm run build && node --import tsx scripts/recheck-browser.ts --backend wasm --steps 100
//   node --import tsx scripts/recheck-browser.ts --backend webgpu --steps 5   # WebGPU on SwiftShader (slow)
//
// Prints the card's result and facts, and its data attributes (verdict, steps compared,
// largest relative difference, first departure).
//
// With --json FILE it also writes what it measured into FILE, under the backend's name
// (other backends' entries in the file are kept): every step's figure loss, re-run loss
// and relative difference, the largest, the device the browser computed on, the lab's
// commit. data/runs/agreement/gpu-band.json, the measurement the GPU backends' band in
// lib/runs/agreement.ts is derived from (test/unit/agreement.test.ts checks the two
// agree), is made this way:
//
//   npm run build
//   node --import tsx scripts/recheck-browser.ts --backend wasm --steps 20 --json data/runs/agreement/gpu-band.json
//   node --import tsx scripts/recheck-browser.ts --backend webgl --steps 20 --json data/runs/agreement/gpu-band.json
//   node --import tsx scripts/recheck-browser.ts --backend webgpu --steps 5 --json data/runs/agreement/gpu-band.json
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseFlags } from "../lib/cli/args.js";
import { relativeDifference } from "../lib/runs/agreement.js";
import { parseRunRecord } from "../lib/runs/record.js";
import { LAB_IDENTITY } from "../src/vendor/lab-identity.js";
import { launchBrowser, startServer } from "../test/e2e/harness.js";

const f = parseFlags(process.argv.slice(2), { backend: "string", steps: { kind: "int", min: 1, example: 20 }, json: "string" }, "recheck-browser");
const backend = String(f.backend ?? "wasm");
const steps = (f.steps as number | undefined) ?? 20;
const jsonFile = f.json as string | undefined;
const server = await startServer();
const session = await launchBrowser({ webgpu: backend === "webgpu" });
try {
  const page = await session.context.newPage();
  await page.goto(new URL(`/train?backend=${backend}`, server.url).href, { waitUntil: "load" });
  const card = page.locator(".stlm-recheck");
  await card.waitFor({ timeout: 120_000 });
  const got = await page.locator(".stlm-backend").first().getAttribute("data-backend", { timeout: 300_000 });
  const description = (await page.locator(".stlm-backend").first().innerText()).trim();
  const box = page.getByLabel("Check up to step", { exact: true });
  await box.fill(String(steps));
  await box.dispatchEvent("input");
  const t0 = Date.now();
  await card.getByRole("button", { name: "Re-run and check", exact: true }).click();
  await page.waitForFunction(() => ["agrees", "departs", "error", "incomplete"].includes(document.querySelector(".stlm-recheck")?.getAttribute("data-verdict") ?? ""), null, { timeout: 3_600_000, polling: 1000 });
  const seconds = (Date.now() - t0) / 1000;
  const attrs = await card.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
  process.stdout.write(
    `backend asked ${backend}, computing on ${got}; ${steps} steps in ${seconds.toFixed(0)} s\n` +
      `${await card.locator(".stlm-recheck-result").innerText()}\n${await card.locator(".stlm-recheck-facts").innerText()}\n${JSON.stringify({ ...attrs, losses: undefined })}\n`
  );
  if (jsonFile) {
    if (got !== backend) throw new Error(`asked for ${backend} but the page computes on ${got}: nothing written to ${jsonFile}`);
    const figure = parseRunRecord(await readFile("data/runs/nano-austen/run.json", "utf8"), "data/runs/nano-austen/run.json");
    const reference = new Map(figure.metrics.steps.map((r) => [r.step, r.loss]));
    const rerun = JSON.parse(attrs.losses ?? "[]") as [number, number][];
    const rows = rerun.filter(([step]) => reference.has(step)).map(([step, loss]) => {
      const ref = reference.get(step)!;
      return { step, figure: ref, rerun: loss, relative: relativeDifference(ref, loss) };
    });
    const largest = rows.reduce((m, r) => (r.relative > m.relative ? r : m), rows[0]);
    const file: { what: string; figure: string; backends: Record<string, unknown> } = existsSync(jsonFile)
      ? JSON.parse(await readFile(jsonFile, "utf8"))
      : { what: "", figure: "", backends: {} };
    file.what = "The training page's Re-run and check of the precomputed nano-austen figure (computed on wasm in Node), in headless Chromium, per backend: each step's training loss, the figure's and the re-run's, and their relative difference. lib/runs/agreement.ts derives the GPU backends' band from it.";
    file.figure = "data/runs/nano-austen/run.json";
    file.backends[backend] = {
      device: description,
      steps: rows.length,
      largest: { step: largest.step, relative: largest.relative },
      seconds: Math.round(seconds),
      measuredAt: new Date().toISOString(),
      lab: LAB_IDENTITY,
      command: `node --import tsx scripts/recheck-browser.ts --backend ${backend} --steps ${steps} --json ${jsonFile}`,
      rows
    };
    await mkdir(path.dirname(jsonFile), { recursive: true });
    await writeFile(jsonFile, JSON.stringify(file, null, 1) + "\n");
    process.stdout.write(`wrote ${backend} (${rows.length} steps, largest ${largest.relative.toExponential(2)} at step ${largest.step}) to ${jsonFile}\n`);
  }
} finally {
  await session.close();
  await server.close();
}
