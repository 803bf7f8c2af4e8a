// The main thread during a page's live run, read in a test that already runs one:
// the longest task (Long Tasks API) and how often the page threw a live table away.
// The longest task is wall-clock time, which a loaded machine (CI's included)
// inflates, so it is reported, and asserted only with STLM_TIMING_ASSERT=1 on a
// machine whose load average is at most one per core (as responsive.test.ts does).
// A table rebuilt at each update of a run does not depend on the machine: it is
// what made a task of 865 ms on /objectives (an Inputs.table made anew per update).
import assert from "node:assert/strict";
import { cpus, loadavg } from "node:os";
import type { TestContext } from "node:test";
import type { Page } from "playwright-core";

export const LONGEST_TASK_MS = 100;

/**
 * Starts watching before a live run: long tasks, and every removal of a <table>
 * (or of an element holding one) whose text contains `tableText`.
 */
export async function watchMainThread(page: Page, tableText: string): Promise<void> {
  // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
  await page.evaluate(`(() => {
    const text = ${JSON.stringify(tableText)};
    window.__mainThread = { longest: 0, tasks: 0, tablesRemoved: 0 };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__mainThread.tasks++;
        window.__mainThread.longest = Math.max(window.__mainThread.longest, e.duration);
      }
    }).observe({ type: "longtask" });
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.removedNodes) {
        if (!(n instanceof Element)) continue;
        const tables = n.matches("table") ? [n] : [...n.querySelectorAll("table")];
        if (tables.some((t) => (t.textContent || "").includes(text))) window.__mainThread.tablesRemoved++;
      }
    }).observe(document.body, { childList: true, subtree: true });
  })()`);
}

export interface MainThread {
  longestTaskMs: number;
  longTasks: number;
  tablesRemoved: number;
}

/** Reads what watchMainThread saw, reports it, asserts that the live table was never replaced, and the 100 ms bound when asked to. */
export async function checkMainThread(page: Page, t: TestContext, where: string): Promise<MainThread> {
  const m = (await page.evaluate("window.__mainThread")) as { longest: number; tasks: number; tablesRemoved: number };
  const loaded = loadavg()[0] / cpus().length;
  t.diagnostic(`${where}: during the live run, ${m.tasks} long task(s), the longest ${m.longest.toFixed(0)} ms (load average ${loaded.toFixed(1)} per core); the live table replaced ${m.tablesRemoved} time(s)`);
  assert.equal(m.tablesRemoved, 0, `${where}: the live table was thrown away and built again ${m.tablesRemoved} time(s) during the run (update it in place: components/live-table.ts)`);
  if (process.env.STLM_TIMING_ASSERT === "1" && loaded <= 1) {
    assert.ok(m.longest < LONGEST_TASK_MS, `${where}: the main thread was blocked for ${m.longest.toFixed(0)} ms during the live run`);
  }
  return { longestTaskMs: m.longest, longTasks: m.tasks, tablesRemoved: m.tablesRemoved };
}
