// The weight tying and sharing page in a real browser: the ledger follows the
// switches, the precomputed A/B runs show first, and a short live A/B run replaces
// them without an error.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { checkMainThread, watchMainThread } from "./main-thread.js";
import { assertClean, checkRunsTable, watchPage, useSite } from "./harness.js";
import type { SharingSnapshotsFile } from "../../lib/runs/precomputed-snapshots.js";

const site = useSite();
/** The committed snapshots of the page's default experiment, shared-ffn (taken by its own runs, scripts/sharing-runs.ts --snapshot-every 50). */
const replay = JSON.parse(gunzipSync(readFileSync(new URL("../../data/runs/sharing/snapshots/shared-ffn.json.gz", import.meta.url))).toString("utf8")) as SharingSnapshotsFile;

describe("the sharing page", () => {
  it("charts the ledger, shows the precomputed A/B run, and trains both arms live", async (t) => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/sharing", site.server.url).href, { waitUntil: "load" });
    await page.locator("#ledger-card svg").first().waitFor({ timeout: 60_000 });
    await page.locator(".stlm-ab-card svg").first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator("#ledger-card").getAttribute("data-total"), "55888896", "stlm-50m-paper, as stlm params counts it");
    // The card's data-* attributes are written on the frame after it is displayed (nextFrame), and its
    // precomputed chart is drawn at once: wait for the attribute rather than read it after the chart.
    await page.locator('.stlm-ab-card[data-source="precomputed"]').waitFor({ timeout: 30_000 });
    // The precomputed pair is drawn over its three seeds: mean with a band, every seed a dot, mean ± s.d. in the table.
    assert.match(await page.locator(".stlm-ab-card h2").innerText(), /precomputed in Node, 250 steps, 3 seeds/);
    assert.match((await page.locator(".stlm-ab-card .stlm-band-chart svg[role=img]").first().getAttribute("aria-label")) ?? "", /mean over 3 seeds with min–max band/);
    assert.equal(await page.locator(".stlm-spread-chart circle").count(), 6, "a dot per arm and seed");
    assert.match(await page.locator("table").filter({ hasText: "mean ± s.d." }).last().innerText(), /\d\.\d{3} ± \d\.\d{3}/);
    const prose = await page.locator("main").innerText();
    assert.ok(prose.includes("(mean ± s.d. over 3 seeds)"), "the prose quotes the seeds' mean ± s.d.");
    assert.match(prose, /was lower in every seed|cannot tell the two apart/, "and says what the spread allows");

    // Seed 1 of both arms replayed, on the default experiment (shared-ffn), whose snapshots its own runs took:
    // the slider picks the snapshot, the cursor follows it, and the arm picker switches runs at the same step.
    const card = page.locator('.stlm-scrubber-card[data-source="precomputed-sharing"][data-experiment="shared-ffn"]');
    const scrubber = card.locator(".stlm-scrubber");
    await scrubber.waitFor({ timeout: 30_000 });
    assert.equal(await scrubber.getAttribute("data-snapshots"), String(replay.arms[0].snapshots.length));
    const slider = scrubber.getByRole("slider", { name: "training step of the snapshot shown" });
    const shows = async (arm: number, i: number, how: string) => {
      const s = replay.arms[arm].snapshots[i];
      assert.equal(await card.locator(".stlm-replay-picker").getAttribute("data-run"), replay.arms[arm].label, how);
      assert.equal(await scrubber.getAttribute("data-step"), String(s.step), how);
      assert.equal(await scrubber.locator(".stlm-loss-chart").getAttribute("data-cursor"), String(s.step), `${how}: the cursor`);
      assert.equal(await scrubber.locator(".stlm-scrubber-sample").innerText(), replay.snapshots.prompt + s.sample, `${how}: the sample`);
      assert.match((await scrubber.locator(".stlm-attention").getAttribute("aria-label")) ?? (await scrubber.locator(".stlm-attention").innerText()), new RegExp(`step ${s.step}`), how);
    };
    await shows(0, 0, "first shown: step 0");
    await slider.focus();
    await page.keyboard.press("End");
    await shows(0, replay.arms[0].snapshots.length - 1, "End");
    await page.keyboard.press("ArrowLeft");
    await shows(0, replay.arms[0].snapshots.length - 2, "ArrowLeft");
    await card.getByLabel("Arm replayed").selectOption({ label: replay.arms[1].label });
    await shows(1, replay.arms[1].snapshots.length - 2, "the other arm, at the same step");
    assert.match(await page.locator("main").innerText(), /kept a snapshot every 50 steps as it trained, in the same runs the figure above draws[\s\S]*The curve under the slider is the figure's seed 1\./);
    // Tying's snapshots were taken by its own runs too (regenerated with them on 2026-12-02).
    await page.getByRole("radio", { name: "Untied vs tied embeddings" }).check();
    await page.locator('.stlm-scrubber-card[data-source="precomputed-sharing"][data-experiment="tying"] .stlm-scrubber').waitFor({ timeout: 30_000 });
    assert.match(await page.locator("main").innerText(), /kept a snapshot every 50 steps as it trained[\s\S]*The curve under the slider is the figure's seed 1\./);
    await page.getByRole("radio", { name: "4 layers vs 8 layers with one shared MLP" }).check();
    await page.locator(".stlm-ab-card h2", { hasText: "4 layers vs 8 layers" }).waitFor({ timeout: 30_000 });

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

    await watchMainThread(page, "val bits/byte (last)");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    // Progress and time left show while it trains (the page once showed nothing for half a minute).
    const progress = page.locator('.stlm-ab-card .stlm-progress[data-status="running"]:not([data-eta=""])');
    await progress.waitFor({ timeout: 120_000 });
    assert.match(await progress.innerText(), /^step \d+ of 20 · [\d a-z]+ so far · about [\d a-z]+ left$/);
    await page.locator('.stlm-ab-card[data-source="live"][data-status="done"]').waitFor({ timeout: 300_000 });
    const table = await page.locator("table").filter({ hasText: "val bits/byte (last)" }).innerText();
    assert.match(table, /230,080[\s\S]*230,080/, "both arms have the same parameter count");
    await checkMainThread(page, t, "/sharing");
    assert.equal(await page.locator(".stlm-live-table").getAttribute("data-rows-built"), "2", "a row made once per arm");
    // Each arm is a row of the page's runs table (components/runs-library.ts), as a run record.
    // (after the figure's precomputed runs, which are rows too: "/sharing (precomputed)")
    const runs = await checkRunsTable(page, "/sharing", ".stlm-ab-card");
    assert.ok(runs.every((l) => /^sharing \(.+\): .*, seed \d+$/.test(l)), runs.join(" | "));

    await assertClean(page, log, "/sharing");
    await page.close();
  });
});
