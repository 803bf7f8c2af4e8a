// The evaluation view in a real browser: the page's numbers for the precomputed
// checkpoint equal `stlm eval`'s on the same subset (run here, in the test) to
// 1e-6; extending the subset scores on and lands on the committed stlm eval figures;
// no tensor is left behind; the training page's card evaluates its model too.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, ROOT, useSite, watchPage } from "./harness.js";

const site = useSite();

interface Numbers {
  testBitsPerByte: Record<string, number>;
  minimalPairs: { accuracy: number; n: number; byType: Record<string, { accuracy: number; n: number }> };
  nextSentence: { accNorm: number; acc: number; n: number };
}

function stlmEval(...args: string[]): Promise<Numbers & { subset: { bytes: Record<string, number>; minimalPairs: number; nextSentence: number } }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [join(ROOT, "bin", "stlm.js"), "eval", "--checkpoint", join(ROOT, "data", "runs", "nano-austen"), "--json", ...args], { maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      err ? reject(new Error(`stlm eval failed: ${stderr}`)) : resolve(JSON.parse(stdout))
    )
  );
}

function assertSameNumbers(page: Numbers, cli: Numbers, where: string): void {
  const diffs = [
    ...Object.keys(cli.testBitsPerByte).map((c) => Math.abs(page.testBitsPerByte[c] - cli.testBitsPerByte[c])),
    Math.abs(page.minimalPairs.accuracy - cli.minimalPairs.accuracy),
    Math.abs(page.nextSentence.accNorm - cli.nextSentence.accNorm),
    Math.abs(page.nextSentence.acc - cli.nextSentence.acc)
  ];
  console.log(`${where}: browser ${JSON.stringify(page.testBitsPerByte)} mp ${page.minimalPairs.accuracy} acc_norm ${page.nextSentence.accNorm} acc ${page.nextSentence.acc}; largest difference from stlm eval ${Math.max(...diffs)}`);
  for (const [corpus, v] of Object.entries(cli.testBitsPerByte)) {
    assert.ok(Math.abs(page.testBitsPerByte[corpus] - v) < 1e-6, `${where}: ${corpus} test bits/byte ${page.testBitsPerByte[corpus]} in the browser, ${v} from stlm eval`);
  }
  assert.equal(page.minimalPairs.n, cli.minimalPairs.n);
  assert.ok(Math.abs(page.minimalPairs.accuracy - cli.minimalPairs.accuracy) < 1e-6, `${where}: minimal pairs ${page.minimalPairs.accuracy} vs ${cli.minimalPairs.accuracy}`);
  for (const [type, r] of Object.entries(cli.minimalPairs.byType)) {
    assert.ok(Math.abs(page.minimalPairs.byType[type].accuracy - r.accuracy) < 1e-6, `${where}: minimal pairs, ${type}`);
  }
  assert.equal(page.nextSentence.n, cli.nextSentence.n);
  assert.ok(Math.abs(page.nextSentence.accNorm - cli.nextSentence.accNorm) < 1e-6, `${where}: acc_norm ${page.nextSentence.accNorm} vs ${cli.nextSentence.accNorm}`);
  assert.ok(Math.abs(page.nextSentence.acc - cli.nextSentence.acc) < 1e-6, `${where}: acc ${page.nextSentence.acc} vs ${cli.nextSentence.acc}`);
}

/** Set a card's subset, press a button, wait for the numbers, and read them off the table. */
async function evaluate(page: Page, card: string, button: "Evaluate" | "Extend (twice the subset)", size?: { bytes: string; items: string }): Promise<{ report: Numbers; el: ReturnType<Page["locator"]> }> {
  const el = page.locator(card);
  if (size) {
    await el.getByLabel("Bytes of each test split").selectOption(size.bytes);
    await el.getByLabel("Items of each evaluation set").selectOption(size.items);
  }
  await el.getByRole("button", { name: button }).click();
  await page.locator(`${card}[data-state="running"], ${card}[data-state="done"]`).first().waitFor({ timeout: 30_000 });
  await page.locator(`${card}[data-state="done"], ${card}[data-state="error"]`).first().waitFor({ timeout: 600_000 });
  assert.equal(await el.getAttribute("data-state"), "done", (await el.locator('[role="status"]').textContent()) ?? "");
  const report = JSON.parse((await el.locator("[data-report]").getAttribute("data-report"))!) as Numbers;
  return { report, el };
}

describe("the evaluation page", () => {
  it("shows the precomputed results, then evaluates the precomputed checkpoint to stlm eval's numbers, and extends the subset", async () => {
    const cli = stlmEval("--max-bytes", "2048", "--subset", "40");
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/evaluate", site.server.url).href, { waitUntil: "load" });
    await page.locator(".stlm-precomputed-eval table").waitFor({ timeout: 60_000 });
    const precomputedCells = await page.locator('.stlm-precomputed-eval td[data-column="model"]').count();
    assert.ok(precomputedCells >= 4 + 1 + 7 + 2, "the full-set table has every metric");
    const chart = page.locator('svg[aria-label^="Next-sentence accuracy"]');
    await chart.waitFor({ timeout: 30_000 });

    const card = '.stlm-eval-live .stlm-eval-card';
    await page.locator(`${card}[data-state="idle"]`).waitFor({ timeout: 120_000 });
    const first = await evaluate(page, card, "Evaluate", { bytes: "2048", items: "40" });
    assertSameNumbers(first.report, await cli, "2 KiB and 40 items");
    assert.match((await first.el.locator(".stlm-eval-command").textContent()) ?? "", /stlm eval --checkpoint data\/runs\/nano-austen --max-bytes 2048 --subset 40 --json/);
    const tensorsAfterFirst = Number(await first.el.getAttribute("data-tensors-after"));
    assert.equal(Number(await first.el.getAttribute("data-tensors-before")), tensorsAfterFirst, "the evaluation left no tensor behind");

    // Extend: each size at least doubles, to the next listed one: 2 KiB -> 4 KiB, 40 -> 100 items.
    const second = await evaluate(page, card, "Extend (twice the subset)");
    assert.equal(second.report.minimalPairs.n, 100);
    assertSameNumbers(second.report, await stlmEval("--max-bytes", "4096", "--subset", "100"), "extended to 4 KiB and 100 items");
    assert.equal(Number(await second.el.getAttribute("data-tensors-after")), tensorsAfterFirst, "extending left no tensor behind");

    await assertClean(page, log, "/evaluate");
    await page.close();
  });

  it("cancels an evaluation in the worker, then at the default subset sets the browser's numbers beside the committed stlm eval figures", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/evaluate", site.server.url).href, { waitUntil: "load" });
    const card = '.stlm-eval-live .stlm-eval-card';
    await page.locator(`${card}[data-state="idle"]`).waitFor({ timeout: 120_000 });
    // Cancel: everything asked for, then Cancel while it runs in the worker; it stops between two batches.
    const cardEl = page.locator(card);
    await cardEl.getByLabel("Bytes of each test split").selectOption("all");
    await cardEl.getByLabel("Items of each evaluation set").selectOption("all");
    await cardEl.getByRole("button", { name: "Evaluate" }).click();
    await page.locator(`${card}[data-state="running"]`).waitFor({ timeout: 30_000 });
    await cardEl.getByRole("button", { name: "Cancel" }).click();
    await page.locator(`${card}[data-state="cancelled"]`).waitFor({ timeout: 15_000 });
    const { el } = await evaluate(page, card, "Evaluate", { bytes: "16384", items: "100" });
    await el.locator('th[data-column="cli"]').waitFor({ timeout: 5_000 });
    const diff = Number(await el.locator("[data-max-difference]").getAttribute("data-max-difference"));
    assert.ok(diff < 1e-6, `largest difference from the committed stlm eval figures: ${diff}`);
    await assertClean(page, log, "/evaluate (default subset)");
    await page.close();
  });
});

describe("the training page's evaluation card", () => {
  it("evaluates the loaded precomputed model to stlm eval's numbers", async () => {
    const cli = stlmEval("--max-bytes", "2048", "--subset", "20");
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
    const card = ".stlm-train-eval .stlm-eval-card";
    // The card loads its data only once it is scrolled into view.
    await page.getByRole("heading", { name: "Evaluate this model" }).scrollIntoViewIfNeeded({ timeout: 60_000 });
    // The card's cell is drawn again once the page's precomputed model has loaded, so the element scrolled to can
    // be replaced under the scroll ("not attached to the DOM", once in a clean-clone CI run): scroll to whichever
    // card is there until the idle one shows.
    const deadline = Date.now() + 120_000;
    while (!(await page.locator(`${card}[data-state="idle"]`).isVisible())) {
      if (Date.now() > deadline) throw new Error(`the training page's evaluation card never became idle: ${await page.locator(".stlm-train-eval").innerText().catch(() => "(no card)")}`);
      await page.locator(".stlm-train-eval").scrollIntoViewIfNeeded({ timeout: 10_000 }).catch(() => undefined);
      await page.waitForTimeout(250);
    }
    const { report } = await evaluate(page, card, "Evaluate", { bytes: "2048", items: "20" });
    assertSameNumbers(report, await cli, "training page, 2 KiB and 20 items");
    await assertClean(page, log, "/train");
    await page.close();
  });
});
