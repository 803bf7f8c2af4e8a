// The dropout and distillation pages in a real browser: each renders without an
// error cell, shows its precomputed results over seeds, and a short live A/B run
// changes its chart, each arm a row of the page's runs table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, checkRunsTable, watchPage, useSite } from "./harness.js";
import { recheckPrefix } from "./recheck-prefix.js";

const site = useSite();

async function setNumber(page: import("playwright-core").Page, label: string, value: string) {
  const box = page.getByLabel(label, { exact: true }).first();
  await box.fill(value);
  await box.dispatchEvent("input");
}

describe("the training-strategy pages", () => {
  it("the dropout page shows the schedules, the sweep over seeds, the gradient figure, and trains two arms live", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/dropout", site.server.url).href, { waitUntil: "load" });
    await page.locator("#schedules-card svg").first().waitFor({ timeout: 60_000 });
    for (const regime of ["overfit", "underfit"]) {
      await page.locator(`#sweep-${regime} svg`).first().waitFor({ timeout: 60_000 });
      const n = Number(await page.locator(`#sweep-${regime}`).getAttribute("data-runs"));
      assert.ok(n >= 21, `${regime}: ${n} precomputed runs (7 arms × 3 seeds at least)`);
      await page.locator(`#gradients-${regime} svg`).first().waitFor({ timeout: 10_000 });
    }
    assert.match(await page.locator("#dropout-notice").innerText(), /Overfitting\.[\s\S]*Underfitting\./);
    // Re-run and check: a precomputed run with dropout on, in the overfitting regime (its 4 KB), 5 steps against the file's step 5.
    const check = await recheckPrefix(page, { run: "constant 0.1, overfitting, seed 2", steps: 5 });
    assert.equal(check.verdict, "agrees", check.text);
    assert.equal(check.compared, 1);
    assert.match(check.about, /first 4,096 bytes of the training split/);
    assert.match(check.about, /plus 5e-5, half a unit of the last of the 4 decimals/, "the card states the rounding in its rule");
    for (const svg of await page.locator("#sweep-overfit svg[aria-label]").all()) assert.ok((await svg.getAttribute("aria-label"))!.length > 10);

    await setNumber(page, "Steps", "20");
    await page.getByRole("button", { name: "Train both" }).click();
    await page.locator('#dropout-live[data-status="done"]').waitFor({ timeout: 300_000 });
    const evals = JSON.parse((await page.locator("#dropout-live").getAttribute("data-evals"))!);
    assert.deepEqual(evals.length, 2);
    assert.ok(evals.every((n: number) => n >= 2), `evaluations per arm: ${evals}`);
    await page.locator("#dropout-live svg").first().waitFor({ timeout: 10_000 });
    // Each arm is a row of the page's runs table (components/runs-library.ts), as a run record.
    const dropoutRuns = await checkRunsTable(page, "/dropout", "#dropout-live");
    assert.ok(dropoutRuns.every((l) => /^dropout: .*, seed \d+$/.test(l)), dropoutRuns.join(" | "));
    await assertClean(page, log, "/dropout");
    await page.close();
  });

  it("the distillation page shows teacher and student, the comparison over seeds, the per-byte view, and trains alone against distilled live", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/distillation", site.server.url).href, { waitUntil: "load" });
    await page.locator("#teacher-student").waitFor({ timeout: 60_000 });
    await page.locator("#distill-final svg").first().waitFor({ timeout: 60_000 });
    assert.ok(Number(await page.locator("#distill-final").getAttribute("data-runs")) >= 15, "5 arms × 3 seeds at least");
    // Re-run and check: a distilled student with this page's teacher, 5 steps against the file's step 5.
    const check = await recheckPrefix(page, { run: "forward KL, T = 1, seed 1", steps: 5 });
    assert.equal(check.verdict, "agrees", check.text);
    assert.equal(check.compared, 1);
    assert.match(check.about, /distilled from the teacher data\/runs\/distill\/teacher \(forward KL, temperature 1\)/);
    await page.locator("#byte-view").waitFor({ timeout: 60_000 });
    const bytes = Number(await page.locator("#byte-view").getAttribute("data-bytes"));
    assert.ok(bytes > 50, `${bytes} bytes scored`);
    // details on focus, not only on hover
    await page.locator("#byte-view .stlm-bytes span").nth(3).focus();
    assert.match(await page.locator("#byte-detail").innerText(), /KL \d+\.\d+ bits; teacher p = /);
    // and on tap (a click, to the page): another byte's numbers replace them
    const focused = await page.locator("#byte-detail").innerText();
    await page.locator("#byte-view .stlm-bytes span").nth(7).click();
    assert.notEqual(await page.locator("#byte-detail").innerText(), focused, "a tap shows the tapped byte's numbers");
    const before = await page.locator("#byte-view h2").innerText();
    assert.match(before, /precomputed student/);

    await setNumber(page, "Steps", "20");
    await page.getByRole("button", { name: "Train both" }).click();
    await page.locator('#distill-live[data-status="done"]').waitFor({ timeout: 300_000 });
    const evals = JSON.parse((await page.locator("#distill-live").getAttribute("data-evals"))!);
    assert.ok(evals.length === 2 && evals.every((n: number) => n >= 2), `evaluations per arm: ${evals}`);
    // Both arms are rows, though they share every setting but their loss (each arm names its record's id).
    const distillRuns = await checkRunsTable(page, "/distillation", "#distill-live");
    assert.ok(distillRuns.every((l) => /^distillation: .*, seed \d+$/.test(l)), distillRuns.join(" | "));
    // the per-byte view now compares the teacher with the student just trained
    await page.locator("#byte-view h2", { hasText: "the student you trained" }).waitFor({ timeout: 30_000 });
    // The teacher, both students and the per-byte view ran in the worker: tfjs never started on the page's thread.
    assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", "tfjs started on the page's thread");
    await assertClean(page, log, "/distillation");
    await page.close();
  });
});
