// The built site in a real browser: the index page's chart, and the training page trains,
// saves and loads a model. (That every built page renders without errors and without
// leaving its origin is test/e2e/screens.test.ts's.)
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, chooseOption, ROOT, SCREENSHOTS, startServer, watchPage, type PageLog, type Server, useSite } from "./harness.js";

const TRAIN_STEPS = 30;

/** A checkpoint whose header asks for blockSize n, re-hashed as the lab hashes (a forger's file: only the lab's checks stop it). */
function forgeBlockSize(bytes: Buffer, n: number): Buffer {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  const spec = JSON.parse(header.__metadata__["stlm.model"]);
  spec.model.blockSize = n;
  header.__metadata__["stlm.model"] = JSON.stringify(spec);
  header.__metadata__["stlm.sha256"] = "0".repeat(64);
  let text = JSON.stringify(header);
  while ((8 + text.length) % 8) text += " ";
  const out = Buffer.concat([Buffer.alloc(8), Buffer.from(text), bytes.subarray(8 + headerLength)]);
  out.writeBigUInt64LE(BigInt(text.length), 0);
  const hash = createHash("sha256").update(out).digest("hex");
  out.write(hash, 8 + text.indexOf("0".repeat(64)), "latin1");
  return out;
}

/** A real pooled checkpoint, trained one step by the CLI. */
async function pooledCheckpoint(): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "stlm-e2e-pooled-"));
  const text = join(dir, "text.txt");
  await writeFile(text, "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "stlm.js"), "train", "--preset", "pooled-stride4", "--text", text, "--steps", "1", "--batch", "1", "--out", join(dir, "run"), "--quiet"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return readFile(join(dir, "run", "checkpoint.safetensors"));
}


/** What a page must have drawn before it counts as rendered. */
const READY: Record<string, string> = {
  "/": ".card svg",
  "/train": ".stlm-backend"
};


async function open(page: Page, server: Server, path: string): Promise<void> {
  await page.goto(new URL(path, server.url).href, { waitUntil: "load" });
  await page.locator(READY[path] ?? "main").first().waitFor({ timeout: 60_000 });
  await page.waitForLoadState("networkidle");
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const site = useSite();

// Every built page renders with no error cell, no console error and no request outside its origin:
// test/e2e/screens.test.ts visits each one (its list is checked against dist/) at every width and theme.

describe("the index page", () => {
  it("charts parameter counts that match the presets' own descriptions", async () => {
    const page = await site.session.context.newPage();
    await open(page, site.server, "/");
    const labels = await page.locator(".card svg text").allTextContents();
    assert.ok(labels.includes("230k"), `nano with bytes should total about 0.23M parameters; labels: ${labels.join(" | ")}`);
    assert.ok(labels.includes("886k"), `micro with bytes should total about 0.89M parameters; labels: ${labels.join(" | ")}`);
    await page.close();
  });
});

describe("the training page", () => {
  let page: Page;
  let log: PageLog;

  before(async () => {
    page = await site.session.context.newPage();
    log = watchPage(page, site.server.origin);
    await open(page, site.server, "/train");
  });

  after(async () => page?.close());

  it("says which backend computes, and picks wasm with SIMD on a machine without a GPU", async () => {
    const line = page.locator(".stlm-backend");
    assert.equal(await line.getAttribute("data-backend"), "wasm");
    assert.ok(Number(await line.getAttribute("data-threads")) >= 1);
    assert.match(await line.innerText(), /wasm \(SIMD/);
  });

  it("shows the precomputed run before anything runs, or says it is missing", async () => {
    const card = page.locator(".stlm-chart-card");
    assert.equal(await card.getAttribute("data-source"), "precomputed");
    const runFile = join(ROOT, "data", "runs", "nano-austen", "metrics.jsonl");
    if (existsSync(runFile)) {
      const rows = (await readFile(runFile, "utf8")).split("\n").filter((l) => l.includes('"loss"')).length;
      assert.equal(await card.locator(".stlm-loss-chart").getAttribute("data-steps"), String(rows));
      assert.equal(await page.locator('.stlm-stats [data-stat="status"]').innerText(), "precomputed");
      // The precomputed checkpoint is loaded: its attention is drawn before anything trains, and it writes, saying so.
      await page.locator(".stlm-attention-card .stlm-attention").waitFor({ timeout: 60_000 });
      const written = page.locator('.stlm-written[data-model="precomputed nano on austen"]');
      await written.waitFor({ timeout: 60_000 });
      assert.match(await written.locator("figcaption").innerText(), /^Written by precomputed nano on austen \(weights from step \d+\)$/);
    } else {
      assert.match(await card.innerText(), /has not been made yet/);
    }
  });

  it("refuses a training text that is not UTF-8, saying why", async () => {
    await chooseOption(page.getByRole("combobox", { name: "Corpus" }), "your own text");
    await page.locator(".stlm-text-source").waitFor();
    await page.getByLabel("Choose a text file").setInputFiles({ name: "latin1.txt", mimeType: "text/plain", buffer: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]) });
    const note = page.locator(".stlm-text-source .stlm-error");
    await note.waitFor();
    assert.match(await note.innerText(), /latin1\.txt is not valid UTF-8 \(first bad byte at offset 3, 0xe9\)/);
    await page.locator(".stlm-run").click();
    assert.match(await page.locator(".stlm-buttons .stlm-error").innerText(), /not valid UTF-8/);
    assert.equal(await page.locator(".stlm-chart-card").getAttribute("data-source"), "precomputed");
    await chooseOption(page.getByRole("combobox", { name: "Corpus" }), "austen");
    await page.locator(".stlm-text-source").waitFor({ state: "hidden" });
  });

  it(`trains the nano preset for ${TRAIN_STEPS} steps: the loss falls and the chart follows`, async () => {
    const stepsBox = page.getByRole("spinbutton", { name: "Steps" });
    await stepsBox.fill(String(TRAIN_STEPS));
    await stepsBox.dispatchEvent("input");
    await page.getByRole("radio", { name: "nano" }).check();
    // Pressed twice: the second press stops the first run, whether loading its corpus or training, and starts afresh.
    await page.locator(".stlm-run").click();
    await page.locator(".stlm-run").click();

    const seenByRun = new Map<string, number[]>();
    const card = page.locator(".stlm-chart-card");
    const chartSteps = async () => Number(await card.locator(".stlm-loss-chart").getAttribute("data-steps"));
    const deadline = Date.now() + 180_000;
    let status: string | null = null;
    let pausedOnce = false;
    while (Date.now() < deadline) {
      status = await card.getAttribute("data-status");
      if ((await card.getAttribute("data-source")) === "live") {
        const runNumber = (await card.getAttribute("data-run")) ?? "?";
        const seen = seenByRun.get(runNumber) ?? [];
        seenByRun.set(runNumber, seen);
        const steps = await chartSteps().catch(() => NaN);
        if (!Number.isNaN(steps) && seen.at(-1) !== steps) seen.push(steps);
      }
      if (status === "done" || status === "error") break;
      if (!pausedOnce && status === "running" && Math.max(0, ...[...seenByRun.values()].map((s) => s.at(-1) ?? 0)) >= 5) {
        pausedOnce = true;
        await page.locator(".stlm-pause").click();
        await page.locator('.stlm-chart-card[data-status="paused"]').waitFor({ timeout: 20_000 });
        const atPause = await chartSteps();
        await page.waitForTimeout(1500);
        assert.equal(await chartSteps(), atPause, "a paused run takes no steps");
        assert.equal(await page.locator(".stlm-pause").innerText(), "Resume");
        await page.locator(".stlm-pause").click();
      }
      await page.waitForTimeout(250);
    }
    assert.ok(pausedOnce, "the run was never seen running with 5 steps done, so Pause was not tried");
    assert.equal(status, "done", `the run ended as ${status}: ${await page.locator(".stlm-stats-card").innerText()}`);

    const chart = page.locator(".stlm-chart-card .stlm-loss-chart");
    assert.equal(await chart.getAttribute("data-steps"), String(TRAIN_STEPS));
    const seen = seenByRun.get((await card.getAttribute("data-run")) ?? "?") ?? [];
    assert.ok(seen.length >= 3, `the chart should redraw as steps arrive; it showed step counts ${seen.join(", ")}`);
    assert.deepEqual(seen, [...seen].sort((a, b) => a - b), "step counts only grow");
    const first = Number(await chart.getAttribute("data-first-loss"));
    const last = Number(await chart.getAttribute("data-last-loss"));
    assert.ok(first > 5 && first < 6, `the first loss should be near ln(258) = 5.55 nats, got ${first}`);
    assert.ok(last < first - 1, `the loss should fall by more than 1 nat in ${TRAIN_STEPS} steps: ${first} -> ${last}`);

    const stats = page.locator(".stlm-stats");
    assert.equal(await stats.locator('[data-stat="step"]').innerText(), `${TRAIN_STEPS} / ${TRAIN_STEPS}`);
    const val = Number(await stats.locator('[data-stat="val"]').innerText());
    assert.ok(val > 2 && val < 8, `validation bits/byte should be between 2 and 8, got ${val}`);
    assert.equal(await stats.locator('[data-stat="parameters"]').innerText(), "230k");
    assert.match(await page.locator(".stlm-sample:not(.stlm-scrubber-sample)").first().innerText(), /\S{3,}/);
    await page.locator(".stlm-attention-card .stlm-attention").waitFor({ timeout: 30_000 });
    // "Write with the current model" writes again with the model the run ended with, and says which it is.
    // (The first press's run, stopped by the second, may have written first, saying so: "weights from step 1".)
    const written = page.locator(".stlm-written figcaption", { hasText: `Written by nano on austen (weights from step ${TRAIN_STEPS})` });
    await written.waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(".stlm-written").getAttribute("data-model"), "nano on austen");
    await screenshot(page, "train-after-run");
    await assertClean(page, log, "/train after training");
  });

  it("downloads a checkpoint, loads it back from the file, and refuses damaged or foreign ones", async (t) => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download checkpoint" }).click()]);
    const path = await download.path();
    const bytes = await readFile(path);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
    assert.equal(header.__metadata__.format, "stlm-checkpoint", "a safetensors file with the lab's metadata");
    assert.match(download.suggestedFilename(), /\.safetensors$/);
    await page.getByLabel("Load a checkpoint file").setInputFiles({ name: "round-trip.stlm", mimeType: "application/octet-stream", buffer: bytes });
    await page.locator(".stlm-checkpoints .stlm-status", { hasText: "Loaded round-trip.stlm" }).waitFor({ timeout: 30_000 });
    await page.locator('.stlm-stats [data-stat="status"]', { hasText: /^loaded$/ }).waitFor({ timeout: 10_000 });
    assert.match(await page.locator(".stlm-chart-card h2").innerText(), /Loaded round-trip\.stlm \(checkpoint at step 30/);
    await page.locator(".stlm-attention-card .stlm-attention").waitFor({ timeout: 30_000 });
    // The text written beside it is the loaded model's, and says so.
    const written = page.locator('.stlm-written[data-model="round-trip.stlm"]');
    await written.waitFor({ timeout: 60_000 });
    assert.equal(await written.locator("figcaption").innerText(), "Written by round-trip.stlm (weights from step 30)");

    // Loading replaces the model: loading the same checkpoint again leaves as many tensors alive.
    const tensors = page.locator('.stlm-stats [data-stat="tensors"]');
    const afterFirst = Number(await tensors.innerText());
    await page.getByLabel("Load a checkpoint file").setInputFiles({ name: "again.stlm", mimeType: "application/octet-stream", buffer: bytes });
    await page.locator(".stlm-chart-card h2", { hasText: "Loaded again.stlm" }).waitFor({ timeout: 30_000 });
    await page.locator(".stlm-attention-card .stlm-attention").waitFor({ timeout: 30_000 });
    assert.ok(afterFirst > 0);
    assert.equal(Number(await tensors.innerText()), afterFirst, "tensors alive after loading the same checkpoint twice");

    // Hostile uploads are refused with a message naming the problem, keep the loaded model, and free what they held.
    const heap = () => page.evaluate(async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error("start Chromium with --js-flags=--expose-gc to measure the heap");
      gc();
      return (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
    });
    const heapBefore = await heap();
    const refusals: [string, Buffer, RegExp][] = [
      ["cut.safetensors", bytes.subarray(0, bytes.length - 100), /truncated|cut short/],
      ["flipped.safetensors", Buffer.from(bytes.map((b, i) => (i === bytes.length - 5 ? b ^ 1 : b))), /corrupted/],
      ["huge.safetensors", forgeBlockSize(bytes, 20000), /blockSize: must be an integer from 2 to 4096/],
      ["pooled.safetensors", await pooledCheckpoint(), /holds a pooled byte model \(kind "pooled"\), not a plain byte model/],
      ["notes.txt", Buffer.from("just some notes"), /not a lab checkpoint/]
    ];
    for (const [name, buffer, message] of refusals) {
      await page.getByLabel("Load a checkpoint file").setInputFiles({ name, mimeType: "application/octet-stream", buffer });
      const status = page.locator(".stlm-checkpoints .stlm-status.stlm-error", { hasText: name });
      await status.waitFor({ timeout: 30_000 });
      assert.match(await status.innerText(), message, name);
      assert.equal(await page.locator('.stlm-stats [data-stat="status"]').innerText(), "loaded", `${name} leaves the loaded model in place`);
      assert.equal(Number(await tensors.innerText()), afterFirst, `${name} leaves no tensors behind`);
    }
    const grew = (await heap()) - heapBefore;
    t.diagnostic(`JS heap after the refused uploads (after gc): ${((grew) / 2 ** 20).toFixed(1)} MiB more than before`);
    // Noisy by tens of MiB (V8 keeps some garbage); a refused file once held 1.6 GB.
    assert.ok(grew < 128 * 2 ** 20, `the JS heap grew by ${(grew / 2 ** 20).toFixed(0)} MiB over the refused uploads`);
  });

  it("saves a checkpoint in IndexedDB and loads it back", async () => {
    await page.getByRole("button", { name: "Save in this browser" }).click();
    await page.locator(".stlm-checkpoints .stlm-status", { hasText: "Saved" }).waitFor({ timeout: 30_000 });
    const options = await page.getByLabel("Checkpoints saved in this browser").locator("option").count();
    assert.ok(options >= 1);
    await page.getByRole("button", { name: "Load", exact: true }).click();
    await page.locator(".stlm-checkpoints .stlm-status", { hasText: /^Loaded "/ }).waitFor({ timeout: 30_000 });
    await assertClean(page, log, "/train after checkpoints");
  });
});

describe("training on the reader's own text", () => {
  it("trains on pasted text and evaluates on its last tenth", async () => {
    const page = await site.session.context.newPage();
    try {
      const log = watchPage(page, site.server.origin);
      await open(page, site.server, "/train");
      await chooseOption(page.getByRole("combobox", { name: "Corpus" }), "your own text");
      const sentences = ["The cat sat on the mat.", "A dog ran in the park.", "Birds sing at dawn.", "Rain fell all night."];
      const text = Array.from({ length: 600 }, (_, i) => sentences[(i * 7) % 4]).join(" ") + "\n";
      await page.getByLabel("Your own training text").fill(text);
      await page.locator(".stlm-text-source .stlm-status", { hasText: `${text.length.toLocaleString("en-US")} bytes of UTF-8 text` }).waitFor();
      const stepsBox = page.getByRole("spinbutton", { name: "Steps" });
      await stepsBox.fill("10");
      await stepsBox.dispatchEvent("input");
      await page.locator(".stlm-run").click();
      const card = page.locator('.stlm-chart-card[data-source="live"]');
      await card.and(page.locator('[data-status="done"], [data-status="error"]')).waitFor({ timeout: 120_000 });
      assert.equal(await card.getAttribute("data-status"), "done", await page.locator(".stlm-stats-card").innerText());
      assert.match(await card.locator("h2").innerText(), /Live run: nano on the pasted text/);
      assert.equal(await card.locator(".stlm-loss-chart").getAttribute("data-steps"), "10");
      assert.ok(Number(await page.locator('.stlm-stats [data-stat="val"]').innerText()) > 0);
      await assertClean(page, log, "/train (own text)");
    } finally {
      await page.close();
    }
  });
});

describe("choosing the backend on the training page", () => {
  it("runs the precomputed model on WebGL when the reader picks it, and returns to wasm", async () => {
    if (!existsSync(join(ROOT, "data", "runs", "nano-austen", "checkpoint.safetensors"))) return;
    const page = await site.session.context.newPage();
    try {
      const log = watchPage(page, site.server.origin);
      await open(page, site.server, "/train");
      const backendSelect = page.getByRole("combobox", { name: "Backend" });
      await chooseOption(backendSelect, "webgl");
      await page.locator('.stlm-backend[data-backend="webgl"]').waitFor({ timeout: 60_000 });
      const card = page.locator('.stlm-attention-card[data-backend="webgl"]:not([data-state="none"])');
      await card.waitFor({ timeout: 120_000 });
      assert.equal(await card.getAttribute("data-state"), "drawn", `on WebGL the attention card says: ${await card.innerText()}`);
      await chooseOption(backendSelect, "wasm");
      await page.locator('.stlm-backend[data-backend="wasm"]').waitFor({ timeout: 60_000 });
      await page.locator('.stlm-attention-card[data-backend="wasm"][data-state="drawn"]').waitFor({ timeout: 60_000 });
      await assertClean(page, log, "/train (webgl, then wasm)");
    } finally {
      await page.close();
    }
  });
});

describe("the training page served cross-origin isolated", () => {
  it("loads the threaded wasm build without errors", async () => {
    const isolated = await startServer({ isolated: true });
    const page = await site.session.context.newPage();
    try {
      const log = watchPage(page, isolated.origin);
      await open(page, isolated, "/train");
      assert.equal(await page.evaluate(() => crossOriginIsolated), true);
      assert.equal(await page.locator(".stlm-backend").getAttribute("data-backend"), "wasm");
      // The training worker is isolated too (SharedArrayBuffer, so tfjs loads its threaded wasm build there).
      assert.equal(await page.locator(".stlm-backend").getAttribute("data-isolated"), "true");
      assert.match(await page.locator(".stlm-backend").innerText(), /wasm \(SIMD[^)]*, \d+ threads?\) in the training worker/);
      // The lab's kernel threads run from the training worker, one per core the browser reports.
      const cores = (await page.evaluate("navigator.hardwareConcurrency")) as number;
      assert.equal(Number(await page.locator(".stlm-backend").getAttribute("data-kernel-threads")), Math.min(cores, 32));
      await page.waitForTimeout(1000);
      await assertClean(page, log, "/train (isolated)");
    } finally {
      await page.close();
      await isolated.close();
    }
  });
});
