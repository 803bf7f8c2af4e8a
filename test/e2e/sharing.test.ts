// The weight tying and sharing page in a real browser: the ledger follows the
// switches, the precomputed A/B runs show first, and a short live A/B run replaces
// them without an error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, watchPage, useSite } from "./harness.js";

const site = useSite();

describe("the sharing page", () => {
  it("charts the ledger, shows the precomputed A/B run, and trains both arms live", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/sharing", site.server.url).href, { waitUntil: "load" });
    await page.locator("#ledger-card svg").first().waitFor({ timeout: 60_000 });
    await page.locator(".stlm-ab-card svg").first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator("#ledger-card").getAttribute("data-total"), "55888896", "stlm-50m-paper, as stlm params counts it");
    assert.equal(await page.locator(".stlm-ab-card").getAttribute("data-source"), "precomputed");
    // The precomputed pair is drawn over its three seeds: mean with a band, every seed a dot, mean ± s.d. in the table.
    assert.match(await page.locator(".stlm-ab-card h2").innerText(), /precomputed in Node, 250 steps, 3 seeds/);
    assert.match((await page.locator(".stlm-ab-card .stlm-band-chart svg[role=img]").first().getAttribute("aria-label")) ?? "", /mean over 3 seeds with min–max band/);
    assert.equal(await page.locator(".stlm-spread-chart circle").count(), 6, "a dot per arm and seed");
    assert.match(await page.locator("table").last().innerText(), /\d\.\d{3} ± \d\.\d{3}/);
    const prose = await page.locator("main").innerText();
    assert.ok(prose.includes("(mean ± s.d. over 3 seeds)"), "the prose quotes the seeds' mean ± s.d.");
    assert.match(prose, /was lower in every seed|cannot tell the two apart/, "and says what the spread allows");

    await page.getByLabel("Byte pooling (replaces the vocabulary)").check();
    await page.locator('#ledger-card[data-total="31864576"]').waitFor({ timeout: 10_000 });

    const steps = page.getByLabel("Steps (live run)").first();
    await steps.fill("20");
    await steps.dispatchEvent("input");
    // Re-run and check: one arm's first 3 steps, trained again here, against the stored losses (4 decimals).
    const recheck = page.locator(".stlm-recheck");
    await recheck.getByLabel("The figure's run to check").selectOption({ index: 3 });
    const upTo = recheck.getByLabel("Check up to step", { exact: true });
    await upTo.fill("3");
    await upTo.dispatchEvent("input");
    await recheck.getByRole("button", { name: "Re-run and check", exact: true }).click();
    await page.waitForFunction(() => ["agrees", "departs", "error", "incomplete"].includes(document.querySelector(".stlm-recheck")?.getAttribute("data-verdict") ?? ""), null, { timeout: 120_000 });
    const checked = await recheck.locator(".stlm-recheck-result").innerText();
    console.log(`sharing, re-run and check of "${await recheck.getByLabel("The figure's run to check").inputValue()}": ${checked}`);
    assert.equal(await recheck.getAttribute("data-verdict"), "agrees", checked);
    assert.equal(await recheck.getAttribute("data-compared"), "3");

    await page.getByRole("button", { name: "Run", exact: true }).click();
    // Progress and time left show while it trains (the page once showed nothing for half a minute).
    const progress = page.locator('.stlm-ab-card .stlm-progress[data-status="running"]:not([data-eta=""])');
    await progress.waitFor({ timeout: 120_000 });
    assert.match(await progress.innerText(), /^step \d+ of 20 · [\d a-z]+ so far · about [\d a-z]+ left$/);
    await page.locator('.stlm-ab-card[data-source="live"][data-status="done"]').waitFor({ timeout: 300_000 });
    const table = await page.locator("table").filter({ hasText: "val bits/byte (last)" }).innerText();
    assert.match(table, /230,080[\s\S]*230,080/, "both arms have the same parameter count");
    // Each arm is a row of the page's runs table (components/runs-library.ts), as a run record.
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 2`, undefined, { timeout: 10_000 });
    const runs = await page.locator(".stlm-runs-table tbody tr td:nth-child(2)").allInnerTexts();
    assert.ok(runs.every((l) => /^sharing \(.+\): .*, seed \d+$/.test(l)), runs.join(" | "));

    await assertClean(page, log, "/sharing");
    await page.close();
  });
});
