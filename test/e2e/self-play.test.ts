// The self-play page in a real browser: the precomputed curves show first, a short
// live run updates its charts and replay, pauses and resumes, and a human move on
// the board gets the model's answer, judged by the rules engine.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFile } from "node:fs/promises";
import type { Download, Page } from "playwright-core";
import { isGameRecord, parseRunRecord } from "../../lib/runs/record.js";
import { assertClean, watchPage, useSite } from "./harness.js";

const site = useSite();

/** Watches the live run's status line (its status and iteration) from now on. */
const WATCH_LIVE = `(() => {
  window.__liveChanges = [];
  let last = "";
  const watch = () => {
    const el = document.querySelector("#live-status");
    const status = el?.getAttribute("data-status") ?? "";
    const iteration = el?.getAttribute("data-iteration") ?? "";
    if (status + ":" + iteration !== last) window.__liveChanges.push({ at: performance.now(), status, iteration });
    last = status + ":" + iteration;
    if (window.__liveChanges.length < 5000) requestAnimationFrame(watch);
  };
  watch();
})()`;
const rows = (page: Page) => page.locator(".stlm-runs-table tbody tr");
const row = (page: Page, text: string) => rows(page).filter({ hasText: text });
const liveSeries = async (page: Page) => JSON.parse((await page.locator("#live-charts .stlm-selfplay-chart").first().getAttribute("data-series")) ?? "[]") as string[];
async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [d] = (await Promise.all([page.waitForEvent("download"), click()])) as [Download, void];
  return { name: d.suggestedFilename(), bytes: await readFile((await d.path())!) };
}

describe("the self-play page", () => {
  it("shows the precomputed curves, runs a short live self-play, and answers a human move", async (t) => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/self-play", site.server.url).href, { waitUntil: "load" });
    for (const id of ["#ttt-illegal", "#ttt-random", "#ttt-perfect", "#wc-valid", "#wc-length"]) {
      await page.locator(`${id} svg[aria-label]`).first().waitFor({ timeout: 60_000 });
      const points = Number(await page.locator(`${id} .stlm-selfplay-chart`).first().getAttribute("data-points"));
      assert.ok(points > 3, `${id} charts ${points} points`);
    }
    assert.match(await page.locator("#ttt-table").innerText(), /imitation only[\s\S]*self-play/);
    // The exact table: both arms, each cell a percentage with its min–max over seeds.
    const exact = await page.locator("#ttt-exact").innerText();
    assert.match(exact, /imitation only \(control\)[\s\S]*self-play/);
    assert.match(exact, /\d+\.\d% \(\d+\.\d%–\d+\.\d%\)/);
    assert.match(await page.locator("#wc-table").innerText(), /pretrained only[\s\S]*imitation only[\s\S]*self-play/);

    // A short live run: 4 imitation and 4 self-play iterations, evaluated every 2.
    for (const [label, value] of [["Imitation iterations", "4"], ["Self-play iterations", "4"], ["Evaluate every", "2"]]) {
      const box = page.getByLabel(label).first();
      await box.fill(value);
      await box.dispatchEvent("input");
    }
    const liveChart = page.locator("#live-charts .stlm-selfplay-chart").first();
    assert.equal(await liveChart.getAttribute("data-points"), "0");
    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.locator('#live-status[data-status="running"]').waitFor({ timeout: 60_000 });
    // Pause acts inside the iteration under way (at its next turn or update), not after it: the iteration counter
    // does not move after the click (once at most: an iteration the worker had just reported).
    await page.evaluate(WATCH_LIVE);
    const clickAt = await page.evaluate(() => {
      const at = performance.now();
      [...document.querySelectorAll("button")].find((b) => b.textContent === "Pause")!.click();
      return at;
    });
    await page.locator('#live-status[data-status="paused"]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(300);
    const pause = await page.evaluate((since) => {
      const changes = (window as unknown as { __liveChanges: { at: number; status: string; iteration: string }[] }).__liveChanges;
      const before = changes.filter((c) => c.at <= since).at(-1);
      const after = changes.filter((c) => c.at > since);
      const paused = after.find((c) => c.status === "paused");
      return { ms: paused ? paused.at - since : NaN, moves: new Set(after.map((c) => c.iteration).filter((i) => i !== before?.iteration)).size, at: paused?.iteration };
    }, clickAt);
    t.diagnostic(`self-play: paused ${pause.ms.toFixed(0)} ms after the click, at iteration ${pause.at} (${pause.moves} iteration-counter change(s) after the click)`);
    assert.ok(pause.moves <= 1, `the iteration counter moved ${pause.moves} times after Pause`);
    const pausedAt = await page.locator("#live-status").getAttribute("data-iteration");
    await page.waitForTimeout(1500);
    assert.equal(await page.locator("#live-status").getAttribute("data-iteration"), pausedAt, "a paused run stays where it is");
    assert.ok(Number(pausedAt) < 8);
    await page.getByRole("button", { name: "Resume" }).click();
    await page.locator('#live-status[data-status="done"][data-iteration="8"]').waitFor({ timeout: 300_000 });
    const livePoints = Number(await page.locator("#live-charts .stlm-selfplay-chart").first().getAttribute("data-points"));
    assert.equal(livePoints, 5 * 3, "win, draw and loss at iterations 0, 2, ..., 8");
    assert.match(await page.locator(".stlm-replay").last().innerText(), /wrote/);

    // The runs library: the 12 precomputed runs (2 games, 2 arms, 3 seeds) and the live run are rows of kind "game".
    await row(page, "(live run 1)").waitFor();
    assert.equal(await rows(page).count(), 13);
    const liveCells = await row(page, "(live run 1)").locator("td").allInnerTexts();
    assert.equal(liveCells[2], "/self-play");
    assert.equal(liveCells[5], "8", "8 iterations");
    assert.match(liveCells[6], /random \(iteration 8\): W \d+% D \d+% L \d+%, illegal [\d.]+%; perfect \(iteration 8\)/);
    assert.deepEqual(await liveSeries(page), ["win", "draw", "loss"], "nothing ticked, nothing drawn beside the live run");
    // Ticked precomputed runs are drawn on the live chart: the same game as it is, the word chain marked as another setup.
    await row(page, "tic-tac-toe: self-play, seed 2").locator("input").check();
    await row(page, "word chain: self-play, seed 1").locator("input").check();
    await page.waitForFunction(`JSON.parse(document.querySelector("#live-charts .stlm-selfplay-chart")?.dataset.series || "[]").length === 5`);
    assert.deepEqual((await liveSeries(page)).slice(3), ["ticked: tic-tac-toe: self-play, seed 2, losses", "ticked: word chain: self-play, seed 1, losses [other setup: game wordchain:austen, vs random words]"]);
    assert.match(await page.locator("#live-ticked").innerText(), /losses of 2 runs ticked/);
    await row(page, "tic-tac-toe: self-play, seed 2").locator("input").uncheck();
    await row(page, "word chain: self-play, seed 1").locator("input").uncheck();
    // The live run's record: downloaded, deleted, imported back.
    await row(page, "(live run 1)").locator("input").check();
    const json = await download(page, () => page.getByRole("button", { name: "Download JSON" }).click());
    const record = parseRunRecord(json.bytes.toString("utf8"), json.name);
    assert.ok(isGameRecord(record));
    assert.equal(record.origin, "page");
    assert.equal(record.game!.iterations.length, 8);
    assert.deepEqual(record.game!.evals.map((e) => `${e.iteration}:${e.opponent}`).slice(0, 3), ["0:random", "0:perfect", "2:random"]);
    assert.match(record.runtime.platform, /Chrome/);
    await page.getByRole("button", { name: "Delete selected" }).click();
    await page.waitForFunction(`document.querySelectorAll(".stlm-runs-table tbody tr").length === 12`);
    await page.getByLabel("Import a record file (JSON)").setInputFiles({ name: json.name, mimeType: "application/json", buffer: json.bytes });
    await row(page, "(live run 1)").waitFor();
    assert.match(await row(page, "(live run 1)").innerText(), /\(imported\)/);
    assert.match(await page.locator(".stlm-runs-status").innerText(), /8 iterations; it is ticked and drawn on the live chart/);
    await page.getByLabel("Import a record file (JSON)").setInputFiles({ name: "bad.json", mimeType: "application/json", buffer: Buffer.from(json.bytes.toString("utf8").replace('"kind":"game"', '"kind":"chess"').replace('"kind": "game"', '"kind": "chess"')) });
    await page.waitForFunction(`/Nothing was imported/.test(document.querySelector(".stlm-runs-status")?.textContent ?? "")`);
    assert.match(await page.locator(".stlm-runs-status").innerText(), /bad\.json: kind must be "game" or absent/);

    // A human move gets an answer from the precomputed model, judged by the engine.
    const board = page.locator(".stlm-play").first();
    await page.getByRole("button", { name: "square 5" }).click();
    await page.waitForFunction(() => (document.querySelector(".stlm-play") as HTMLElement | null)?.dataset.modelMoves === "1", null, { timeout: 60_000 });
    const cells = await board.getAttribute("data-board");
    assert.equal(cells![4], "X");
    assert.match(await board.locator(".stlm-play-log").innerText(), /you \(X\) → square 5[\s\S]*model \(O\) wrote/);

    // A word: a refused one is asked again; a valid one gets the model's answer.
    const words = page.locator(".stlm-play-words");
    const letter = /must start with "(.)"/.exec(await words.locator(".stlm-status").innerText())![1];
    await page.getByLabel("Your word").fill("zzzzq");
    await page.getByRole("button", { name: "Say it" }).click();
    assert.match(await words.locator(".stlm-play-log").innerText(), /refused: "zzzzq" is not a word/);
    const valid: Record<string, string> = { a: "about", b: "before", c: "came", d: "dear", e: "every", f: "father", g: "great", h: "house", i: "indeed", j: "just", k: "know", l: "letter", m: "much", n: "never", o: "other", p: "present", q: "quite", r: "room", s: "sister", t: "time", u: "upon", v: "very", w: "with", x: "xx", y: "young", z: "zeal" };
    await page.getByLabel("Your word").fill(valid[letter]);
    await page.getByRole("button", { name: "Say it" }).click();
    await page.waitForFunction(() => (document.querySelector(".stlm-play-words") as HTMLElement | null)?.dataset.modelMoves === "1", null, { timeout: 60_000 });
    assert.match(await words.locator(".stlm-play-log").innerText(), /model wrote/);

    // Every model this page used (its own tools too) ran in the worker: tfjs never started on the page's thread.
    assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", "tfjs started on the page's thread");
    await assertClean(page, log, "/self-play");
    await page.close();
  });
});
