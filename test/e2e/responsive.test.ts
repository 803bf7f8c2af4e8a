// The training page stays responsive while a model trains, on every backend this
// Chromium offers: the main thread's longest task (Long Tasks API) stays under
// 100 ms, and Pause takes effect within 200 ms (the step counter the page shows
// stops advancing). Properties of the architecture (training runs in a worker),
// not speed benchmarks: the runs are a few steps of the nano preset. The two timing
// thresholds are wall-clock figures, which a shared or slow machine (CI included)
// inflates, so `npm test` reports them and asserts only what does not depend on speed
// (tfjs never starts on the page's thread; at most two step-counter changes follow
// Pause). `STLM_TIMING_ASSERT=1` asserts the thresholds too, on a machine whose load
// average is at most one per core.
import assert from "node:assert/strict";
import { cpus, loadavg } from "node:os";
import { after, before, describe, it, type TestContext } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, launchBrowser, startServer, watchPage, type Server, type Session } from "./harness.js";

const LONGEST_TASK_MS = 100;
/** The 1-minute load average per core: above 1, other processes take this one's CPU and long tasks grow with them. */
const loadPerCore = () => loadavg()[0] / cpus().length;
const PAUSE_MS = 200;

/** Starts a short run on `backend`, pauses it after a few steps, and measures. */
/** Steps the page must show before Pause is pressed: the software GPU backends and cpu are slow. */
const MIN_STEPS: Record<string, number> = { wasm: 6, cpu: 2, webgl: 8, webgpu: 8 };

interface Measured {
  longestTaskMs: number;
  pauseMs: number;
  /** Times the step counter changed after the click. */
  changesAfter: number;
  /** Time between changes of the step counter before the click. */
  msPerChange: number;
}

async function measure(page: Page, server: Server, backend: string, t: TestContext): Promise<Measured> {
  // Where the test's time goes (seconds from the start), reported in one line at the end.
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)}`);
  await page.goto(new URL("/train", server.url).href, { waitUntil: "load" });
  await page.locator(".stlm-backend").first().waitFor({ timeout: 60_000 });
  await page.getByRole("combobox", { name: "Backend" }).selectOption(backend);
  // The backend line is redrawn once the worker has switched (an old build's line has no data-requested).
  await page.locator(`.stlm-backend[data-backend="${backend}"][data-requested="${backend}"], .stlm-backend[data-backend="${backend}"]:not([data-requested])`).waitFor({ timeout: 120_000 });
  phase("backend switched");
  await page.locator('.stlm-chart-card[data-source="precomputed"]').waitFor({ timeout: 120_000 });
  phase("precomputed shown");
  const steps = page.getByRole("spinbutton", { name: "Steps" });
  await steps.fill("200");
  await steps.dispatchEvent("input");
  await page.getByRole("radio", { name: "nano" }).check();
  // From here on every long task counts, and every change of the step counter is timed.
  // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
  await page.evaluate(`(() => {
    window.__longest = 0;
    window.__stepChanges = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: "longtask" });
    let last = "";
    const watch = () => {
      const text = document.querySelector('.stlm-stats [data-stat="step"]')?.textContent ?? "";
      if (text !== last) window.__stepChanges.push({ at: performance.now(), text: (last = text) });
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  })()`);
  await page.locator(".stlm-run").click();
  phase("run clicked");
  const stepNow = async () => Number.parseInt((await page.locator('.stlm-stats [data-stat="step"]').innerText()).split(" ")[0], 10) || 0;
  const status = () => page.locator(".stlm-chart-card").getAttribute("data-status");
  const deadline = Date.now() + 420_000;
  // A few logged steps (GPU backends log every 8th), so the pace before the click is known.
  while ((await status()) !== "running" || (await stepNow()) < MIN_STEPS[backend]) {
    if (Date.now() > deadline) throw new Error(`not ${MIN_STEPS[backend]} steps on ${backend} in 420 s: ${await page.locator(".stlm-stats-card").innerText()}`);
    if ((await status()) === "error") throw new Error(await page.locator(".stlm-stats-card").innerText());
    await page.waitForTimeout(200);
  }
  phase("steps reached");
  const clickedAt = await page.evaluate(() => {
    const at = performance.now();
    (document.querySelector(".stlm-pause") as HTMLButtonElement).click();
    return at;
  });
  await page.locator('.stlm-chart-card[data-status="paused"]').waitFor({ timeout: 60_000 });
  phase("paused");
  await page.waitForTimeout(2000);
  const result = await page.evaluate((since) => {
    const w = window as unknown as { __longest: number; __stepChanges: { at: number; text: string }[] };
    const counted = w.__stepChanges.filter((c) => /^\d/.test(c.text));
    const before = counted.filter((c) => c.at <= since);
    const later = counted.filter((c) => c.at > since);
    // The pace: time between the page's step-counter changes before the click.
    const span = before.length >= 2 ? (before.at(-1)!.at - before[1].at) / Math.max(1, before.length - 2) : NaN;
    return { longest: w.__longest, lastChange: later.at(-1)?.at ?? since, changesAfter: later.length, msPerChange: span, text: counted.at(-1)?.text ?? "" };
  }, clickedAt);
  const pauseMs = result.lastChange - clickedAt;
  const stepAtPause = Number.parseInt(result.text, 10);
  t.diagnostic(
    `${backend}: longest main-thread task ${result.longest.toFixed(0)} ms; the step counter stopped ${pauseMs.toFixed(0)} ms after Pause ` +
      `(${result.changesAfter} change(s) after the click), at step ${stepAtPause}; it changed every ${result.msPerChange.toFixed(0)} ms before`
  );
  await page.locator(".stlm-stop").click();
  await page.locator('.stlm-chart-card[data-status="stopped"]').waitFor({ timeout: 120_000 });
  phase("stopped");
  t.diagnostic(`${backend}: seconds from the page's load: ${phases.join(", ")}`);
  return { longestTaskMs: result.longest, pauseMs, changesAfter: result.changesAfter, msPerChange: result.msPerChange };
}

async function check(session: Session, server: Server, backend: string, t: TestContext): Promise<void> {
  const page = await session.context.newPage();
  try {
    const log = watchPage(page, server.origin);
    const { longestTaskMs, pauseMs, changesAfter, msPerChange } = await measure(page, server, backend, t);
    // The architecture: tfjs never started on the page's thread (its engine registers itself as a global there;
    // Framework only modulepreloads the worker's modules, which fetches and parses them without running them).
    assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", `${backend}: tfjs started on the page's thread`);
    // Pause acts between steps: at most a step the worker had finished but not yet reported, and the step under way, follow it.
    assert.ok(changesAfter <= 2, `${backend}: the step counter moved ${changesAfter} times after Pause`);
    const loaded = loadPerCore();
    if (process.env.STLM_TIMING_ASSERT !== "1") {
      t.diagnostic(`${backend}: timing thresholds reported, not asserted (set STLM_TIMING_ASSERT=1 on a quiet machine to assert them); load average ${loaded.toFixed(1)} per core`);
    } else if (loaded > 1) {
      t.diagnostic(`${backend}: timing thresholds not asserted: this machine's load average is ${loaded.toFixed(1)} per core, so a task's wall time measures the other processes too`);
    } else {
      assert.ok(longestTaskMs < LONGEST_TASK_MS, `${backend}: the main thread was blocked for ${longestTaskMs.toFixed(0)} ms during training`);
      // A step of the pure-JS cpu backend can take longer than 200 ms by itself: the step under way ends first.
      assert.ok(pauseMs < PAUSE_MS || pauseMs < msPerChange + PAUSE_MS, `${backend}: the step counter still moved ${pauseMs.toFixed(0)} ms after Pause (one step took ${msPerChange.toFixed(0)} ms)`);
    }
    await assertClean(page, log, `/train on ${backend}`);
  } finally {
    await page.close();
  }
}

describe("the training page while it trains", () => {
  let server: Server;
  let session: Session;
  before(async () => {
    server = await startServer();
    session = await launchBrowser();
  });
  after(async () => {
    await session?.close();
    await server?.close();
  });
  for (const backend of ["wasm", "cpu", "webgl"]) {
    it(`keeps the main thread free and pauses at once on ${backend}`, { timeout: 600_000 }, (t) => check(session, server, backend, t));
  }
  it("keeps the main thread free and pauses at once on wasm, served cross-origin isolated (threads)", { timeout: 360_000 }, async (t) => {
    const isolated = await startServer({ isolated: true });
    try {
      await check(session, isolated, "wasm", t);
    } finally {
      await isolated.close();
    }
  });
});

/**
 * WebGPU on this machine's Chromium is SwiftShader's Vulkan on the CPU: compiling the step's shaders and the
 * first eight steps (the GPU backends read the loss back every 8th) took 267 s of a quiet machine's CI run and
 * over 420 s on a loaded one, for the same assertions as WebGL's (tfjs off the page's thread, Pause acting
 * between steps). `npm test` leaves it out; `STLM_E2E_WEBGPU=1` runs it (test/e2e/webgpu.test.ts checks a
 * WebGPU training step against wasm in every run).
 */
const WEBGPU = process.env.STLM_E2E_WEBGPU === "1";

describe("the training page while it trains on WebGPU", () => {
  it("keeps the main thread free and pauses at once on webgpu, where an adapter exists", { timeout: 600_000, skip: WEBGPU ? false : "set STLM_E2E_WEBGPU=1 to run it (several minutes on a software adapter)" }, async (t) => {
    const server = await startServer();
    const session = await launchBrowser({ webgpu: true });
    try {
      const probe = await session.context.newPage();
      await probe.goto(server.url);
      const hasAdapter = await probe.evaluate(async () => Boolean(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
      await probe.close();
      if (!hasAdapter) {
        t.skip("this Chromium offers no WebGPU adapter (navigator.gpu.requestAdapter() returned null)");
        return;
      }
      await check(session, server, "webgpu", t);
    } finally {
      await session.close();
      await server.close();
    }
  });
});
