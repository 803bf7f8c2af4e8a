// The tokenizer-free page in a real browser: the reader's text cut five ways, the
// precomputed comparison first, then a short live A/B run that replaces it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, watchPage, useSite } from "./harness.js";

const site = useSite();

describe("the tokenizer-free page", () => {
  it("cuts the reader's text five ways, shows the precomputed comparison, and trains two models live", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/tokenizer-free", site.server.url).href, { waitUntil: "load" });
    await page.locator('.stlm-chunk-row[data-strategy="learned"]').first().waitFor({ timeout: 120_000 });
    for (const s of ["stride 4", "words", "GPT-2 BPE"]) assert.ok(Number(await page.locator(`.stlm-chunk-row[data-strategy="${s}"]`).getAttribute("data-chunks")) > 5, s);
    await page.locator('[data-source="precomputed"] svg').first().waitFor({ timeout: 30_000 });

    for (const label of ["plain bytes", "BPE pooled", "learned pooled"]) await page.getByLabel(label).uncheck();
    const seconds = page.getByLabel("Seconds each").first();
    await seconds.fill("10");
    await seconds.dispatchEvent("input");
    await page.getByRole("button", { name: "Run" }).click();
    await page.locator('.stlm-status[data-status="done"]').waitFor({ timeout: 300_000 });
    await page.locator('[data-source="live"] svg').first().waitFor({ timeout: 30_000 });

    await assertClean(page, log, "/tokenizer-free");
    await page.close();
  });
});
