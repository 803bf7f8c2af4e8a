// The tokenizer-free page in a real browser: the reader's text cut seven ways
// (entropy drawn), the precomputed equal-time comparison over seeds, and a short
// live run of the local-stack model whose validation loss falls.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { loadCorpus } from "../../lib/node/data.js";
import { dataIdentity } from "../../lib/runs/build.js";
import { parseRunRecord } from "../../lib/runs/record.js";
import { describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { assertClean, watchPage, useSite } from "./harness.js";
import { recheckPrefix } from "./recheck-prefix.js";
import { checkMainThread, watchMainThread } from "./main-thread.js";
import type { CompareSnapshotsFile } from "../../lib/runs/precomputed-snapshots.js";

const site = useSite();
/** The comparison's committed snapshots (scripts/tokenizer-free-compare-snapshots.ts). */
const replay = JSON.parse(gunzipSync(readFileSync(new URL("../../data/runs/tokenizer-free/compare-snapshots.json.gz", import.meta.url))).toString("utf8")) as CompareSnapshotsFile;

describe("the tokenizer-free page", () => {
  it("cuts the reader's text seven ways, shows the comparison over seeds, and trains the local stack live", async (t) => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/tokenizer-free", site.server.url).href, { waitUntil: "load" });
    await page.locator('.stlm-chunk-row[data-strategy="learned"]').first().waitFor({ timeout: 120_000 });
    for (const s of ["stride 4", "words", "SpaceByte words", "GPT-2 BPE", "entropy"]) assert.ok(Number(await page.locator(`.stlm-chunk-row[data-strategy="${s}"]`).getAttribute("data-chunks")) > 5, s);
    // A chunk's bytes on keyboard focus, on the arrow keys, and on tap (a click, to the page), not only on hover.
    const detail = page.locator(".stlm-chunk-detail").first();
    const words = page.locator('.stlm-chunk-row[data-strategy="words"] .stlm-chunk');
    await words.first().focus();
    assert.match(await detail.innerText(), /^words, chunk 1 of \d+: bytes? 0/);
    await page.keyboard.press("ArrowRight");
    assert.match(await detail.innerText(), /^words, chunk 2 of /);
    assert.equal(await words.nth(1).evaluate((el) => el === document.activeElement), true, "the arrow moved the focus");
    await page.locator('.stlm-chunk-row[data-strategy="entropy"] .stlm-chunk').nth(2).click();
    assert.match(await detail.innerText(), /^entropy, chunk 3 of \d+: bytes? \d/);
    // A focused chart is read one point at a time: the arrow keys move its hover tip, and the line under it (aria-live) says the point.
    const entropyChart = page.locator('svg[aria-label][data-numbers-on-focus]').first();
    await entropyChart.focus();
    const numbers = page.locator(".stlm-chart-numbers:not([hidden])");
    assert.equal(await numbers.count(), 1);
    assert.equal(await numbers.getAttribute("aria-live"), "polite");
    const count = Number((await numbers.innerText()).match(/^(\d+) points: the arrow keys/)?.[1]);
    assert.ok(count > 1, await numbers.innerText());
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(() => /^1 of \d+: /.test(document.querySelector(".stlm-chart-numbers:not([hidden])")?.textContent ?? ""));
    const first = await numbers.innerText();
    assert.notEqual(first, await entropyChart.locator("desc").textContent(), "one point, not every number at once");
    assert.equal(await entropyChart.locator('g[aria-label="tip"] text').count(), 1, "the chart's own tip shows at the point");
    await page.keyboard.press("End");
    await page.waitForFunction((n) => (document.querySelector(".stlm-chart-numbers:not([hidden])")?.textContent ?? "").startsWith(`${n} of ${n}: `), count);
    await page.keyboard.press("Home");
    await page.waitForFunction((t) => document.querySelector(".stlm-chart-numbers:not([hidden])")?.textContent === t, first);
    await page.keyboard.press("Tab");
    assert.equal(await entropyChart.evaluate((svg) => (svg.nextElementSibling as HTMLElement).hidden), true, "the line hides when the chart loses the focus");
    assert.equal(await entropyChart.locator('g[aria-label="tip"] text').count(), 0, "and so does the tip");
    await page.getByRole("heading", { name: /Next-byte entropy under your text/ }).waitFor();
    await page.locator('svg[aria-label^="The local-stack model over the first"]').waitFor();

    // The precomputed comparison: a seed chart and a table of mean ± spread, when the runs are committed.
    const table = page.locator("table", { hasText: "val bits/byte" }).first();
    await table.waitFor({ timeout: 30_000 });
    assert.match(await table.innerText(), /local stack, words[\s\S]*\d\.\d{3} ± \d\.\d{3}/);
    // Re-run and check: a time-budgeted run re-trained for its recorded steps, 10 against the file's step 10.
    const check = await recheckPrefix(page, { run: "paper decoder, stride 4, context 512", steps: 10 });
    assert.equal(check.verdict, "agrees", check.text);
    assert.equal(check.compared, 1);

    // The comparison's runs replayed: a pooled model's chunks and the core's attention at the slider's step.
    const replayCard = page.locator('.stlm-scrubber-card[data-source="precomputed-compare"]');
    const replayScrubber = replayCard.locator(".stlm-scrubber");
    await replayScrubber.waitFor({ timeout: 30_000 });
    const pooled = replay.runs.find((r) => r.snapshots[0].chunks)!;
    await replayCard.getByLabel("Model replayed").selectOption({ label: pooled.label });
    assert.equal(await replayCard.locator(".stlm-replay-picker").getAttribute("data-run"), pooled.label);
    assert.equal(await replayScrubber.getAttribute("data-snapshots"), String(pooled.snapshots.length));
    const slider = replayScrubber.getByRole("slider", { name: "training step of the snapshot shown" });
    await slider.focus();
    for (const [key, i] of [["End", pooled.snapshots.length - 1], ["Home", 0]] as const) {
      await page.keyboard.press(key);
      const s = pooled.snapshots[i];
      assert.equal(await replayScrubber.getAttribute("data-step"), String(s.step), key);
      assert.equal(await replayScrubber.locator(".stlm-loss-chart").getAttribute("data-cursor"), String(s.step), `${key}: the cursor`);
      assert.equal(await replayScrubber.locator(".stlm-scrubber-chunks .stlm-chunk").count(), s.chunks!.length, `${key}: the chunks at step ${s.step}`);
      assert.equal(await replayScrubber.locator(".stlm-scrubber-sample").innerText(), pooled.snapshotConfig.prompt + s.sample, `${key}: the sample`);
    }

    await page.getByLabel("plain bytes").uncheck();
    const seconds = page.getByLabel("Seconds each").first();
    await seconds.fill("12");
    await seconds.dispatchEvent("input");
    // The live table (its header cells' text run together) is updated in place, never rebuilt (test/e2e/main-thread.ts).
    await watchMainThread(page, "stepsecondsbytes/sval bits/byte");
    await page.getByRole("button", { name: "Run", exact: true }).click();
    // Progress and time left show while it trains.
    const progress = page.locator('.stlm-progress[data-status="running"]:not([data-eta=""])');
    await progress.waitFor({ timeout: 120_000 });
    assert.match(await progress.innerText(), /^\d+ of 12 s trained · [\d a-z]+ so far · about [\d a-z]+ left$/);
    const status = page.locator('p.stlm-status:not(.stlm-progress)[data-status="done"]');
    await status.waitFor({ timeout: 300_000 });
    // The status is said once ("done: done: …" before).
    assert.equal(await status.innerText(), "done: every model had the same training time");
    const card = page.locator('[data-source="live"][data-evals]').first();
    await card.locator("svg").first().waitFor({ timeout: 30_000 });
    const evals = JSON.parse((await card.getAttribute("data-evals"))!) as { kind: string; val: number[] }[];
    const local = evals.find((e) => e.kind === "local-word")!;
    assert.ok(local.val.length >= 2, `evaluations: ${local.val} ${JSON.stringify(evals)} ${await card.innerText()}`);
    assert.ok(local.val.at(-1)! < local.val[0], `the local stack's validation bits/byte fell: ${local.val.join(" -> ")}`);
    await checkMainThread(page, t, "/tokenizer-free");
    assert.match(await page.locator(".stlm-live-table").innerText(), /local stack, words[\s\S]*\d\.\d{3}/, "the live table has the model and its last validation figure");
    assert.equal(await page.locator(".stlm-live-table").getAttribute("data-rows-built"), "1", "a row made once for the one model");

    // The live model is a row of the page's runs table (components/runs-library.ts); its record downloads,
    // with its spec, every step's loss and the same data hash as the CLI's, and overlays when ticked.
    const runRow = page.locator(".stlm-runs-table tbody tr").filter({ hasText: "tokenizer-free: local stack, words, seed 1" });
    await runRow.waitFor({ timeout: 10_000 });
    assert.equal(await page.evaluate(`[...document.querySelectorAll(".stlm-runs-table tbody tr")].filter((tr) => tr.querySelector("td:nth-child(3)")?.textContent === "/tokenizer-free").length`), 1, "one live row");
    assert.equal(await page.locator(".stlm-runs-table tbody tr").first().locator("td:nth-child(3)").innerText(), "/tokenizer-free", "the reader's runs come first");
    // A precomputed run of the same model is a row too, drawn only while ticked, dashed on the comparison's own chart against
    // step beside the live one; not against training time, which its file does not keep per evaluation (the note says so).
    const runsOn = async (chart: string) => JSON.parse((await page.locator(`${chart} [data-runs]`).first().getAttribute("data-runs")) ?? "[]") as string[];
    // The chart is drawn at the next animation frame: wait for its legend to hold `label`.
    const drawnOn = (chart: string, label: string) =>
      page.waitForFunction(([c, l]) => (JSON.parse(document.querySelector(`${c} [data-runs]`)?.getAttribute("data-runs") ?? "[]") as string[]).some((x) => x.startsWith(l)), [chart, label] as const, { timeout: 10_000 });
    const preRow = page.locator(".stlm-runs-table tbody tr").filter({ hasText: "(precomputed)" }).filter({ hasText: "local stack, words, context 128" }).first();
    await preRow.locator("input").check();
    await page.locator('#tf-steps[data-ticked="1"]').waitFor({ timeout: 10_000 });
    await drawnOn("#tf-steps", "ticked: Tokenizer-free: local stack, words, context 128");
    assert.equal(await page.locator("#tf-seconds").getAttribute("data-ticked"), "0", "a run without training seconds is not drawn against them");
    assert.ok(!(await runsOn("#tf-seconds")).some((l) => l.startsWith("ticked: ")), (await runsOn("#tf-seconds")).join(" | "));
    const stepRuns = await runsOn("#tf-steps");
    assert.ok(stepRuns.includes("local stack, words") && stepRuns.some((l) => /^ticked: Tokenizer-free: local stack, words, context 128/.test(l)), stepRuns.join(" | "));
    assert.match(await page.locator("#tf-ticked-note").innerText(), /^Dashed: 1 run ticked in the runs table, against step; against training time only the 0 whose record kept/);
    // The live run's own row, ticked, is not drawn twice.
    await runRow.locator("input").check();
    await preRow.locator("input").uncheck();
    await page.locator('#tf-steps[data-ticked="0"]').waitFor({ timeout: 10_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download JSON" }).click()]);
    const record = parseRunRecord(await readFile((await download.path())!, "utf8"), download.suggestedFilename());
    assert.equal(record.spec.kind, "local-stack");
    assert.equal(record.page, "/tokenizer-free");
    assert.equal(record.metrics.steps.length, record.final?.steps, "every step's loss");
    assert.deepEqual(record.metrics.evals.map((e) => e.valBitsPerByte), local.val, "the evaluations the live chart drew");
    assert.equal(record.data.sha256, dataIdentity("austen", await loadCorpus("austen")).sha256);
    // Each evaluation keeps its training time, so an imported copy of the run is drawn against training seconds as well.
    assert.ok(record.metrics.evals.every((e, i, all) => typeof e.elapsedMs === "number" && e.elapsedMs >= (all[i - 1]?.elapsedMs ?? 0)), JSON.stringify(record.metrics.evals));
    const copy = { ...record, id: `${record.id}-copy`, label: `${record.label} (a copy)` };
    await page.getByLabel("Import a record file (JSON)").setInputFiles({ name: "copy.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(copy)) });
    await page.locator('#tf-seconds[data-ticked="1"]').waitFor({ timeout: 10_000 });
    await drawnOn("#tf-seconds", "ticked: tokenizer-free: local stack, words, seed 1 (a copy)");
    assert.equal(await page.locator("#tf-steps").getAttribute("data-ticked"), "1");

    // Every model this page used (its own tools too) ran in the worker: tfjs never started on the page's thread.
    assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", "tfjs started on the page's thread");
    await assertClean(page, log, "/tokenizer-free");
    await page.close();
  });
});
