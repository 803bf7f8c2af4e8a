// The training scrubber on the training page: the precomputed run's snapshots
// (data/runs/nano-austen/snapshots.jsonl) replayed by a step slider, the loss
// curve's cursor following it, and the attention map and sample of the chosen step.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClean, ROOT, watchPage, useSite } from "./harness.js";
import { parseSnapshots } from "../../lib/train/snapshots.js";

const site = useSite();
const snapshots = parseSnapshots(await readFile(join(ROOT, "data", "runs", "nano-austen", "snapshots.jsonl"), "utf8"));
const learned = parseSnapshots(await readFile(join(ROOT, "data", "runs", "tokenizer-free", "learned-snapshots", "snapshots.jsonl"), "utf8"));

describe("the training page's scrubber", () => {
  it("shows the snapshot of the step the slider selects, with the loss curve's cursor at that step", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
    const scrubber = page.locator('.stlm-scrubber-card[data-source="precomputed"] .stlm-scrubber');
    await scrubber.waitFor({ timeout: 60_000 });
    assert.equal(await scrubber.getAttribute("data-snapshots"), String(snapshots.length));

    const slider = scrubber.getByRole("slider", { name: "training step of the snapshot shown" });
    const sample = scrubber.locator(".stlm-scrubber-sample");
    const prompt = await sample.locator(".prompt").textContent();
    const shown = async (i: number, how: string) => {
      const s = snapshots[i];
      assert.equal(await scrubber.getAttribute("data-step"), String(s.step), how);
      assert.equal(await scrubber.locator(".stlm-scrubber-step").textContent(), `step ${s.step} of 500`, how);
      assert.equal(await scrubber.locator(".stlm-loss-chart").getAttribute("data-cursor"), String(s.step), `${how}: the cursor`);
      assert.equal((await sample.textContent())!.slice(prompt!.length), s.sample, `${how}: the sample of step ${s.step}`);
      assert.match((await scrubber.locator(".stlm-attention").innerText()) || (await scrubber.locator(".stlm-attention figcaption, .stlm-attention h2").first().innerText()), /step/, how);
      assert.ok((await scrubber.locator(".stlm-attention svg rect").count()) > 0, `${how}: the map is drawn`);
    };
    await shown(0, "at first: step 0");

    // The keyboard moves the slider as a reader would: one snapshot per arrow, End to the last.
    await slider.focus();
    await page.keyboard.press("ArrowRight");
    await shown(1, "one arrow on");
    await page.keyboard.press("End");
    await shown(snapshots.length - 1, "End");
    const mid = Math.floor(snapshots.length / 2);
    await slider.evaluate((el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }, mid);
    await shown(mid, "dragged to the middle");

    // The samples turn into words: the last one has more dictionary-like words than the first.
    const words = (t: string) => (t.match(/\b(the|and|of|to|a|in|was|her|he|she|it|that|be|is)\b/g) ?? []).length;
    assert.ok(words(snapshots.at(-1)!.sample) > words(snapshots[0].sample), "later samples hold common English words");

    // Another layer and head redraw the map of the same step.
    const title = async () => (await scrubber.locator(".stlm-attention").getAttribute("aria-label")) ?? (await scrubber.locator(".stlm-attention").innerText());
    const before = await title();
    await scrubber.getByLabel("layer", { exact: true }).selectOption("3");
    await scrubber.getByLabel("head", { exact: true }).selectOption("2");
    const after = await title();
    assert.notEqual(after, before);
    assert.match(after, /layer 3, head 2/);
    assert.equal(await scrubber.getAttribute("data-step"), String(snapshots[mid].step), "the step stays");

    await assertClean(page, log, "/train (scrubber)");
    await page.close();
  });

  it("replays a live run's snapshots as they arrive: about ten over the run, the slider following the newest", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/train", site.server.url).href, { waitUntil: "load" });
    await page.locator(".stlm-scrubber-card .stlm-scrubber").first().waitFor({ timeout: 60_000 });
    const live = page.locator('.stlm-scrubber-card[data-source="live"]');
    assert.equal(await live.isVisible(), false, "no live card before a run");
    const stepsBox = page.getByRole("spinbutton", { name: "Steps" });
    await stepsBox.fill("20");
    await stepsBox.dispatchEvent("input");
    await page.locator(".stlm-run").click();
    await page.locator('.stlm-chart-card[data-status="done"]').waitFor({ timeout: 240_000 });
    const scrubber = live.locator(".stlm-scrubber");
    // 20 steps, about 10 snapshots: every 2 steps, from step 0 to step 20.
    await page.waitForFunction(() => document.querySelector('.stlm-scrubber-card[data-source="live"] .stlm-scrubber')?.getAttribute("data-snapshots") === "11", null, { timeout: 30_000 });
    assert.equal(await scrubber.getAttribute("data-step"), "20", "the slider followed the run to its last snapshot");
    assert.match(await live.locator("h2").first().innerText(), /11 snapshots \(every 2 steps\)/);
    const slider = scrubber.getByRole("slider", { name: "training step of the snapshot shown" });
    await slider.focus();
    await page.keyboard.press("Home");
    assert.equal(await scrubber.getAttribute("data-step"), "0");
    assert.equal(await scrubber.locator(".stlm-loss-chart").getAttribute("data-cursor"), "0");
    await page.keyboard.press("ArrowRight");
    assert.equal(await scrubber.getAttribute("data-step"), "2");
    await assertClean(page, log, "/train (live scrubber)");
    await page.close();
  });

  it("on the tokenizer-free page, replays the learned-boundary run: the chunks and chunk attention of the chosen step", async () => {
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await page.goto(new URL("/tokenizer-free", site.server.url).href, { waitUntil: "load" });
    const scrubber = page.locator('.stlm-scrubber-card[data-source="precomputed-learned"] .stlm-scrubber');
    await scrubber.waitFor({ timeout: 120_000 });
    const probe = "It is a truth universally acknowledged";
    const check = async (i: number) => {
      const s = learned[i];
      assert.equal(await scrubber.getAttribute("data-step"), String(s.step));
      const row = scrubber.locator(".stlm-chunk-row");
      assert.equal(await row.getAttribute("data-chunks"), String(s.chunks!.length), `step ${s.step}: its chunks`);
      const shown = (await row.locator(".stlm-chunk").allTextContents()).join("|");
      assert.equal(shown, s.chunks!.map(([a, b]) => probe.slice(a, b).replace(/ /g, "·")).join("|"), `step ${s.step}: the chunk texts`);
      assert.equal(await scrubber.locator(".stlm-attention").getAttribute("data-tokens"), String(s.spans.length), "one row per core position");
    };
    await check(0);
    await scrubber.getByRole("slider").focus();
    await page.keyboard.press("End");
    await check(learned.length - 1);
    await assertClean(page, log, "/tokenizer-free (scrubber)");
    await page.close();
  });
});
