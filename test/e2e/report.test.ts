// The guide "Writing your own report" and its worked example in a real browser: the
// example page draws the six committed run folders of data/runs/example/ through the
// run record, by setting and over seeds, and answers its question from them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, watchPage, useSite } from "./harness.js";

const site = useSite();

describe("the report guide and its example", () => {
  it("the guide walks from CLI runs to a static site and links the example", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/guide", site.server.url).href, { waitUntil: "load" });
    const text = await page.locator("main").innerText();
    for (const step of ["Train the runs", "Put the run folders under data/runs/NAME/", "Read them with a data loader", "Write the page", "Build and publish"]) assert.ok(text.includes(step), `the guide lacks "${step}"`);
    assert.match(text, /readRunRecord/);
    await page.getByRole("link", { name: "example report" }).first().click();
    await page.waitForURL(/\/example-report$/);
    await assertClean(page, log, "/guide");
    await page.close();
  });

  it("the example draws six runs as two settings over three seeds and answers from them", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/example-report", site.server.url).href, { waitUntil: "load" });
    await page.locator(".stlm-band-chart").first().waitFor({ timeout: 60_000 });
    assert.match((await page.locator(".stlm-band-chart svg[role=img]").first().getAttribute("aria-label")) ?? "", /by learning rate, mean over seeds/);
    assert.equal(await page.locator(".stlm-spread-chart circle").count(), 6, "a dot per run");
    const tables = page.locator("table");
    const summary = await tables.first().innerText();
    for (const lr of ["0\\.003", "0\\.001"]) assert.match(summary, new RegExp(`learningRate ${lr}\\t\\d\\.\\d{3} ± \\d\\.\\d{3}\\t\\d\\.\\d{3}–\\d\\.\\d{3}\\t3`), summary);
    const runs = await tables.last().innerText();
    assert.equal((runs.match(/lr0\.00[13]-seed[123]/g) ?? []).length, 6, runs);
    assert.match(runs, /austen [0-9a-f]{12}…/, "each run shows the hash of the data it read");
    assert.match(await page.locator("main").innerText(), /Answer\. After 150 steps the runs at 0\.003 reached \d\.\d{3} ± \d\.\d{3} bits per byte and those at 0\.001 \d\.\d{3} ± \d\.\d{3}/);
    await assertClean(page, log, "/example-report");
    await page.close();
  });
});
