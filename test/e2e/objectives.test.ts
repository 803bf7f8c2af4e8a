// The objectives page in a real browser: the heads figure and the precomputed
// comparison render first, the sampler writes both ways with the drafted bytes
// marked, and a short live A/B run replaces the placeholder without an error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, checkRunsTable, watchPage, useSite } from "./harness.js";
import { recheckPrefix } from "./recheck-prefix.js";
import { checkMainThread, watchMainThread } from "./main-thread.js";

// Served cross-origin isolated, so the A/B run's Stop acts within the step under way (lib/train/interrupt.ts's flag).
const site = useSite({ isolated: true });

/** Watches the A/B card's status and its progress line from now on (each change with its time). */
const WATCH_AB = `(() => {
  window.__abChanges = [];
  let last = "";
  const watch = () => {
    const card = document.querySelector(".stlm-ab-card");
    const now = (card?.getAttribute("data-status") ?? "") + " | " + (card?.querySelector(".stlm-progress")?.textContent ?? "");
    if (now !== last) window.__abChanges.push({ at: performance.now(), status: card?.getAttribute("data-status") ?? "", step: Number(/step (\\d+)/.exec(now)?.[1] ?? NaN) });
    last = now;
    if (window.__abChanges.length < 5000) requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
})()`;

describe("the objectives page", () => {
  it("shows the heads figure and the precomputed comparison, samples speculatively, and trains an A/B run live", async (t) => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/objectives", site.server.url).href, { waitUntil: "load" });
    await page.locator(".stlm-heads-diagram").first().waitFor({ timeout: 60_000 });
    await page.locator(".stlm-objectives-card svg").first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator(".stlm-objectives-card").getAttribute("data-source"), "precomputed");
    assert.ok(Number(await page.locator(".stlm-objectives-card").getAttribute("data-rows")) >= 8, "both sizes, every objective");
    const table = await page.locator("table").first().innerText();
    assert.match(table, /nano[\s\S]*mtp:4[\s\S]*micro/);
    assert.ok((await page.locator(".stlm-drafted-text mark.stlm-drafted").count()) > 0, "the precomputed sample marks its kept drafts");
    // Re-run and check: every run keeps its loss at every step, so 5 steps compare 5.
    assert.match(await page.locator("main").innerText(), /keeps every run's training loss at every step, as the run logged it/);
    const check = await recheckPrefix(page, { run: "nano mtp:4, seed 1", steps: 5 });
    assert.equal(check.verdict, "agrees", check.text);
    assert.equal(check.compared, 5);

    const tokens = page.getByLabel("Bytes to write").first();
    await tokens.fill("40");
    await tokens.dispatchEvent("input");
    await page.getByRole("button", { name: "Sample both ways" }).click();
    await page.locator('.stlm-live-sample[data-status="done"]').waitFor({ timeout: 120_000 });
    assert.ok(Number(await page.locator(".stlm-live-sample").getAttribute("data-bytes-per-pass")) >= 1);
    assert.match(await page.locator(".stlm-live-sample").innerText(), /bytes a pass[\s\S]*the same text/, "greedy speculative text is plain greedy text");

    const steps = page.getByLabel("Steps (live run)").first();
    await steps.fill("10");
    await steps.dispatchEvent("input");
    // The main thread during the run: its longest task, and the live table updated in place, never rebuilt (test/e2e/main-thread.ts).
    await watchMainThread(page, "val bits/byte (head 1, last)");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    // Progress and time left show while it trains.
    const progress = page.locator('.stlm-ab-card .stlm-progress[data-status="running"]:not([data-eta=""])');
    await progress.waitFor({ timeout: 120_000 });
    assert.match(await progress.innerText(), /^step \d+ of 10 · [\d a-z]+ so far · about [\d a-z]+ left$/);
    await page.locator('.stlm-ab-card[data-source="live"][data-status="done"]').waitFor({ timeout: 300_000 });
    assert.match(await page.locator(".stlm-ab-card").innerText(), /next-byte against mtp:2/);
    assert.ok((await page.locator(".stlm-ab-card svg").count()) > 0);
    await checkMainThread(page, t, "/objectives");
    const liveTable = page.locator(".stlm-live-table");
    assert.match(await liveTable.innerText(), /next-byte[\s\S]*mtp:2[\s\S]*\d\.\d{3}/, "the live table has both models and a validation figure");
    assert.equal(await liveTable.getAttribute("data-rows-built"), "2", "a row made once per model");
    // Each arm is a row of the page's runs table (components/runs-library.ts), as a run record.
    // (after the figure's precomputed runs, which are rows too: "/objectives (precomputed)")
    const runs = await checkRunsTable(page, "/objectives", ".stlm-ab-card");
    assert.ok(runs.every((l) => /^objectives: .*, seed \d+$/.test(l)), runs.join(" | "));

    // Stop during a run acts at once (the page is cross-origin isolated): a second, longer run, stopped while it trains.
    const stopT0 = Date.now();
    assert.match(await page.locator(".stlm-buttons", { hasText: "Stop acts" }).innerText(), /Stop acts at once/);
    await steps.fill("200");
    await steps.dispatchEvent("input");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.waitForFunction(() => Number(/step (\d+) of 200/.exec(document.querySelector('.stlm-ab-card[data-status="running"] .stlm-progress')?.textContent ?? "")?.[1] ?? 0) >= 2, null, { timeout: 120_000 });
    await page.evaluate(WATCH_AB);
    const clickAt = await page.evaluate(() => {
      const at = performance.now();
      [...document.querySelectorAll("button")].find((b) => b.textContent === "Stop")!.click();
      return at;
    });
    await page.locator('.stlm-ab-card[data-source="live"][data-status="stopped"]').waitFor({ timeout: 60_000 });
    const stop = await page.evaluate((since) => {
      const changes = (window as unknown as { __abChanges: { at: number; status: string; step: number }[] }).__abChanges.filter((c) => c.at > since);
      const stopped = changes.find((c) => c.status === "stopped");
      const steps = changes.map((c) => c.step).filter(Number.isFinite);
      return { ms: stopped ? stopped.at - since : NaN, steps };
    }, clickAt);
    t.diagnostic(`objectives: stopped ${stop.ms.toFixed(0)} ms after the click on Stop; progress steps shown after it: ${stop.steps.join(", ") || "none"} (this check took ${((Date.now() - stopT0) / 1000).toFixed(1)} s)`);
    assert.ok(stop.steps.every((n) => n < 200), "the run stopped before its end");

    // Every model this page used (its own tools too) ran in the worker: tfjs never started on the page's thread.
    assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", "tfjs started on the page's thread");
    await assertClean(page, log, "/objectives");
    await page.close();
  });
});
