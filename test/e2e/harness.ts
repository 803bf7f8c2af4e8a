// Shared set-up for the browser tests: serve dist/ with scripts/serve.mjs on a free
// localhost port, drive Debian's Chromium through playwright-core, and record every
// console error, page error, Framework error cell and request that leaves the origin.
import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { cp, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(ROOT, ".tmp", "screenshots");

// Flags that work as root on a closed network (shared/STACK.md).
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // globalThis.gc(), so memory checks measure what is held, not what is not yet collected.
  "--js-flags=--expose-gc"
];

export interface Server {
  url: string;
  origin: string;
  close(): Promise<void>;
}

let snapshot: Promise<string> | null = null;

/**
 * A private copy of dist/, taken once per test process: a build started meanwhile
 * (by another command in the same checkout) deletes and rewrites dist/, which would
 * otherwise break pages half-way through a test.
 */
export function distSnapshot(): Promise<string> {
  snapshot ??= (async () => {
    // STLM_E2E_DIST serves another build (an older one, to measure before and after).
    const dist = process.env.STLM_E2E_DIST ?? join(ROOT, "dist");
    if (!(await stat(join(dist, "index.html")).catch(() => null))?.isFile()) {
      throw new Error("dist/ holds no built site: run `npm run build` first (npm run test:e2e does).");
    }
    const copy = await mkdtemp(join(tmpdir(), "stlm-dist-"));
    process.once("exit", () => rmSync(copy, { recursive: true, force: true }));
    await cp(dist, copy, { recursive: true });
    return copy;
  })();
  return snapshot;
}

/** Serves (a copy of) dist/ on a free port; `isolated` sends the COOP/COEP headers (scripts/serve.mjs's default), else --plain. */
export async function startServer({ isolated = false } = {}): Promise<Server> {
  const dist = await distSnapshot();
  const args = [join(ROOT, "scripts", "serve.mjs"), "--port", "0", "--root", dist, ...(isolated ? [] : ["--plain"])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise<string>((ok, fail) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) ok(m[1]);
    });
    child.stderr!.on("data", (d) => (err += d));
    child.once("exit", (code) => fail(new Error(`serve.mjs exited with ${code}: ${err}`)));
    setTimeout(() => fail(new Error(`serve.mjs did not start in 10 s: ${out}${err}`)), 10_000);
  });
  return { url, origin: new URL(url).origin, close: () => stop(child) };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once("exit", () => ok());
    child.kill("SIGTERM");
  });
}

export interface Session {
  browser: Browser;
  context: BrowserContext;
  close(): Promise<void>;
}

/** `webgpu` drops --disable-gpu and asks for WebGPU on SwiftShader (a software adapter: slow, but real). */
export async function launchBrowser({ webgpu = false }: { webgpu?: boolean } = {}): Promise<Session> {
  if (!(await stat(CHROMIUM).catch(() => null))) {
    throw new Error(`No Chromium at ${CHROMIUM}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH.`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), "stlm-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: webgpu
      ? [...CHROMIUM_FLAGS.filter((f) => f !== "--disable-gpu"), "--enable-unsafe-webgpu", "--use-angle=swiftshader", "--use-webgpu-adapter=swiftshader"]
      : CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true
  });
  const browser = context.browser()!;
  return {
    browser,
    context,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    }
  };
}

export interface PageLog {
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests to any origin other than the server's (data: and blob: URLs are local). */
  foreignRequests: string[];
  failedRequests: string[];
}

/** Records what a page does that a test should fail on. */
export function watchPage(page: Page, origin: string): PageLog {
  const log: PageLog = { consoleErrors: [], pageErrors: [], foreignRequests: [], failedRequests: [] };
  page.on("console", (msg) => {
    if (msg.type() === "error") log.consoleErrors.push(`${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => log.pageErrors.push(String(err?.stack ?? err)));
  page.on("request", (req) => {
    const url = req.url();
    if (url.startsWith("data:") || url.startsWith("blob:")) return;
    if (new URL(url).origin !== origin) log.foreignRequests.push(url);
  });
  page.on("requestfailed", (req) => log.failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`));
  page.on("response", (res) => {
    if (res.status() >= 400) log.failedRequests.push(`${res.url()}: HTTP ${res.status()}`);
  });
  return log;
}

/** The text of every Framework error cell on the page. */
export async function errorCells(page: Page): Promise<string[]> {
  return page.locator(".observablehq--error").allInnerTexts();
}

/**
 * One server and one browser for a test file: registers the before/after hooks
 * and returns the live pair (filled in once `before` has run).
 */
/** `isolated`: serve with the COOP/COEP headers (Pause and Stop then act within the step under way). */
export function useSite({ isolated = false } = {}): { readonly server: Server; readonly session: Session } {
  const site = {} as { server: Server; session: Session };
  before(async () => {
    site.server = await startServer({ isolated });
    site.session = await launchBrowser();
  });
  after(async () => {
    await site.session?.close();
    await site.server?.close();
  });
  return site;
}

/** A page is clean: no Framework error cells, no uncaught errors or console errors, no request off its origin or failed. */
export async function assertClean(page: Page, log: PageLog, where: string): Promise<void> {
  assert.deepEqual(await errorCells(page), [], `${where}: Framework error cells`);
  assert.deepEqual(log.pageErrors, [], `${where}: uncaught page errors`);
  assert.deepEqual(log.consoleErrors, [], `${where}: console errors`);
  assert.deepEqual(log.foreignRequests, [], `${where}: requests outside the site's origin`);
  assert.deepEqual(log.failedRequests, [], `${where}: failed requests`);
}

/** Every page the build wrote (each .html under dist/ but Framework's 404), as a path. */
export async function builtPages(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith("_")) continue;
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${prefix}${entry.name}/`);
      else if (entry.name.endsWith(".html") && entry.name !== "404.html") out.push(`/${prefix}${entry.name.replace(/(index)?\.html$/, "")}`);
    }
  };
  await walk(await distSnapshot(), "");
  return out.sort();
}

/**
 * A page's runs table after its live A/B run (components/runs-library.ts): waits until
 * the page's two live arms are rows (by their page cell, e.g. "/sharing"), checks that
 * the figure's precomputed runs are rows too ("/sharing (precomputed)"), and ticks then
 * unticks the first of them, waiting each time for the page's chart (`chart`, a selector)
 * to say it draws one ticked run (`data-ticked="1"`) and then none. Returns the live
 * rows' labels, for the page's own check of their wording.
 */
export async function checkRunsTable(page: Page, pageName: string, chart: string): Promise<string[]> {
  const liveRows = `[...document.querySelectorAll(".stlm-runs-table tbody tr")].filter((tr) => tr.querySelector("td:nth-child(3)")?.textContent === ${JSON.stringify(pageName)})`;
  await page.waitForFunction(`${liveRows}.length === 2`, undefined, { timeout: 10_000 });
  const labels = (await page.evaluate(`${liveRows}.map((tr) => tr.querySelector("td:nth-child(2)").textContent)`)) as string[];
  const precomputed = page.locator(".stlm-runs-table tbody tr", { hasText: `${pageName} (precomputed)` });
  assert.ok((await precomputed.count()) > 0, `${pageName}: the precomputed runs are rows`);
  // A ticked precomputed run is drawn on the page's chart, and only while ticked.
  const box = precomputed.first().locator("input");
  await box.check();
  await page.locator(`${chart}[data-ticked="1"]`).waitFor({ timeout: 10_000 });
  await box.uncheck();
  await page.locator(`${chart}[data-ticked="0"]`).waitFor({ timeout: 10_000 });
  return labels;
}

/**
 * Chooses the option labelled `label` in an Observable Inputs select as a reader's pick
 * does: one input event. Playwright's selectOption sends an untrusted input and then a
 * change, which Observable Inputs answers with a second input (it drops that listener
 * only after a trusted input), so the page acts on the pick twice: on /train a backend
 * switch ran twice, and a press of Run on the first switch's controls went to a run the
 * second was disposing (2 of 8 runs of responsive.test.ts).
 */
export async function chooseOption(select: Locator, label: string): Promise<void> {
  await select.evaluate((el: HTMLSelectElement, value) => {
    const index = [...el.options].findIndex((o) => o.label === value || o.textContent === value);
    if (index < 0) throw new Error(`the select has no option ${value}: ${[...el.options].map((o) => o.label).join(", ")}`);
    el.selectedIndex = index;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, label);
}
