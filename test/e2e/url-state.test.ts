// Every page's settings in its URL, in a real browser: a link with non-default settings
// opens the page with those settings in its controls and nothing run; a junk value
// shows a note (and the default) and no error cell; "Copy link" gives a URL that opens
// the same settings; each exercise link is one the page accepts, and the first opens
// the page configured as it says.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import { assertClean, watchPage, useSite } from "./harness.js";
import { parseSettings, type PageSettings, type SettingValue } from "../../src/components/url-settings.js";
import { INDEX_SETTINGS } from "../../src/components/settings/index.js";
import { TRAIN_SETTINGS } from "../../src/components/settings/train.js";
import { SHARING_SETTINGS } from "../../src/components/settings/sharing.js";
import { TOKENIZER_FREE_SETTINGS } from "../../src/components/settings/tokenizer-free.js";
import { OBJECTIVES_SETTINGS } from "../../src/components/settings/objectives.js";
import { DROPOUT_SETTINGS } from "../../src/components/settings/dropout.js";
import { DISTILLATION_SETTINGS } from "../../src/components/settings/distillation.js";
import { SELF_PLAY_SETTINGS } from "../../src/components/settings/self-play.js";
import { BENCH_SETTINGS } from "../../src/components/settings/bench.js";
import { EVALUATE_SETTINGS } from "../../src/components/settings/evaluate.js";
import { SHARING_EXPERIMENTS } from "../../lib/experiments/sharing.js";
import { DROPOUT_ARMS, DROPOUT_REGIMES } from "../../lib/experiments/dropout.js";
import { OBJECTIVE_ARMS } from "../../lib/experiments/objectives.js";
import { TOKENIZER_FREE_PRESETS } from "../../lib/experiments/tokenizer-free.js";

interface Case {
  path: string;
  settings: PageSettings;
  /** The label of each setting's control, as the page shows it. */
  labels: Record<string, string>;
  /** How a control shows a value, where that is not String(value). */
  shows?: Record<string, (v: SettingValue) => string>;
  /** Non-default values for every setting (or nearly). */
  query: Record<string, SettingValue>;
  /** One junk value and the start of the note it must bring. */
  junk: [key: string, raw: string, note: string];
  /** True while nothing has been run (checked after the controls are read). */
  idle?: (page: Page) => Promise<boolean>;
}

const attr = (selector: string) => async (page: Page) => (await page.locator(selector).count()) === 1;
/** Every element `selector` finds (at least one) says data-status="idle". */
const allIdle = (selector: string) => async (page: Page) => {
  const states = await page.locator(selector).evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
  return states.length > 0 && states.every((s) => s === "idle");
};
const tfLabel = (kind: string) => Object.values(TOKENIZER_FREE_PRESETS).find((p) => p.kind === kind)!.label;

const CASES: Case[] = [
  {
    path: "/",
    settings: INDEX_SETTINGS,
    labels: { tied: "Both vocabularies with" },
    shows: { tied: (v) => (v ? "tied embeddings" : "untied output head") },
    query: { tied: false },
    junk: ["tied", "maybe", "tied=maybe is not true or false; using true."]
  },
  {
    path: "/train",
    settings: TRAIN_SETTINGS,
    labels: { backend: "Backend", preset: "Preset", corpus: "Corpus", steps: "Steps", lr: "Learning rate", seed: "Seed", prompt: "Prompt", temperature: "Temperature", attention: "Text", layer: "Layer", head: "Head", replay: "css:.stlm-scrubber" },
    query: { backend: "wasm", preset: "micro", corpus: "moby-dick", steps: 500, lr: 0.001, seed: 7, prompt: "Call me Ishmael", temperature: 0, attention: "The whale, the whale!", layer: 2, head: 3, replay: 100 },
    junk: ["seed", "abc", "seed=abc is not a whole number from 0 to 4,294,967,295; using 1."],
    idle: attr('.stlm-chart-card[data-source="precomputed"]')
  },
  {
    path: "/sharing",
    settings: SHARING_SETTINGS,
    labels: {
      preset: "Preset", tie: "Tie head to embedding", shareMlp: "Share the MLP across layers", shareAttnOut: "Share attention output",
      interior: "Interior sharing", lora: "LoRA rank (interior)", vocab: "Vocabulary", pooling: "Byte pooling (replaces the vocabulary)",
      count: "Count parameters", experiment: "Experiment", steps: "Steps (live run)"
    },
    shows: {
      // For nano (4 layers), the only preset the test opens with interior sharing on.
      interior: (v) => (v === -1 ? "off" : `layers ${v}–${3 - (v as number)} share`),
      vocab: (v) => (v === 258 ? "258 (bytes)" : v === 50257 ? "50,257 (GPT-2)" : (v as number).toLocaleString("en-US")),
      count: (v) => (v === "unique" ? "stored (unique)" : "applied per position"),
      experiment: (v) => SHARING_EXPERIMENTS.find((e) => e.id === v)!.title
    },
    query: { preset: "nano", tie: false, shareMlp: true, shareAttnOut: true, interior: 0, lora: 4, vocab: 9984, pooling: true, count: "applied", experiment: "tying", steps: 300 },
    junk: ["preset", "gpt-5", "preset=gpt-5 is not one of"],
    idle: attr('.stlm-ab-card[data-source="precomputed"]')
  },
  {
    path: "/tokenizer-free",
    settings: TOKENIZER_FREE_SETTINGS,
    labels: { text: "Text", budget: "Training budget (s)", models: "Models", seconds: "Seconds each", pooled: "Pooled model" },
    shows: { models: (v) => (v as string[]).map(tfLabel).join(","), budget: (v) => `${v} s` },
    query: { text: "Hello, world & naïve café #1", budget: 30, models: ["stride", "learned"], seconds: 30, pooled: "bpe" },
    junk: ["models", "bytes,words", 'models=bytes,words names "words"'],
    idle: allIdle("p.stlm-status[data-status]")
  },
  {
    path: "/objectives",
    settings: OBJECTIVES_SETTINGS,
    labels: { prompt: "Prompt", temperature: "Temperature", bytes: "Bytes to write", arm: "Against next-byte", steps: "Steps (live run)" },
    shows: { temperature: (v) => (v === 0 ? "0 (greedy)" : "0.8, top-40"), arm: (v) => OBJECTIVE_ARMS.find((a) => a.id === v)!.label },
    query: { prompt: "Once upon a time", temperature: 0.8, bytes: 300, arm: "mntp", steps: 120 },
    junk: ["arm", "mtp9", "arm=mtp9 is not one of mtp2, mtp4 or mntp; using mtp2."],
    idle: async (page) => (await attr('.stlm-ab-card[data-source="none"]')(page)) && (await attr('.stlm-live-sample[data-status="idle"]')(page))
  },
  {
    path: "/dropout",
    settings: DROPOUT_SETTINGS,
    labels: { regime: "Regime", armA: "Arm A", armB: "Arm B", steps: "Steps", seed: "Seed" },
    shows: {
      regime: (v) => DROPOUT_REGIMES[v as keyof typeof DROPOUT_REGIMES].label,
      armA: (v) => DROPOUT_ARMS.find((a) => a.id === v)!.label,
      armB: (v) => DROPOUT_ARMS.find((a) => a.id === v)!.label
    },
    query: { regime: "underfit", armA: "early", armB: "late", steps: 100, seed: 3 },
    junk: ["armA", "sometimes", "armA=sometimes is not one of"],
    idle: attr('#dropout-live[data-status="idle"]')
  },
  {
    path: "/distillation",
    settings: DISTILLATION_SETTINGS,
    labels: { text: "Text", kl: "KL", temperature: "Temperature", alphaStart: "α at the start", alphaEnd: "α at the end", steps: "Steps", seed: "Seed" },
    shows: { kl: (v) => (v === "forward" ? "forward KL(teacher ‖ student)" : "reverse KL(student ‖ teacher)") },
    query: { text: "Call me Ishmael.", kl: "reverse", temperature: 2, alphaStart: 0.8, alphaEnd: 1, steps: 250, seed: 2 },
    junk: ["temperature", "hot", "temperature=hot is not a number from 0.1 to 10; using 1."],
    idle: attr('#distill-live[data-status="idle"]')
  },
  {
    path: "/self-play",
    settings: SELF_PLAY_SETTINGS,
    labels: { imitation: "Imitation iterations", selfplay: "Self-play iterations", every: "Evaluate every", seed: "Seed", opponent: "Play against" },
    shows: { opponent: (v) => (v === "live" ? "your live run's model" : "the precomputed model (seed 1)") },
    query: { imitation: 30, selfplay: 40, every: 5, seed: 9, opponent: "live" },
    junk: ["every", "0", "every=0 is not a whole number from 1 to 500; using 10."],
    idle: attr('#live-status[data-status="idle"]')
  },
  {
    path: "/bench",
    settings: BENCH_SETTINGS,
    labels: { backend: "Backend", preset: "Preset", steps: "Timed steps", profile: "Time each kernel" },
    query: { backend: "wasm", preset: "nano", steps: 4, profile: true },
    junk: ["steps", "1e9", "steps=1e9 is not a whole number from 1 to 100; using 8."],
    idle: async (page) => (await page.locator("#bench-result").count()) === 0
  },
  {
    path: "/evaluate",
    settings: EVALUATE_SETTINGS,
    labels: {
      backend: "Backend",
      model: "Model",
      bytes: 'css:select[aria-label="Bytes of each test split"]',
      items: 'css:select[aria-label="Items of each evaluation set"]'
    },
    shows: { model: (v) => ({ precomputed: "the precomputed nano (austen)", saved: "one saved in this browser", file: "a checkpoint file" })[v as string]! },
    query: { backend: "wasm", model: "precomputed", bytes: "4096", items: "all" },
    junk: ["items", "lots", "items=lots is not one of"],
    idle: async (page) => (await page.locator('.stlm-eval-card[data-state="idle"]').count()) >= 1
  }
];

/**
 * What the control labelled `label` shows: a select's option, a radio's or checkboxes' labels, a toggle's state, a box's text.
 * A "label" "css:SELECTOR" names a control without a label element by a selector, and reads its `value` (the replay
 * scrubber, the evaluation card's size selects).
 */
async function readControl(page: Page, label: string): Promise<string | null> {
  return page.evaluate((label) => {
    if (label.startsWith("css:")) {
      const el = document.querySelector(label.slice(4)) as (Element & { value?: unknown }) | null;
      return el ? String(el.value) : null;
    }
    for (const f of document.querySelectorAll("form, .stlm-number")) {
      const l = f.querySelector(":scope > label");
      if (!l || l.textContent!.trim() !== label) continue;
      if (f.matches(".stlm-number")) return (f.querySelector("input") as HTMLInputElement).value;
      const select = f.querySelector("select");
      if (select) return select.selectedOptions[0]?.textContent?.trim() ?? "";
      const area = f.querySelector("textarea");
      if (area) return area.value;
      const boxes = [...f.querySelectorAll<HTMLInputElement>("input[type=radio], input[type=checkbox]")];
      if (boxes.length === 1 && boxes[0].type === "checkbox" && !boxes[0].closest("label")) return String(boxes[0].checked);
      if (boxes.length) return boxes.filter((b) => b.checked).map((b) => b.closest("label")!.textContent!.trim()).join(",");
      const input = f.querySelector("input");
      if (input) return input.value;
    }
    return null;
  }, label);
}

function shown(c: Case, key: string, v: SettingValue): string {
  return c.shows?.[key]?.(v) ?? String(v);
}

function queryOf(values: Record<string, SettingValue>): string {
  return `?${Object.entries(values).map(([k, v]) => `${k}=${encodeURIComponent(Array.isArray(v) ? v.join(",") : String(v))}`).join("&")}`;
}

/** Opens a page and waits until every control of `keys` is drawn. */
async function open(page: Page, url: string, c: Case, keys: string[]): Promise<void> {
  await page.goto(url, { waitUntil: "load" });
  await drawn(page, c, keys);
}

async function drawn(page: Page, c: Case, keys: string[]): Promise<void> {
  await page.locator(".stlm-url-state").first().waitFor({ timeout: 60_000 });
  for (const key of keys) {
    await page.waitForFunction(
      (label) => (label.startsWith("css:") ? document.querySelector(label.slice(4)) !== null : [...document.querySelectorAll("form > label, .stlm-number > label")].some((l) => l.textContent!.trim() === label)),
      c.labels[key],
      { timeout: 90_000 }
    );
  }
  await page.waitForLoadState("networkidle");
}

async function assertControls(page: Page, c: Case, values: Record<string, SettingValue>, where: string): Promise<void> {
  for (const [key, v] of Object.entries(values)) {
    assert.equal(await readControl(page, c.labels[key]), shown(c, key, v), `${where}: the ${c.labels[key]} control shows ${key}=${JSON.stringify(v)}`);
  }
}

const site = useSite();

describe("settings in the URL", () => {
  for (const c of CASES) {
    it(`${c.path}: a link sets the controls without running; junk shows a note; Copy link reproduces; exercise links open configured`, async () => {
      const base = new URL(c.path, site.server.url).href;
      const keys = Object.keys(c.labels);
      assert.deepEqual(keys.sort(), c.settings.map((s) => s.key).sort(), `${c.path}: every declared setting has a control to check`);
      const page = await site.session.context.newPage();
      const log = watchPage(page, site.server.origin);

      // 1. A link with non-default settings.
      await open(page, `${base}${queryOf(c.query)}`, c, keys);
      await assertControls(page, c, c.query, `${c.path} opened with a query`);
      assert.equal(await page.locator(".stlm-url-note").count(), 0, `${c.path}: no notes for a valid link`);
      if (c.idle) assert.ok(await c.idle(page), `${c.path}: opening a link runs nothing`);
      assert.deepEqual(parseSettings(c.settings, new URL(page.url()).search), { values: { ...parseSettings(c.settings, "").values, ...c.query }, notes: [] }, `${c.path}: the address still holds the settings`);

      // 2. "Copy link" gives a URL that opens the same settings in a fresh page.
      await page.locator(".stlm-copy-link").first().click();
      const copied = await page.locator(".stlm-url-field").first().inputValue();
      assert.ok(copied.startsWith(base), `${c.path}: the copied link is this page's address: ${copied}`);
      const again = await site.session.context.newPage();
      const againLog = watchPage(again, site.server.origin);
      await open(again, copied, c, keys);
      await assertControls(again, c, c.query, `${c.path} opened from the copied link`);
      await assertClean(again, againLog, `${c.path} from the copied link`);
      await again.close();

      // 3. A junk value: a note naming it, the default in its control, no error cell.
      const [key, raw, note] = c.junk;
      await open(page, `${base}?${key}=${encodeURIComponent(raw)}`, c, keys);
      const notes = await page.locator(".stlm-url-note").allInnerTexts();
      assert.equal(notes.length, 1, `${c.path}: one note for ${key}=${raw}: ${notes.join(" | ")}`);
      assert.ok(notes[0].startsWith(note), `${c.path}: the note says what was wrong: ${notes[0]}`);
      const defaults = parseSettings(c.settings, "").values;
      await assertControls(page, c, { [key]: defaults[key] }, `${c.path} with ${key}=${raw}`);
      assert.equal(new URL(page.url()).search, "", `${c.path}: the junk is dropped from the address`);

      // 4. The exercises: every link is one the page accepts; the first opens the page configured.
      const hrefs = await page.locator(".stlm-exercise-link").evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
      assert.ok(hrefs.length >= 2 && hrefs.length <= 3, `${c.path}: two or three exercises (${hrefs.length})`);
      for (const href of hrefs) {
        assert.equal(new URL(href).pathname, new URL(base).pathname, `${c.path}: an exercise opens this page`);
        assert.deepEqual(parseSettings(c.settings, new URL(href).search).notes, [], `${c.path}: ${href} is a link the page accepts`);
      }
      await page.locator(".stlm-exercise-link").first().click();
      await page.waitForURL(hrefs[0]);
      await drawn(page, c, keys);
      const asked = parseSettings(c.settings, new URL(hrefs[0]).search).values;
      await assertControls(page, c, asked, `${c.path} from its first exercise`);
      assert.equal(await page.locator(".stlm-url-note").count(), 0);
      if (c.idle) assert.ok(await c.idle(page), `${c.path}: an exercise link runs nothing`);

      await assertClean(page, log, c.path);
      await page.close();
    });
  }

  it("/train: changing a control rewrites the address; a new preset keeps a typed (or linked) learning rate, steps and seed", async () => {
    const c = CASES.find((x) => x.path === "/train")!;
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await open(page, new URL("/train?steps=500&lr=0.001", site.server.url).href, c, Object.keys(c.labels));
    const seed = page.getByLabel("Seed");
    await seed.fill("11");
    await seed.dispatchEvent("input");
    await page.waitForFunction(() => location.search.includes("seed=11"));
    // An invalid box leaves the address as it was.
    await seed.fill("eleven");
    await seed.dispatchEvent("input");
    await page.waitForTimeout(200);
    assert.equal(new URL(page.url()).search, "?steps=500&lr=0.001&seed=11");
    await seed.fill("12");
    await seed.dispatchEvent("input");
    await page.getByLabel("micro").check();
    await page.waitForFunction(() => location.search.includes("preset=micro"));
    // Issue #10: a preset change threw the reader's learning rate away; the link's 0.001 stays, in the box and the address.
    await page.waitForFunction(() => location.search.includes("lr=0.001"));
    assert.equal(new URL(page.url()).search, "?preset=micro&steps=500&lr=0.001&seed=12");
    assert.equal(await readControl(page, "Learning rate"), "0.001", "the linked learning rate, kept");
    assert.equal(await readControl(page, "Steps"), "500");
    assert.equal(await readControl(page, "Seed"), "12");
    await assertClean(page, log, "/train after changing settings");
    await page.close();
  });
});

describe("a value only the page's data can refuse", () => {
  it("/tokenizer-free: a budget the precomputed runs lack shows a note and the longest budget", async () => {
    const c = CASES.find((x) => x.path === "/tokenizer-free")!;
    const page = await site.session.context.newPage();
    const log = watchPage(page, site.server.origin);
    await open(page, new URL("/tokenizer-free?budget=45", site.server.url).href, c, ["budget"]);
    await page.locator(".stlm-url-note").first().waitFor({ timeout: 30_000 });
    const notes = await page.locator(".stlm-url-note").allInnerTexts();
    assert.equal(notes.length, 1, notes.join(" | "));
    assert.match(notes[0], /^budget=45 is not a budget of the precomputed runs \(.+ s\); using \d+\.$/);
    const used = /using (\d+)\.$/.exec(notes[0])![1];
    assert.equal(await readControl(page, "Training budget (s)"), `${used} s`);
    await assertClean(page, log, "/tokenizer-free?budget=45");
    await page.close();
  });
});
