// The defects of the reader's walk through the lab (issue #10), each checked where a
// reader met it: settings that survive a preset change, the precomputed curve drawn
// only against its own setup, the precomputed run's own backend, the thread hint on an
// isolated page, a styled checkpoint panel, chunks readable by tap and keyboard, the
// tokenizer-free page's rows wrapping, and the sharing ledger's bars on a phone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, chooseOption, startServer, watchPage, useSite, type Server } from "./harness.js";

const site = useSite();

const box = (page: Page, name: string) => page.getByRole("spinbutton", { name, exact: true }).or(page.getByRole("textbox", { name, exact: true }));

async function setBox(page: Page, name: string, value: string) {
  const b = box(page, name);
  await b.fill(value);
  await b.dispatchEvent("input");
}

async function openTrain(page: Page, url: string) {
  await page.goto(new URL("/train", url).href, { waitUntil: "load" });
  await page.locator(".stlm-backend").waitFor({ timeout: 60_000 });
  await page.locator('.stlm-chart-card[data-source="precomputed"]').waitFor({ timeout: 60_000 });
}

/** Trains `preset` on `corpus` for a few steps and returns the labels the loss chart draws. */
async function shortRun(page: Page, preset: string, corpus: string): Promise<string[]> {
  await page.getByRole("radio", { name: preset }).check();
  await chooseOption(page.getByLabel("Corpus"), corpus);
  await setBox(page, "Steps", "4");
  const before = await page.locator(".stlm-chart-card").getAttribute("data-run");
  await page.locator(".stlm-run").click();
  // This run's card: a new run number (the last run's "done" would otherwise match at once).
  await page.waitForFunction(
    `(() => { const c = document.querySelector(".stlm-chart-card"); return c && c.dataset.run !== ${JSON.stringify(before)} && c.dataset.status === "done"; })()`,
    undefined,
    { timeout: 180_000 }
  );
  assert.equal(await page.locator(".stlm-chart-card").getAttribute("data-source"), "live");
  return JSON.parse((await page.locator(".stlm-chart-card .stlm-loss-chart").getAttribute("data-runs"))!);
}

describe("the training page", () => {
  it("keeps typed steps, learning rate and seed when the preset changes; an untouched learning rate follows the preset", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await openTrain(page, site.server.url);
    await page.getByRole("radio", { name: "micro" }).check();
    await page.waitForTimeout(500);
    assert.equal(await box(page, "Learning rate").inputValue(), "0.002", "micro's own rate, as nobody typed one");
    await page.getByRole("radio", { name: "nano" }).check();
    await page.waitForTimeout(500);
    assert.equal(await box(page, "Learning rate").inputValue(), "0.003");
    for (const [name, value] of [["Steps", "57"], ["Learning rate", "0.0042"], ["Seed", "7"]]) await setBox(page, name, value);
    await page.getByRole("radio", { name: "micro" }).check();
    await page.waitForTimeout(800);
    assert.deepEqual(
      [await box(page, "Steps").inputValue(), await box(page, "Learning rate").inputValue(), await box(page, "Seed").inputValue()],
      ["57", "0.0042", "7"]
    );
    await assertClean(page, log, "/train");
    await page.close();
  });

  it("names the precomputed run's own backend, and draws its curve only against a live run of the same preset and corpus", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await openTrain(page, site.server.url);
    assert.match(await page.locator('.stlm-stats-card [data-stat="backend"]').innerText(), /in Node$/);
    assert.match(await page.locator('.stlm-stats-card [data-stat="status"]').innerText(), /precomputed/);

    const other = await shortRun(page, "micro", "moby-dick");
    assert.deepEqual(other, ["live: micro on moby-dick"], "no nano/austen curve behind a micro/moby-dick run");
    assert.match(await page.locator(".stlm-chart-card h3").innerText(), /not drawn: this run is micro on moby-dick/);
    assert.doesNotMatch(await page.locator('.stlm-stats-card [data-stat="backend"]').innerText(), /in Node/, "a live run names the reader's backend");

    const same = await shortRun(page, "nano", "austen");
    assert.deepEqual(same, ["precomputed (Node, nano on austen)", "live: nano on austen"]);
    await assertClean(page, log, "/train");
    await page.close();
  });

  it("styles the checkpoint panel as a card with real buttons", async () => {
    const page = await site.session.context.newPage();
    await openTrain(page, site.server.url);
    const style = await page.locator(".stlm-checkpoints").evaluate((el) => {
      const s = getComputedStyle(el);
      const b = getComputedStyle(el.querySelector("button")!);
      return [s.display, s.borderTopStyle, s.borderTopLeftRadius, b.borderTopLeftRadius, b.paddingLeft];
    });
    assert.deepEqual(style, ["grid", "solid", "12px", "4px", "10px"]);
    await page.close();
  });
});

describe("the training page served cross-origin isolated", () => {
  let server: Server;
  before(async () => (server = await startServer({ isolated: true })));
  after(async () => server?.close());

  it("never tells an isolated page to serve itself isolated", async () => {
    const page = await site.session.context.newPage();
    await page.goto(new URL("/train", server.url).href, { waitUntil: "load" });
    const line = page.locator(".stlm-backend");
    await line.waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate("crossOriginIsolated"), true);
    const said = await line.innerText();
    assert.doesNotMatch(said, /served cross-origin isolated/);
    if (/1 thread/.test(said)) assert.match(said, /is cross-origin isolated, yet the wasm backend started one thread/);
    await page.close();
  });
});

describe("the tokenizer-free page", () => {
  it("wraps chunk rows within the page, with a 299-byte text at 1280 px and at 390 px", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/tokenizer-free", site.server.url).href, { waitUntil: "load" });
    await page.locator('.stlm-chunk-row[data-strategy="learned"]').first().waitFor({ timeout: 120_000 });
    // 299 bytes of Austen with a few multi-byte characters (the text the walk used was this long).
    const text = Buffer.from("It is a truth universally acknowledged, that a single man in possession of a good fortune — naïve or not — must be in want of a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered as the rightful property", "utf8").subarray(0, 299).toString("utf8");
    assert.equal(Buffer.byteLength(text), 299);
    await page.getByRole("textbox", { name: "Text", exact: true }).fill(text);
    await page.locator('.stlm-chunk-row[data-strategy="bytes"] small', { hasText: "299 bytes" }).waitFor({ timeout: 30_000 });
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.waitForTimeout(500);
      const [doc, vw] = (await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")) as number[];
      assert.ok(doc <= vw, `at ${width} px the page is ${doc} px wide`);
    }
    await assertClean(page, log, "/tokenizer-free");
    await page.close();
  });

  it("shows a chunk's bytes on tap and on keyboard focus, not only on hover", async () => {
    const page = await site.session.context.newPage();
    await page.goto(new URL("/tokenizer-free", site.server.url).href, { waitUntil: "load" });
    const row = page.locator('.stlm-chunk-row[data-strategy="words"]').first();
    await row.waitFor({ timeout: 120_000 });
    const detail = page.locator(".stlm-chunk-detail").first();
    await row.locator(".stlm-chunk").nth(2).click();
    assert.match(await detail.innerText(), /^words, chunk 3 of \d+: bytes \d+–\d+ = [0-9a-f ]+ “/);
    // Keyboard: one tab stop per row, the arrow keys move along it.
    const first = row.locator(".stlm-chunk").first();
    await first.focus();
    assert.match(await detail.innerText(), /^words, chunk 1 of/);
    await page.keyboard.press("ArrowRight");
    assert.match(await detail.innerText(), /^words, chunk 2 of/);
    assert.equal(await row.locator('.stlm-chunk[tabindex="0"]').count(), 1);
    assert.equal(await page.evaluate("document.activeElement.closest('.stlm-chunk-row').dataset.strategy"), "words");
    await page.close();
  });
});

describe("charts of a live run's first points", () => {
  // A live comparison's first redraws have one evaluation per model: a line whose z Plot
  // guessed from its stroke then warned "implicit z channel has high cardinality" at every
  // redraw (about 100 times in a tokenizer-free run). The built page's own chart modules,
  // drawn in the browser with such data, must not warn.
  it("draws two models with one point each without a Plot warning", async () => {
    const page = await site.session.context.newPage();
    const warnings: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "warning") warnings.push(m.text());
    });
    for (const [path, module] of [["/tokenizer-free", "tokenizer-free-charts"], ["/self-play", "selfplay-charts"]]) {
      await page.goto(new URL(path, site.server.url).href, { waitUntil: "load" });
      await page.locator("main svg").first().waitFor({ timeout: 120_000 });
      const href = await page.locator(`link[rel="modulepreload"][href*="${module}"]`).first().getAttribute("href");
      assert.ok(href, `${path} preloads ${module}`);
      const drawn = await page.evaluate(
        async ([url, which]) => {
          const m = await import(new URL(url, location.href).href);
          const nodes =
            which === "tokenizer-free-charts"
              ? [
                  m.ComparisonChart([{ label: "a", evals: [{ step: 10, elapsedMs: 1000, valBitsPerByte: 4 }] }, { label: "b", evals: [{ step: 10, elapsedMs: 1200, valBitsPerByte: 4.2 }] }], { x: "step" }),
                  m.SlotChart([{ slot: 0, what: "a", bitsPerByte: 2 }, { slot: 0, what: "b", bitsPerByte: 3 }])
                ]
              : [m.SelfPlayChart([{ iteration: 1, seed: 1, series: "win", value: 0.5 }, { iteration: 1, seed: 1, series: "loss", value: 0.3 }])];
          return nodes.length;
        },
        [href!, module]
      );
      assert.ok(drawn > 0);
    }
    assert.deepEqual(warnings.filter((w) => /implicit z/.test(w)), []);
    await page.close();
  });
});

describe("the sharing page at 390 px", () => {
  it("draws the ledger's bars (no negative widths) with every model's name", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.setViewportSize({ width: 390, height: 900 });
    await page.goto(new URL("/sharing", site.server.url).href, { waitUntil: "load" });
    const svg = page.locator("#ledger-card .stlm-ledger-chart > svg, #ledger-card svg.stlm-ledger-chart").first();
    await svg.waitFor({ timeout: 60_000 });
    const boxes = await svg.evaluate((s) => [...s.querySelectorAll("rect")].map((r) => r.getBBox()).map((b) => [b.x, b.width]));
    assert.ok(boxes.length >= 6 && boxes.every(([, w]) => w >= 0), `bar widths ${boxes.map(([, w]) => w)}`);
    const span = Math.max(...boxes.map(([x, w]) => x + w)) - Math.min(...boxes.map(([x]) => x));
    assert.ok(span > 200, `the longest bar spans ${span} px of a 326 px chart`);
    const names = await svg.locator("text").allTextContents();
    for (const n of ["GPT-2 vocabulary, untied, no sharing", "this configuration"]) assert.ok(names.includes(n), `${n} in ${names.join(" | ")}`);
    await assertClean(page, log, "/sharing at 390 px");
    await page.close();
  });
});
