// `npm run dev` (scripts/dev.mjs): Framework's preview behind a proxy that adds the
// COOP/COEP headers. A page it serves is cross-origin isolated (so the lab's kernels
// get threads and Pause acts within the step under way), and live reload's WebSocket
// connects through the proxy: the preview's client says hello and hears welcome.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClean, launchBrowser, ROOT, watchPage } from "./harness.js";

/** Starts `node scripts/dev.mjs --port 0`; resolves with its URL once it listens. */
function startDev(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, "scripts", "dev.mjs"), "--port", "0"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`scripts/dev.mjs did not listen in 60 s: ${out}`)), 60_000);
    const read = (d: Buffer) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok({ url: m[1], child });
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", (d) => (out += d));
    child.once("exit", (code) => fail(new Error(`scripts/dev.mjs exited with ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    child.once("exit", () => ok());
    child.kill("SIGTERM");
  });
}

describe("npm run dev", () => {
  it("serves Framework's preview cross-origin isolated, and live reload's socket connects through it", async (t) => {
    const t0 = Date.now();
    const { url, child } = await startDev();
    const session = await launchBrowser();
    try {
      const page = await session.context.newPage();
      const origin = new URL(url).origin;
      const log = watchPage(page, origin);
      // The preview's client (its preview.js) opens ws://HOST/_observablehq, sends hello and is answered welcome.
      const welcomed = new Promise<string>((ok) => {
        page.on("websocket", (ws) => {
          ws.on("framereceived", (frame) => {
            const text = typeof frame.payload === "string" ? frame.payload : frame.payload.toString("utf8");
            if (/"type":"welcome"/.test(text)) ok(ws.url());
          });
        });
      });
      const response = await page.goto(url, { waitUntil: "load" });
      assert.equal(response?.headers()["cross-origin-embedder-policy"], "require-corp");
      assert.equal(response?.headers()["cross-origin-opener-policy"], "same-origin");
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the page is cross-origin isolated");
      assert.equal(await page.evaluate(() => typeof SharedArrayBuffer), "function");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const socket = await Promise.race([welcomed, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error("live reload's socket was not answered within 30 s")), 30_000)))]);
      clearTimeout(timer);
      assert.equal(new URL(socket).pathname, "/_observablehq");
      assert.equal(new URL(socket).host, new URL(url).host, "the socket goes through the proxy");
      await assertClean(page, log, "/ on npm run dev");
      await page.close();
      t.diagnostic(`npm run dev: started, page isolated and socket welcomed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await session.close();
      await stop(child);
    }
  });
});
