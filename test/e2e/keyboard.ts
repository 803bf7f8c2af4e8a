// Every control on a page is reachable and visibly focused from the keyboard: the
// screens test runs this on each page load it already makes (test/e2e/screens.test.ts).
// The page's controls in <main> (links, buttons, inputs, selects, text areas, summaries,
// anything with tabindex 0: chunk rows, bytes, charts; and any element with a widget role,
// whatever its tabindex) are listed first; then Tab is
// pressed until each has had the focus, or twice the document's tab stops have passed.
// A radio group is one tab stop (the arrow keys move inside it), a roving-tabindex row
// one stop (tabindex -1 elsewhere), so each counts once. Then the first charts are read
// from the keyboard (End, Home): each must show one point at a time (chart-a11y.ts).
import type { Page } from "playwright-core";

/** Lists the controls and starts watching the focus. A string, so tsx's helpers never reach the page. */
const START = `(() => {
  const seen = new Set();
  const key = (el) => (el.type === "radio" && el.name ? "radio:" + el.name : el);
  const visible = (el) => el.getClientRects().length > 0 && el.checkVisibility({ checkVisibilityCSS: true }) && !el.closest("[inert], [aria-hidden='true']");
  const controls = [];
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]";
  // Widgets by role count whatever their tabindex: a role="button" span without one is a control the keyboard cannot reach.
  const roles = "[role=button], [role=checkbox], [role=radio], [role=slider], [role=switch], [role=tab], [role=link], [role=menuitem]";
  for (const el of document.querySelectorAll("main :is(" + selector + ", " + roles + ")")) {
    if (el.disabled || (el.tabIndex < 0 && !el.matches(roles)) || !visible(el)) continue;
    // A control inside a closed <details> (other than its summary) is not on the page yet.
    const details = el.closest("details");
    if (details && !details.open && el.tagName !== "SUMMARY") continue;
    const k = key(el);
    if (seen.has(k)) continue;
    seen.add(k);
    controls.push({ el, k });
  }
  const reached = new Set();
  const unringed = [];
  const describe = (el) => {
    const label = el.getAttribute("aria-label") || (el.labels && el.labels[0] && el.labels[0].textContent) || el.textContent || el.getAttribute("name") || "";
    return el.tagName.toLowerCase() + (el.type ? "[" + el.type + "]" : "") + " " + JSON.stringify(label.trim().replace(/\\s+/g, " ").slice(0, 50));
  };
  document.addEventListener("focusin", (e) => {
    const el = e.target;
    if (!(el instanceof Element) || !el.closest("main")) return;
    reached.add(key(el));
    const style = getComputedStyle(el);
    const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
    if (!el.matches(":focus-visible") || !ring) unringed.push(describe(el));
  });
  const stops = [...document.querySelectorAll(selector)].filter((el) => !el.disabled && el.tabIndex >= 0).length;
  window.__keyboard = { controls, reached, unringed, describe, stops };
  document.activeElement && document.activeElement.blur && document.activeElement.blur();
  return { controls: controls.length, stops };
})()`;

const LEFT = `(() => {
  const k = window.__keyboard;
  return k.controls.filter((c) => c.el.isConnected && !c.el.disabled && !k.reached.has(c.k)).map((c) => k.describe(c.el));
})()`;

/**
 * Each visible chart (at most `limit`) read from the keyboard: End then Home must put one
 * point's words, not the whole <desc>, in the line under it (an aria-live region).
 */
async function chartProblems(page: Page, where: string, limit = 2): Promise<string[]> {
  const charts = page.locator("main svg[data-numbers-on-focus]:visible");
  const n = Math.min(limit, await charts.count());
  const problems: string[] = [];
  for (let i = 0; i < n; i++) {
    const chart = charts.nth(i);
    const name = ((await chart.getAttribute("aria-label")) ?? "").slice(0, 60);
    await chart.focus();
    const line = chart.locator("xpath=following-sibling::p[contains(@class, 'stlm-chart-numbers')][1]");
    const read = async (key: string) => {
      await page.keyboard.press(key);
      // Plot draws a faceted chart's tip at the next frame, and the line follows it.
      await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
      return (await line.textContent()) ?? "";
    };
    const last = await read("End");
    const first = await read("Home");
    const desc = ((await chart.locator("desc").textContent()) ?? "").trim();
    if ((await line.getAttribute("aria-live")) !== "polite") problems.push(`${where}: chart "${name}": the line under it is not announced (aria-live)`);
    const total = Number(last.match(/^(\d+) of (\d+): ./)?.[2]);
    if (!(total >= 1) || !last.startsWith(`${total} of ${total}: `)) problems.push(`${where}: chart "${name}": End shows no last point (${JSON.stringify(last.slice(0, 80))})`);
    else if (!first.startsWith(`1 of ${total}: `)) problems.push(`${where}: chart "${name}": Home shows no first point (${JSON.stringify(first.slice(0, 80))})`);
    else if (total > 1 && first.slice(first.indexOf(": ") + 2) === desc) problems.push(`${where}: chart "${name}": a point shows every number of the chart at once`);
  }
  await page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()");
  return problems;
}

/** What keeps `page`'s controls from the keyboard, as sentences naming the control ([] when none). */
export async function keyboardProblems(page: Page, where: string): Promise<string[]> {
  const { controls, stops } = await page.evaluate<{ controls: number; stops: number }>(START);
  if (controls === 0) return [];
  let left: string[] = [];
  const presses = Math.min(2 * stops + 10, 600);
  for (let i = 1; i <= presses; i++) {
    await page.keyboard.press("Tab");
    if (i % 25 === 0 || i === presses) {
      left = await page.evaluate<string[]>(LEFT);
      if (left.length === 0) break;
    }
  }
  const unringed = [...new Set(await page.evaluate<string[]>("window.__keyboard.unringed"))];
  return [
    ...left.map((c) => `${where}: ${c} is never reached by Tab`),
    ...unringed.map((c) => `${where}: ${c} has the focus without a visible focus ring`),
    ...(await chartProblems(page, where))
  ];
}
