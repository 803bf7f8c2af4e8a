// "Re-run and check" and resume in the browser, on the training page (one page load):
// the precomputed figure's first steps trained again in the worker agree with its
// run record on wasm; a run paused mid-way, saved in this browser with its optimizer
// state, loaded and resumed, continues bit for bit as a run that never stopped; the
// finished run, saved and loaded again, is extended to a larger total ("Train to step",
// the CLI's --extend-to; its numbers are checked against the CLI's in test/unit/live-resume.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, watchPage, useSite } from "./harness.js";

const site = useSite();

const type = async (page: Page, label: string, value: string) => {
  const box = page.getByLabel(label, { exact: true });
  await box.fill(value);
  await box.dispatchEvent("input");
};
const settled = (page: Page, selector: string) =>
  page.waitForFunction((sel) => {
    const v = document.querySelector(sel)?.getAttribute("data-verdict");
    return v !== null && v !== undefined && v !== "running";
  }, selector, { timeout: 120_000 });

describe("re-run and resume on the training page", () => {
  it("re-runs the figure's first steps in agreement on wasm, resumes a saved run bit-identically, and extends it", { timeout: 360_000 }, async () => {
    const t0 = Date.now();
    const phase = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train?backend=wasm", site.server.url).href, { waitUntil: "load" });
    const card = page.locator(".stlm-recheck");
    await card.waitFor({ timeout: 60_000 });
    await page.locator('.stlm-backend[data-backend="wasm"]').waitFor({ timeout: 60_000 });
    assert.equal(await card.getAttribute("data-rule"), "same", "wasm is held to the strict rule");

    // Re-run and check: the figure's first 2 steps.
    await type(page, "Check up to step", "2");
    await card.getByRole("button", { name: "Re-run and check", exact: true }).click();
    await settled(page, ".stlm-recheck");
    const result = await card.locator(".stlm-recheck-result").innerText();
    const facts = await card.locator(".stlm-recheck-facts").innerText();
    console.log(`re-run and check, 2 steps on wasm: ${result}\n${facts}`);
    assert.equal(await card.getAttribute("data-verdict"), "agrees", result);
    assert.equal(await card.getAttribute("data-compared"), "2");
    assert.deepEqual(JSON.parse((await card.getAttribute("data-losses"))!).map((r: number[]) => r[0]), [1, 2], "the re-run's losses, for scripts");
    assert.match(facts, /This page: .*wasm with(out)? FMA/, "the page says whether its kernels use FMA");
    assert.ok(Number(await card.getAttribute("data-largest")) <= 1e-4, "every step within 1e-4 relative");
    assert.match(facts, /the same bytes as the figure's|did not record its data's hash/);
    assert.match(facts, /Tensors in the worker: (\d+) before the check, \1 after it/, "the check frees what it made");

    // Resume: a run of 4 steps, paused, saved with its optimizer state, loaded and resumed.
    await type(page, "Steps", "4");
    await page.locator(".stlm-run").click();
    await page.locator('.stlm-chart-card[data-status="running"]').waitFor({ timeout: 60_000 });
    await page.locator(".stlm-pause").click();
    await page.locator('.stlm-chart-card[data-status="paused"]').waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Save in this browser", exact: true }).click();
    const saved = page.locator(".stlm-checkpoints .stlm-status");
    await page.waitForFunction(() => /^Saved /.test(document.querySelector(".stlm-checkpoints .stlm-status")?.textContent ?? ""), null, { timeout: 30_000 });
    const savedText = await saved.innerText();
    const k = Number(/at step (\d+)/.exec(savedText)?.[1]);
    assert.ok(k >= 1 && k < 4, `saved with the optimizer state mid-run: ${savedText}`);
    await page.getByRole("button", { name: "Load", exact: true }).click();
    const resume = page.locator(".stlm-resume");
    await page.locator('.stlm-resume[data-state="resumable"]').waitFor({ timeout: 30_000 });
    assert.match(await resume.locator(".stlm-status").innerText(), new RegExp(`stopped at step ${k} of 4, trained on austen`));
    assert.equal(await resume.getByLabel("Train to step", { exact: true }).inputValue(), "4", "a plain resume goes to the planned total");
    await resume.getByRole("button", { name: "Resume training", exact: true }).click();
    await page.locator('.stlm-resume[data-state="resumed-done"]').waitFor({ timeout: 120_000 });
    assert.match(await resume.locator(".stlm-status").innerText(), new RegExp(`continued from step ${k} to 4`));
    await resume.getByRole("button", { name: "Check against an uninterrupted run", exact: true }).click();
    await settled(page, ".stlm-resume");
    const resumed = await resume.locator(".stlm-resume-result").innerText();
    console.log(`resume at step ${k} of 4 on wasm: ${resumed}`);
    assert.equal(await resume.getAttribute("data-verdict"), "agrees", resumed);
    assert.equal(await resume.getAttribute("data-exact"), "true", "bit for bit identical");
    assert.equal(await resume.getAttribute("data-compared"), String(4 - k));

    phase("re-run, resume and check done");
    // Extend: the finished run, saved and loaded, trains on to 6 steps under a 6-step plan.
    await page.getByRole("button", { name: "Save in this browser", exact: true }).click();
    await page.waitForFunction(() => /^Saved .*at step 4,/.test(document.querySelector(".stlm-checkpoints .stlm-status")?.textContent ?? ""), null, { timeout: 30_000 });
    // (The page's table of contents can lie over the button at this scroll position: a click event, not a pointer.)
    await page.getByRole("button", { name: "Load", exact: true }).dispatchEvent("click");
    await page.locator('.stlm-resume[data-state="finished"]').waitFor({ timeout: 30_000 });
    phase("finished checkpoint loaded");
    const to = resume.getByLabel("Train to step", { exact: true });
    assert.equal(await to.inputValue(), "8", "a finished run is offered twice its plan");
    await type(page, "Train to step", "4");
    assert.equal(await resume.getByRole("button", { name: "Resume training", exact: true }).isDisabled(), true, "a plan is extended, not shortened");
    assert.match(await resume.locator(".stlm-status").innerText(), /must be at least its planned 4, and above it/);
    await type(page, "Train to step", "6");
    assert.match(await resume.locator(".stlm-status").innerText(), /finished all 4 of its planned steps\. Resume training trains it on to step 6: the plan is extended from 4 to 6 steps, as `stlm train --resume DIR --extend-to 6`/);
    await resume.getByRole("button", { name: "Resume training", exact: true }).click();
    await page.locator('.stlm-resume[data-state="resumed-done"]').waitFor({ timeout: 120_000 });
    const extended = await resume.locator(".stlm-status").innerText();
    phase("extended");
    assert.match(extended, /resumed at step 4 and extended to 6 steps: continued from step 4 to 6\. Its plan was extended/);
    assert.equal(await resume.getByRole("button", { name: "Check against an uninterrupted run", exact: true }).isDisabled(), true, "an extended run has no uninterrupted twin");
    await assertClean(page, log, "/train (re-run and resume)");
    await page.close();
  });
});
