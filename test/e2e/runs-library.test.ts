// The runs library on the training page (issue #11): two short live runs become rows
// of the runs table; ticking rows draws them on the page's training chart (the precomputed
// run only while its row is ticked); a run's JSON download
// is a valid run record (its data hash the same as the CLI's for the corpus) and its
// CSV its metrics; deleted and imported back, it overlays identically; bad files are
// refused with their message; a downloaded checkpoint carries its run's record; a chart card's Download menu gives a real SVG and PNG;
// a checkpoint that carries its run's record puts the run back in the table when loaded;
// "Keep runs in this browser" keeps them for a new tab. One page load for the runs.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import type { Download, Page } from "playwright-core";
import { loadCorpus } from "../../lib/node/data.js";
import { dataIdentity } from "../../lib/runs/build.js";
import { createHash } from "node:crypto";
import { parseRunRecord, validateRunRecord } from "../../lib/runs/record.js";
import { assertClean, launchBrowser, useSite, watchPage } from "./harness.js";

const site = useSite();

async function setSteps(page: Page, name: string, value: string) {
  const b = page.getByRole("spinbutton", { name, exact: true }).or(page.getByRole("textbox", { name, exact: true }));
  await b.fill(value);
  await b.dispatchEvent("input");
}

async function shortRun(page: Page, seed: string) {
  await setSteps(page, "Steps", "2");
  await setSteps(page, "Seed", seed);
  const before = await page.locator(".stlm-chart-card").getAttribute("data-run");
  await page.locator(".stlm-run").click();
  await page.waitForFunction(
    `(() => { const c = document.querySelector(".stlm-chart-card"); return c && c.dataset.run !== ${JSON.stringify(before)} && c.dataset.status === "done"; })()`,
    undefined,
    { timeout: 120_000 }
  );
}

const rows = (page: Page) => page.locator(".stlm-runs-table tbody tr");
const row = (page: Page, text: string) => rows(page).filter({ hasText: text });
const status = (page: Page) => page.locator(".stlm-runs-status");
const overlaid = async (page: Page) => JSON.parse((await page.locator(".stlm-runs-chart").getAttribute("data-runs")) ?? "[]") as string[];
const mainChart = (page: Page) => page.locator(".stlm-chart-card .stlm-loss-chart");
const drawn = async (page: Page) => JSON.parse((await mainChart(page).getAttribute("data-runs")) ?? "[]") as string[];

async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [d] = await Promise.all([page.waitForEvent("download"), click()]) as [Download, void];
  return { name: d.suggestedFilename(), bytes: await readFile((await d.path())!) };
}

describe("the runs library on the training page", () => {
  it("keeps live runs as rows, overlays the ticked ones, exports, deletes, re-imports, refuses bad files and downloads charts", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
    await page.locator('.stlm-chart-card[data-source="precomputed"]').waitFor({ timeout: 60_000 });
    await rows(page).first().waitFor();
    assert.equal(await rows(page).count(), 1, "the precomputed run is the one row before anything runs");
    assert.match(await rows(page).first().innerText(), /precomputed/);
    // The precomputed run is ticked and drawn on the training chart; unticked, it is not drawn.
    assert.equal(await rows(page).first().locator("input").isChecked(), true);
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-chart-card .stlm-loss-chart")?.dataset.runs || "[]").length === 1`);
    assert.deepEqual(await drawn(page), ["precomputed (Node, nano on austen)"]);
    await rows(page).first().locator("input").uncheck();
    await page.locator(".stlm-chart-card .stlm-loss-chart").waitFor({ state: "hidden" });
    assert.match(await page.locator(".stlm-chart-card").innerText(), /precomputed run is unticked in the runs table/);

    await shortRun(page, "1");
    await shortRun(page, "2");
    await row(page, "(run 2)").waitFor();
    assert.equal(await rows(page).count(), 3, "both live runs are rows");
    // Cells: tick box, run, page, settings vs the first run (the precomputed 500-step run), seed, steps, ...
    const cells = await row(page, "(run 2)").locator("td").allInnerTexts();
    assert.equal(cells[2], "/train");
    assert.match(cells[3], /steps: 500 → 2/);
    assert.doesNotMatch(cells[3], /seed/, "the seed has its own column");
    assert.deepEqual(cells.slice(4, 6), ["2", "2"]);

    // A checkpoint downloaded now carries the last run's record, and that run's row then records the file's SHA-256.
    const ckpt = await download(page, () => page.getByRole("button", { name: "Download checkpoint" }).click());
    const header = JSON.parse(ckpt.bytes.subarray(8, 8 + Number(ckpt.bytes.readBigUInt64LE(0))).toString("utf8"));
    const carried = validateRunRecord(JSON.parse(header.__metadata__["stlm.meta"]).runRecord, "the checkpoint's run record");
    assert.equal(carried.label, "nano on austen, seed 2 (run 2)");
    assert.equal(carried.metrics.steps.length, 2);
    await row(page, "(run 2)").locator("input").check();
    const second = parseRunRecord((await download(page, () => page.getByRole("button", { name: "Download JSON" }).click())).bytes.toString("utf8"));
    assert.deepEqual(second.checkpoint, { sha256: createHash("sha256").update(ckpt.bytes).digest("hex"), bytes: ckpt.bytes.length });
    await row(page, "(run 2)").locator("input").uncheck();

    await row(page, "(run 1)").locator("input").check();
    await row(page, "(run 2)").locator("input").check();
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-runs-chart").dataset.runs || "[]").length === 2`);
    assert.deepEqual(await overlaid(page), ["nano on austen, seed 1 (run 1)", "nano on austen, seed 2 (run 2)"]);
    // Drawn on the page's training chart: run 2 is its live run, run 1 in a colour of its own; the table draws no chart.
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-chart-card .stlm-loss-chart")?.dataset.runs || "[]").length === 2`);
    assert.deepEqual(await drawn(page), ["live: nano on austen", "ticked: nano on austen, seed 1 (run 1)"]);
    assert.equal(await page.locator(".stlm-runs-chart svg").count(), 0, "the runs card draws no chart of its own");
    assert.match(await page.locator(".stlm-runs-chart").innerText(), /2 ticked runs are drawn on the training chart above/);

    // Export the first run alone: JSON (a run record the CLI's reader accepts) and CSV.
    await row(page, "(run 2)").locator("input").uncheck();
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-runs-chart").dataset.runs || "[]").length === 1`);
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-chart-card .stlm-loss-chart")?.dataset.runs || "[]").length === 2`);
    const described = await mainChart(page).locator("desc").first().textContent();
    const json = await download(page, () => page.getByRole("button", { name: "Download JSON" }).click());
    assert.match(json.name, /\.run\.json$/);
    const record = parseRunRecord(json.bytes.toString("utf8"), json.name);
    assert.equal(record.metrics.steps.length, 2);
    assert.equal(record.origin, "page");
    assert.equal(record.page, "/train");
    assert.equal(record.train.seed, 1);
    assert.match(record.runtime.platform, /Chrome/);
    // FMA as the worker's kernels use it (runtime.ts labFma), the same as the page's backend line says.
    assert.equal(typeof record.runtime.fma, "boolean");
    assert.equal(record.runtime.fma, /with FMA/.test(await page.locator(".stlm-backend").first().innerText()));
    assert.equal(record.data.sha256, dataIdentity("austen", await loadCorpus("austen")).sha256, "the page hashed the same bytes the CLI reads");
    const csv = await download(page, () => page.getByRole("button", { name: "Download CSV" }).click());
    const lines = csv.bytes.toString("utf8").trim().split("\n");
    assert.equal(lines[0], "step,loss,lr,tokensPerSecond,elapsedMs,valBitsPerByte");
    assert.ok(lines.length >= 3, `a row per step: ${lines.length - 1}`);

    // Delete it, import it back: the same curve.
    await page.getByRole("button", { name: "Delete selected" }).click();
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 2`);
    const input = page.getByLabel("Import a record file (JSON)");
    await input.setInputFiles({ name: json.name, mimeType: "application/json", buffer: json.bytes });
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 3`);
    assert.match(await status(page).innerText(), /^Imported/);
    assert.match(await row(page, "(run 1)").innerText(), /imported/);
    assert.deepEqual(await overlaid(page), ["nano on austen, seed 1 (run 1)"]);
    await page.waitForFunction(`JSON.parse(document.querySelector(".stlm-chart-card .stlm-loss-chart")?.dataset.runs || "[]").length === 2`);
    assert.equal(await mainChart(page).locator("desc").first().textContent(), described, "it is drawn as before");

    // In a fresh browser profile (another reader: nothing kept, an empty IndexedDB), the same file imports to the
    // same row and draws the same curve: the chart's description of it holds the same numbers.
    const before = await row(page, "(run 1)").locator("td").allInnerTexts();
    const fresh = await launchBrowser();
    try {
      const other = await fresh.context.newPage();
      const otherLog = watchPage(other, site.server.origin);
      await other.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
      await rows(other).first().waitFor({ timeout: 60_000 });
      assert.equal(await rows(other).count(), 1, "a fresh profile has the precomputed run only");
      await other.getByLabel("Import a record file (JSON)").setInputFiles({ name: json.name, mimeType: "application/json", buffer: json.bytes });
      await other.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 2`, undefined, { timeout: 30_000 });
      const after = await row(other, "(run 1)").locator("td").allInnerTexts();
      assert.deepEqual(after.slice(3, 10), before.slice(3, 10), "the imported row: settings, seed, steps, losses, speed, backend");
      await other.waitForFunction(`JSON.parse(document.querySelector(".stlm-chart-card .stlm-loss-chart")?.dataset.runs || "[]").some((l) => l.includes("(run 1)"))`, undefined, { timeout: 30_000 });
      const series = (d: string | null) => (d ?? "").split(/(?<=\.)\s+/).filter((x) => x.includes("(run 1)"));
      const mine = series(await mainChart(other).locator("desc").first().textContent());
      assert.ok(mine.length > 0, "the fresh page's chart describes the imported run");
      assert.deepEqual(mine, series(described), "the imported run is drawn with the same numbers in a fresh profile");
      await assertClean(other, otherLog, "/train in a fresh profile");
    } finally {
      await fresh.close();
    }

    // Files that are not run records are refused, saying why.
    await input.setInputFiles({ name: "newer.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify({ ...record, version: 2 })) });
    await page.waitForFunction(`/newer than this lab reads/.test(document.querySelector(".stlm-runs-status").textContent)`);
    assert.match(await status(page).innerText(), /newer\.json: is run record version 2, newer than this lab reads \(1\); open it with a newer lab\. Nothing was imported\./);
    await input.setInputFiles({ name: "cut.json", mimeType: "application/json", buffer: json.bytes.subarray(0, 200) });
    await page.waitForFunction(`/cut\\.json is not valid JSON/.test(document.querySelector(".stlm-runs-status").textContent)`);
    assert.match(await status(page).innerText(), /cut short/);
    assert.equal(await page.locator(".stlm-runs-status.stlm-error").count(), 1, "shown as an error");
    assert.equal(await rows(page).count(), 3, "nothing was added");

    // The training chart's Download menu (it draws the ticked runs): a real SVG and a real PNG.
    const menu = page.locator(".stlm-chart-card > .stlm-chart-download");
    await menu.locator("summary").click();
    const svg = await download(page, () => menu.getByRole("button", { name: "SVG" }).click());
    assert.match(svg.name, /\.svg$/);
    const svgText = svg.bytes.toString("utf8");
    assert.match(svgText, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svgText, /<path/);
    assert.doesNotMatch(svgText, /(fill|stroke)="var\(/, "no colour left to the page's CSS");
    const png = await download(page, () => menu.getByRole("button", { name: "PNG" }).click());
    assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG signature");
    const width = png.bytes.readUInt32BE(16);
    assert.ok(width >= 400, `the PNG is the chart at twice its size: ${width} px wide`);
    assert.equal(await page.locator(".stlm-runs-card > .stlm-chart-download").count(), 0, "the runs card has no chart, so no menu");

    // A checkpoint that carries its run's record: run 2 deleted, its downloaded checkpoint loaded, and it is a row again, with the file's hash.
    for (const r of ["(run 1)", "(run 2)"]) await row(page, r).locator("input").uncheck();
    await row(page, "(run 2)").locator("input").check();
    await page.getByRole("button", { name: "Delete selected" }).click();
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 2`);
    await page.getByLabel("Load a checkpoint file").setInputFiles({ name: ckpt.name, mimeType: "application/octet-stream", buffer: ckpt.bytes });
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 3`, undefined, { timeout: 30_000 });
    assert.match(await row(page, "(run 2)").innerText(), /\/train \(from a checkpoint\)/);
    await row(page, "(run 2)").locator("input").check();
    const back = parseRunRecord((await download(page, () => page.getByRole("button", { name: "Download JSON" }).click())).bytes.toString("utf8"));
    assert.deepEqual(back.checkpoint, { sha256: createHash("sha256").update(ckpt.bytes).digest("hex"), bytes: ckpt.bytes.length });
    assert.deepEqual(back.metrics, carried.metrics);

    // Kept in this browser: a new tab (its own session) shows the runs.
    await page.getByLabel("Keep runs in this browser").check();
    await page.waitForFunction(`/kept in this browser/.test(document.querySelector(".stlm-runs-status").textContent)`);
    await assertClean(page, log, "/train");
    const other = await site.session.context.newPage();
    await other.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
    await other.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 3`, undefined, { timeout: 60_000 });
    assert.equal(await other.getByLabel("Keep runs in this browser").isChecked(), true);
    await other.close();
    await page.close();
  });
});
