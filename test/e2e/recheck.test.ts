// "Re-run and check" and resume in the browser, on the training page (one page load):
// the precomputed figure's first steps trained again in the worker agree with its
// run record on wasm; a run paused mid-way, saved in this browser with its optimizer
// state, loaded and resumed, continues bit for bit as a run that never stopped.
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
  it("re-runs the figure's first steps in agreement on wasm, and resumes a saved run bit-identically", { timeout: 240_000 }, async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train?backend=wasm", site.server.url).href, { waitUntil: "load" });
    const card = page.locator(".stlm-recheck");
    await card.waitFor({ timeout: 60_000 });
    await page.locator('.stlm-backend[data-backend="wasm"]').waitFor({ timeout: 60_000 });
    assert.equal(await card.getAttribute("data-rule"), "same", "wasm is held to the strict rule");

    // Re-run and check: the figure's first 3 steps.
    await type(page, "Check up to step", "3");
    await card.getByRole("button", { name: "Re-run and check", exact: true }).click();
    await settled(page, ".stlm-recheck");
    const result = await card.locator(".stlm-recheck-result").innerText();
    const facts = await card.locator(".stlm-recheck-facts").innerText();
    console.log(`re-run and check, 3 steps on wasm: ${result}\n${facts}`);
    assert.equal(await card.getAttribute("data-verdict"), "agrees", result);
    assert.equal(await card.getAttribute("data-compared"), "3");
    assert.ok(Number(await card.getAttribute("data-largest")) <= 1e-4, "every step within 1e-4 relative");
    assert.match(facts, /the same bytes as the figure's|did not record its data's hash/);
    assert.match(facts, /Tensors in the worker: (\d+) before the check, \1 after it/, "the check frees what it made");

    // Resume: a run of 6 steps, paused, saved with its optimizer state, loaded and resumed.
    await type(page, "Steps", "6");
    await page.locator(".stlm-run").click();
    await page.locator('.stlm-chart-card[data-status="running"]').waitFor({ timeout: 60_000 });
    await page.locator(".stlm-pause").click();
    await page.locator('.stlm-chart-card[data-status="paused"]').waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Save in this browser", exact: true }).click();
    const saved = page.locator(".stlm-checkpoints .stlm-status");
    await page.waitForFunction(() => /^Saved /.test(document.querySelector(".stlm-checkpoints .stlm-status")?.textContent ?? ""), null, { timeout: 30_000 });
    const savedText = await saved.innerText();
    const k = Number(/at step (\d+)/.exec(savedText)?.[1]);
    assert.ok(k >= 1 && k < 6, `saved with the optimizer state mid-run: ${savedText}`);
    await page.getByRole("button", { name: "Load", exact: true }).click();
    const resume = page.locator(".stlm-resume");
    await page.locator('.stlm-resume[data-state="resumable"]').waitFor({ timeout: 30_000 });
    assert.match(await resume.locator(".stlm-status").innerText(), new RegExp(`stopped at step ${k} of 6, trained on austen`));
    await resume.getByRole("button", { name: "Resume training", exact: true }).click();
    await page.locator('.stlm-resume[data-state="resumed-done"]').waitFor({ timeout: 120_000 });
    assert.match(await resume.locator(".stlm-status").innerText(), new RegExp(`continued from step ${k} to 6`));
    await resume.getByRole("button", { name: "Check against an uninterrupted run", exact: true }).click();
    await settled(page, ".stlm-resume");
    const resumed = await resume.locator(".stlm-resume-result").innerText();
    console.log(`resume at step ${k} of 6 on wasm: ${resumed}`);
    assert.equal(await resume.getAttribute("data-verdict"), "agrees", resumed);
    assert.equal(await resume.getAttribute("data-exact"), "true", "bit for bit identical");
    assert.equal(await resume.getAttribute("data-compared"), String(6 - k));
    await assertClean(page, log, "/train (re-run and resume)");
    await page.close();
  });
});
