// Every numeric box on every page (components/number-input.ts): a bad value shows
// the rule beside the box and disables the buttons that would use it; a good one
// clears both; and a run uses exactly the numbers the boxes show.
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Locator, Page } from "playwright-core";
import { assertClean, SCREENSHOTS, watchPage, useSite, type PageLog } from "./harness.js";

const site = useSite();

interface Control {
  label: string;
  bad: string[];
  good: string;
}

interface PageCase {
  path: string;
  /** What the page must have drawn before its controls are all there. */
  ready: string;
  /** The buttons the controls gate. */
  buttons: (page: Page) => Locator[];
  controls: Control[];
}

const run = (page: Page) => page.getByRole("button", { name: "Run", exact: true });

const PAGES: PageCase[] = [
  {
    path: "/train",
    ready: ".stlm-backend",
    buttons: (page) => [page.locator(".stlm-run")],
    controls: [
      { label: "Steps", bad: ["0", "-5", "1e9", "abc", "", "1.5", "0x10", "Infinity", "20001"], good: "300" },
      { label: "Learning rate", bad: ["0", "10", "abc", "", "1", "-0.001", "Infinity"], good: "1e-3" },
      { label: "Seed", bad: ["-1", "1.5", "", "abc", "4294967296", "0x10"], good: "1" }
    ]
  },
  {
    path: "/sharing",
    ready: ".stlm-ab-card",
    buttons: (page) => [run(page)],
    controls: [{ label: "Steps (live run)", bad: ["0", "19", "2001", "1e9", "abc", "", "1.5", "0x10"], good: "100" }]
  },
  {
    path: "/tokenizer-free",
    ready: ".stlm-buttons",
    buttons: (page) => [run(page)],
    controls: [{ label: "Seconds each", bad: ["0", "9", "601", "abc", "", "1.5", "Infinity"], good: "60" }]
  },
  {
    path: "/bench",
    ready: 'p.stlm-status[data-backend]',
    buttons: (page) => [page.getByRole("button", { name: "Run the benchmark" })],
    controls: [{ label: "Timed steps", bad: ["0", "101", "-5", "1e9", "abc", "", "1.5", "0x10"], good: "8" }]
  }
];

/** The box of a setting, and the message element its aria-describedby names. */
async function control(page: Page, label: string): Promise<{ box: Locator; message: Locator }> {
  const box = page.getByLabel(label, { exact: true });
  await box.waitFor({ timeout: 60_000 });
  const ids = ((await box.getAttribute("aria-describedby")) ?? "").split(/\s+/).filter(Boolean);
  const messageId = ids.find((id) => id.endsWith("-message"));
  assert.ok(messageId, `${label}: aria-describedby names no message (${ids.join(" ")})`);
  const message = page.locator(`[id="${messageId}"]`);
  assert.equal(await message.getAttribute("role"), "alert", `${label}: the message is an alert`);
  return { box, message };
}

async function type(box: Locator, text: string): Promise<void> {
  await box.fill(text);
}

async function assertRefused(page: Page, buttons: Locator[], label: string, text: string): Promise<void> {
  const { box, message } = await control(page, label);
  await type(box, text);
  assert.ok(await message.isVisible(), `${label} = ${JSON.stringify(text)}: no message shown`);
  const said = await message.innerText();
  assert.ok(said.startsWith(`${label} must be `), `${label} = ${JSON.stringify(text)}: the message says ${JSON.stringify(said)}`);
  assert.equal(await box.getAttribute("aria-invalid"), "true", `${label} = ${JSON.stringify(text)}: aria-invalid`);
  assert.equal(await box.inputValue(), text, `${label}: the box keeps what was typed`);
  for (const b of buttons) assert.ok(await b.isDisabled(), `${label} = ${JSON.stringify(text)}: ${await b.innerText()} is still enabled`);
}

async function assertAccepted(page: Page, buttons: Locator[], label: string, text: string): Promise<void> {
  const { box, message } = await control(page, label);
  await type(box, text);
  assert.ok(!(await message.isVisible()), `${label} = ${JSON.stringify(text)}: the message is still shown: ${await message.innerText()}`);
  assert.equal(await box.getAttribute("aria-invalid"), null);
  for (const b of buttons) assert.ok(await b.isEnabled(), `${label} = ${JSON.stringify(text)}: ${await b.innerText()} is disabled`);
}

async function open(page: Page, path: string, ready: string): Promise<PageLog> {
  const log = watchPage(page, site.server.origin);
  await page.goto(new URL(path, site.server.url).href, { waitUntil: "load" });
  await page.locator(ready).first().waitFor({ timeout: 60_000 });
  return log;
}

// WCAG relative luminance and contrast of two CSS colours as getComputedStyle writes them.
function luminance(css: string): number {
  const m = /^rgba?\(([^)]+)\)$/.exec(css) ?? /^color\(srgb ([^)]+)\)$/.exec(css);
  assert.ok(m, `cannot read the colour ${css}`);
  const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  const scale = css.startsWith("color(") ? 1 : 255;
  const [r, g, b] = parts.slice(0, 3).map((v) => {
    const c = v / scale;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

async function messageContrast(message: Locator): Promise<number> {
  const [fg, bg] = await message.evaluate((el) => {
    let bgEl: Element | null = el;
    let bg = "rgba(0, 0, 0, 0)";
    while (bgEl && /rgba\(0, 0, 0, 0\)|transparent/.test((bg = getComputedStyle(bgEl).backgroundColor))) bgEl = bgEl.parentElement;
    return [getComputedStyle(el).color, bg];
  });
  const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

// The near-midnight theme's variables (Framework's dark theme), laid over the light one.
const DARK = `:root {
  --theme-foreground: #dfdfd6;
  --theme-background-b: #161616;
  --theme-background-a: color-mix(in srgb, var(--theme-foreground) 4%, var(--theme-background-b));
  --theme-background: var(--theme-background-a);
  --theme-background-alt: var(--theme-background-b);
  --theme-foreground-muted: color-mix(in srgb, var(--theme-foreground) 60%, var(--theme-background-b));
  color-scheme: dark;
}`;

describe("numeric settings", () => {
  for (const p of PAGES) {
    it(`${p.path}: each bad value shows the rule beside the box and disables the run; a good one clears both`, { timeout: 90_000 }, async () => {
      const page = await site.session.context.newPage();
      try {
        const log = await open(page, p.path, p.ready);
        const buttons = p.buttons(page);
        for (const b of buttons) await b.waitFor({ timeout: 60_000 });
        for (const c of p.controls) {
          for (const bad of c.bad) {
            await assertRefused(page, buttons, c.label, bad);
            await assertAccepted(page, buttons, c.label, c.good);
          }
        }
        // Two bad boxes at once: the run waits for both.
        if (p.controls.length > 1) {
          const [a, b] = p.controls;
          await assertRefused(page, buttons, a.label, a.bad[0]);
          await assertRefused(page, buttons, b.label, b.bad[0]);
          await assertAccepted(page, [], a.label, a.good);
          for (const btn of buttons) assert.ok(await btn.isDisabled(), `${b.label} is still bad`);
          await assertAccepted(page, buttons, b.label, b.good);
        }
        await assertClean(page, log, p.path);
      } finally {
        await page.close();
      }
    });
  }

  it("/train: Temperature gates Write, and Layer and Head refuse heads the model lacks", { timeout: 90_000 }, async () => {
    const page = await site.session.context.newPage();
    try {
      const log = await open(page, "/train", ".stlm-backend");
      await page.locator('.stlm-attention-card[data-state="drawn"] .stlm-attention').waitFor({ timeout: 60_000 });
      const write = page.getByRole("button", { name: "Write" });
      await page.getByLabel("Prompt", { exact: true }).fill("It was");
      assert.ok(await write.isEnabled(), "Write is on once the prompt changes");
      for (const bad of ["-0.1", "2.5", "abc", "", "Infinity"]) {
        await assertRefused(page, [write], "Temperature", bad);
        await assertAccepted(page, [write], "Temperature", "0.8");
      }
      // A prompt typed while the temperature is invalid does not switch Write back on.
      await assertRefused(page, [write], "Temperature", "abc");
      await page.getByLabel("Prompt", { exact: true }).fill("It was again");
      assert.ok(await write.isDisabled(), "typing a prompt does not switch Write on while the temperature is invalid");
      await assertAccepted(page, [write], "Temperature", "0");

      // The arrow keys step the box within its rule.
      const temperature = page.getByLabel("Temperature", { exact: true });
      await temperature.press("ArrowUp");
      assert.equal(await temperature.inputValue(), "0.05");
      await temperature.press("ArrowDown");
      await temperature.press("ArrowDown");
      assert.equal(await temperature.inputValue(), "0", "ArrowDown stops at the minimum");

      for (const label of ["Layer", "Head"]) {
        const { box } = await control(page, label);
        const max = Number(await box.getAttribute("aria-valuemax"));
        assert.ok(max >= 1, `${label}: the model has more than one`);
        for (const bad of ["-1", "1.5", String(max + 1), "abc", ""]) {
          await assertRefused(page, [], label, bad);
          await page.locator(".stlm-attention-card", { hasText: "Choose a layer and a head" }).waitFor({ timeout: 10_000 });
        }
        await assertAccepted(page, [], label, String(max));
        await page.locator('.stlm-attention-card[data-state="drawn"] .stlm-attention').waitFor({ timeout: 30_000 });
      }
      await assertClean(page, log, "/train (temperature, layer, head)");
    } finally {
      await page.close();
    }
  });

  it("/train: the message is readable and fits at 390 px and at 1280 px, in light and dark", { timeout: 60_000 }, async () => {
    const page = await site.session.context.newPage();
    try {
      const log = await open(page, "/train", ".stlm-backend");
      await mkdir(SCREENSHOTS, { recursive: true });
      for (const [width, dark] of [[390, false], [1280, false], [390, true]] as const) {
        await page.setViewportSize({ width, height: 900 });
        const style = dark ? await page.addStyleTag({ content: DARK }) : null;
        const { box, message } = await control(page, "Steps");
        await type(box, "1e9");
        const seed = await control(page, "Seed");
        await type(seed.box, "-1");
        const contrast = await messageContrast(message);
        assert.ok(contrast >= 4.5, `the message's contrast at ${width} px${dark ? " (dark)" : ""} is ${contrast.toFixed(2)}:1`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px at ${width} px`);
        for (const m of [message, seed.message]) {
          const [r, main] = await Promise.all([m.boundingBox(), page.locator("#observablehq-main").boundingBox()]);
          assert.ok(r && main && r.x >= main.x - 1 && r.x + r.width <= main.x + main.width + 1, `the message sticks out of the page at ${width} px`);
        }
        // Page coordinates (fill scrolls the page), from the Settings heading to the Run buttons.
        const clip = await page.evaluate(() => {
          const top = document.querySelector("#settings")!.getBoundingClientRect().top + scrollY;
          const bottom = document.querySelector(".stlm-run")!.closest(".stlm-buttons")!.getBoundingClientRect().bottom + scrollY;
          return { x: 0, y: Math.max(0, top - 8), width: document.documentElement.clientWidth, height: bottom - top + 24 };
        });
        await page.screenshot({ path: join(SCREENSHOTS, `train-controls-invalid-${width}${dark ? "-dark" : ""}.png`), fullPage: true, clip });
        await style?.evaluate((el) => (el as Element).remove());
        await type(box, "300");
        await type(seed.box, "1");
      }
      await assertClean(page, log, "/train (screenshots)");
    } finally {
      await page.close();
    }
  });

  it("/train: a run with Steps 7, Seed 3 and learning rate 2e-3 reports exactly those", { timeout: 120_000 }, async () => {
    const page = await site.session.context.newPage();
    try {
      const log = await open(page, "/train", '.stlm-backend[data-backend="wasm"]');
      await page.getByRole("radio", { name: "nano" }).check();
      await type(page.getByLabel("Steps", { exact: true }), "7");
      await type(page.getByLabel("Seed", { exact: true }), "3");
      await type(page.getByLabel("Learning rate", { exact: true }), "2e-3");
      await page.locator(".stlm-run").click();
      const card = page.locator('.stlm-chart-card[data-source="live"]');
      await card.and(page.locator('[data-status="done"], [data-status="error"]')).waitFor({ timeout: 100_000 });
      const stats = page.locator(".stlm-stats");
      assert.equal(await card.getAttribute("data-status"), "done", await page.locator(".stlm-stats-card").innerText());
      assert.equal(await stats.locator('[data-stat="step"]').innerText(), "7 / 7");
      assert.equal(await stats.locator('[data-stat="seed"]').innerText(), "3");
      assert.equal(await stats.locator('[data-stat="learning-rate"]').innerText(), "0.002");
      assert.equal(await card.locator(".stlm-loss-chart").getAttribute("data-steps"), "7");
      await assertClean(page, log, "/train (7 steps)");
    } finally {
      await page.close();
    }
  });
});
