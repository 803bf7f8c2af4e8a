// Where a page's main thread spends its time during a live run: starts the built
// site, opens the page in the test's Chromium, starts its live run on one backend
// (the training page: nano on austen; the A/B pages: their live comparison with
// many steps) for a few seconds, and prints the long tasks (Long Tasks API), the
// garbage collector's share (the profile's "(garbage collector)" samples) and the
// functions with the most self time on the page's thread (a CPU profile over CDP,
// `Profiler.start` / `Profiler.stop`). A diagnosis tool, not a test: the figures are
// wall-clock and depend on the machine's load (run it with scripts/measure.sh).
//
//   npm run build && node --import tsx scripts/main-thread-profile.ts [--page train|sharing|objectives|dropout|distillation|tokenizer-free|self-play] [--backend wasm] [--seconds 12] [--json out.json]
import { writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import type { Page } from "playwright-core";
import { launchBrowser, startServer } from "../test/e2e/harness.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const backend = arg("backend", "wasm");
const seconds = Number(arg("seconds", "12"));
const pageName = arg("page", "train");
const jsonOut = process.argv.includes("--json") ? arg("json", "") : "";

/** How each page's live run is started and stopped, and how to tell that it runs. */
interface LivePage {
  path: string;
  /** Sets a long run up (before the long-task observer starts). */
  prepare(page: Page): Promise<void>;
  start(page: Page): Promise<void>;
  running: string;
  stop(page: Page): Promise<void>;
}
const setNumber = async (page: Page, label: string, value: string) => {
  const box = page.getByRole("spinbutton", { name: label, exact: true }).first();
  await box.fill(value);
  await box.dispatchEvent("input");
};
const abPage = (path: string): LivePage => ({
  path,
  prepare: (page) => setNumber(page, "Steps (live run)", "2000"),
  start: (page) => page.getByRole("button", { name: "Run", exact: true }).click(),
  running: '.stlm-ab-card[data-source="live"] .stlm-progress[data-status="running"]',
  stop: (page) => page.getByRole("button", { name: "Stop", exact: true }).first().click()
});
const pairPage = (path: string, id: string): LivePage => ({
  path,
  prepare: (page) => setNumber(page, "Steps", "2000"),
  start: (page) => page.getByRole("button", { name: "Train both" }).click(),
  running: `#${id}[data-status="running"]`,
  stop: (page) => page.getByRole("button", { name: "Stop", exact: true }).first().click()
});
const PAGES: Record<string, LivePage> = {
  train: {
    path: "/train",
    prepare: async (page) => {
      await page.locator('.stlm-chart-card[data-source="precomputed"]').waitFor({ timeout: 120_000 });
      await setNumber(page, "Steps", "2000");
      await page.getByRole("radio", { name: "nano" }).check();
    },
    start: (page) => page.locator(".stlm-run").click(),
    running: '.stlm-chart-card[data-status="running"]',
    stop: (page) => page.locator(".stlm-stop").click()
  },
  sharing: abPage("/sharing"),
  objectives: abPage("/objectives"),
  dropout: pairPage("/dropout", "dropout-live"),
  distillation: pairPage("/distillation", "distill-live"),
  "tokenizer-free": {
    path: "/tokenizer-free",
    prepare: (page) => setNumber(page, "Seconds each", "60"),
    start: (page) => page.getByRole("button", { name: "Run", exact: true }).click(),
    running: '.stlm-progress[data-status="running"]',
    stop: (page) => page.getByRole("button", { name: "Stop", exact: true }).first().click()
  },
  "self-play": {
    path: "/self-play",
    prepare: async () => undefined,
    start: (page) => page.getByRole("button", { name: "Start", exact: true }).click(),
    running: '#live-status[data-status="running"]',
    stop: (page) => page.getByRole("button", { name: "Stop", exact: true }).first().click()
  }
};
const live = PAGES[pageName];
if (!["wasm", "cpu", "webgl", "webgpu"].includes(backend) || !(seconds > 0) || !live) {
  console.error(`usage: node --import tsx scripts/main-thread-profile.ts [--page ${Object.keys(PAGES).join("|")}] [--backend wasm|cpu|webgl|webgpu] [--seconds N] [--json FILE]`);
  process.exit(2);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

const server = await startServer();
const session = await launchBrowser({ webgpu: backend === "webgpu" });
try {
  const page = await session.context.newPage();
  await page.goto(new URL(live.path, server.url).href, { waitUntil: "load" });
  if (live.path === "/train") {
    await page.locator(".stlm-backend").first().waitFor({ timeout: 60_000 });
    await page.getByRole("combobox", { name: "Backend" }).selectOption(backend);
    // The backend line is redrawn once the worker has switched (as test/e2e/responsive.test.ts waits for it).
    await page.locator(`.stlm-backend[data-backend="${backend}"][data-requested="${backend}"]`).first().waitFor({ timeout: 120_000 });
  } else if (backend !== "wasm") {
    throw new Error(`${live.path} trains on the worker's automatic backend (wasm here); only /train has a backend choice`);
  }
  await live.prepare(page);
  await page.evaluate(`(() => {
    window.__tasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__tasks.push({ start: e.startTime, duration: e.duration, attribution: (e.attribution || []).map((a) => a.containerType + ":" + a.name) });
    }).observe({ type: "longtask" });
  })()`);
  const cdp = await session.context.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await live.start(page);
  await page.locator(live.running).first().waitFor({ timeout: 180_000 }).catch(async (e) => {
    throw new Error(`the run did not start on ${live.path}: ${(e as Error).message.split("\n")[0]}`);
  });
  await cdp.send("Profiler.start");
  const t0 = await page.evaluate("performance.now()");
  await page.waitForTimeout(seconds * 1000);
  const { profile } = (await cdp.send("Profiler.stop")) as { profile: Profile };
  const tasks = ((await page.evaluate("window.__tasks")) as { start: number; duration: number }[]).filter((t) => t.start >= (t0 as number));
  await live.stop(page);

  // Self time per function, from the samples.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const n = byId.get(samples[i])!;
    const f = n.callFrame;
    const where = f.url ? `${f.url.split("/").pop()}:${f.lineNumber + 1}:${f.columnNumber + 1}` : "";
    const name = `${f.functionName || "(anonymous)"} ${where}`.trim();
    self.set(name, (self.get(name) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0) / 1000);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = (self.get("(idle)") ?? 0) + (self.get("(program)") ?? 0);
  const gcMs = self.get("(garbage collector)") ?? 0;
  const top = [...self.entries()].filter(([k]) => !/^\((idle|program)\)/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 25);
  const durations = tasks.map((t) => t.duration).sort((a, b) => b - a);
  const report = {
    page: live.path,
    backend,
    seconds,
    loadPerCore: Number((loadavg()[0] / cpus().length).toFixed(2)),
    longTasks: durations.length,
    longestTaskMs: Math.round(durations[0] ?? 0),
    longTasksMs: durations.slice(0, 10).map(Math.round),
    profiledMs: Math.round(total),
    busyMs: Math.round(total - idle),
    gcMs: Math.round(gcMs),
    top: top.map(([name, ms]) => ({ name, ms: Math.round(ms) }))
  };
  console.log(`${live.path} on ${backend}: ${report.longTasks} long tasks in ${seconds} s, longest ${report.longestTaskMs} ms (${report.longTasksMs.join(", ")}); main thread busy ${report.busyMs} of ${report.profiledMs} ms, garbage collection ${report.gcMs} ms; load ${report.loadPerCore} per core`);
  for (const t of report.top) console.log(`${String(t.ms).padStart(7)} ms  ${t.name}`);
  if (jsonOut) await writeFile(jsonOut, JSON.stringify(report, null, 2) + "\n");
} finally {
  await session.close();
  await server.close();
}
