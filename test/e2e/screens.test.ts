// Every page of the site (read from observablehq.config.ts, so a page added later is
// covered) at a phone's width (390 px) and a laptop's (1280 px) in the light theme, and at
// 390 px in the dark one: nothing scrolls the page sideways, nothing logs an error, every
// chart SVG has an accessible name and a text alternative, no page starts tfjs on its own
// thread, and (once per page) every control is reached by Tab with a visible focus ring.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Page } from "playwright-core";
import config from "../../observablehq.config.js";
import { join } from "node:path";
import { assertClean, watchPage, useSite, builtPages } from "./harness.js";
import { keyboardProblems } from "./keyboard.js";

const PAGES: string[] = (config.pages as { path: string }[]).map((p) => p.path);
/**
 * The screens each page is visited on: both widths in the light theme, and the phone's width in the dark
 * one (a theme changes colours, not layout; the dark theme's colours are checked at the width where the
 * charts are most cramped). Every visit also checks what test/e2e/harness.ts's assertClean does: no error
 * cell, no console error, no request outside the site's origin, no failed request.
 */
const SCREENS: { width: number; scheme: "light" | "dark" }[] = [
  { width: 390, scheme: "light" },
  { width: 1280, scheme: "light" },
  { width: 390, scheme: "dark" }
];

const site = useSite();

/**
 * What the test checks, read in the page: the widths, and every chart SVG that lacks a
 * name or a description. A string, so tsx's helpers never reach the page.
 */
const INSPECT = `(() => {
  const vw = document.documentElement.clientWidth;
  const charts = [...document.querySelectorAll("main svg")].filter((svg) => {
    if (svg.parentElement && svg.parentElement.closest("svg")) return false; // a nested svg belongs to its chart
    const cls = svg.getAttribute("class") || "";
    if (/-ramp\\b/.test(cls) || svg.closest("[class*='-swatch']")) return false; // Plot's legends
    const box = svg.getBoundingClientRect();
    return box.width >= 60 && box.height >= 40; // icons and swatches are not charts
  });
  const where = (svg) => (svg.closest(".card") && svg.closest(".card").querySelector("h2") && svg.closest(".card").querySelector("h2").textContent.trim()) || (svg.getAttribute("class") || "") + " in " + (svg.parentElement && svg.parentElement.className);
  const unnamed = charts.filter((svg) => !(svg.getAttribute("aria-label") || "").trim()).map(where);
  const undescribed = charts.filter((svg) => {
    const desc = svg.querySelector(":scope > desc");
    const ref = svg.getAttribute("aria-describedby");
    const target = ref && document.getElementById(ref);
    return !(desc && desc.textContent.trim()) && !(target && target.textContent.trim());
  }).map(where);
  const text = document.querySelector("main") ? document.querySelector("main").innerText : "";
  return { vw, docWidth: document.documentElement.scrollWidth, bodyWidth: document.body.scrollWidth, charts: charts.length, unnamed, undescribed, text };
})()`;

interface Inspection { vw: number; docWidth: number; bodyWidth: number; charts: number; unnamed: string[]; undescribed: string[]; text: string }
const inspect = (page: Page): Promise<Inspection> => page.evaluate(INSPECT);


describe("every page on every screen", () => {
  it("reads its pages from observablehq.config.ts", () => {
    assert.ok(PAGES.length >= 9 && PAGES.includes("/") && PAGES.includes("/tokenizer-free"), PAGES.join(", "));
  });
  it("publishes no page the sidebar does not list (lib/README was built but linked from nowhere)", async () => {
    const listed = new Set(PAGES);
    assert.deepEqual((await builtPages()).filter((p) => !listed.has(p)), []);
  });
  for (const { scheme, width } of SCREENS) {
    it(`at ${width} px, ${scheme}: no sideways scroll, no console error, every chart named and described`, async () => {
      // Every page is visited before the test fails, so one run lists every problem.
      const problems: string[] = [];
      for (const path of PAGES) {
        const page = await site.session.context.newPage();
        await page.setViewportSize({ width, height: 900 });
        await page.emulateMedia({ colorScheme: scheme });
        const log = watchPage(page, site.server.origin);
        await page.goto(new URL(path, site.server.url).href, { waitUntil: "load" });
        await page.locator("main").first().waitFor();
        await page.waitForLoadState("networkidle");
        await page.waitForTimeout(1500);
        const where = `${path} at ${width} px, ${scheme}`;
        if ((await page.evaluate('matchMedia("(prefers-color-scheme: dark)").matches')) !== (scheme === "dark")) problems.push(`${where}: the colour scheme was not emulated`);
        const r = await inspect(page);
        if (r.docWidth > r.vw || r.bodyWidth > r.vw) problems.push(`${where}: the document is ${Math.max(r.docWidth, r.bodyWidth)} px wide in a ${r.vw} px viewport`);
        // One unit of training speed on every page: bytes per second (tokens/s named the same number on some pages).
        if (/tokens\/s|tokens per second/i.test(r.text)) problems.push(`${where}: speed in "tokens/s" (the lab's unit is bytes/s)`);
        for (const c of r.unnamed) problems.push(`${where}: a chart without an aria-label (${c})`);
        for (const c of r.undescribed) problems.push(`${where}: a chart without a <desc> or aria-describedby (${c})`);
        // Once per page (the same controls at every width and theme): every control reached by Tab, with a visible focus ring.
        if (width === 1280 && scheme === "light") problems.push(...(await keyboardProblems(page, where)));
        // Model work runs in the lab's worker: tfjs never starts on a page's thread (the bench page's timing included).
        if ((await page.evaluate("typeof globalThis._tfengine")) !== "undefined") problems.push(`${where}: tfjs started on the page's thread`);
        await assertClean(page, log, where).catch((e: Error) => problems.push(e.message.split("\n").slice(0, 6).join(" ")));
        await page.close();
      }
      assert.deepEqual(problems, []);
    });
  }
});
