// The bench page in a real browser, served plainly and cross-origin isolated (the
// threaded wasm build, whose memory is shared): it trains with the lab's SIMD
// GEMM (lib/wasm/simd.ts) and relaxed-SIMD FMA, leaks no tensors, and its
// check of the wasm backend against the cpu backend agrees. Isolated, the lab's
// kernels run on every core the browser reports (Web Workers over the shared
// memory, lib/threads/web.ts) and train to the same bits as on one thread; plain,
// on one thread, and the page says how to get more. All of it runs in the lab's
// worker (src/components/lab-bench.ts), the pool the other pages train on: tfjs
// never starts on the page's thread.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assertClean, chooseOption, startServer, watchPage, useSite } from "./harness.js";

const site = useSite();

for (const isolated of [false, true]) {
  describe(`the bench page${isolated ? " served cross-origin isolated" : ""}`, () => {
    it("trains with the lab's GEMM and agrees with the cpu backend", { timeout: 300_000 }, async () => {
      const server = isolated ? await startServer({ isolated: true }) : site.server;
      const page = await site.session.context.newPage();
      try {
        const log = watchPage(page, server.origin);
        await page.goto(new URL("/bench", server.url).href, { waitUntil: "load" });
        await page.locator('p.stlm-status[data-backend="wasm"]').waitFor({ timeout: 60_000 });
        assert.equal(await page.evaluate(() => crossOriginIsolated), isolated);
        const cores = (await page.evaluate(() => navigator.hardwareConcurrency)) as number;
        const threads = isolated ? Math.min(cores, 32) : 1;
        const status = page.locator('p.stlm-status[data-backend="wasm"]');
        assert.equal(Number(await status.getAttribute("data-threads")), threads);
        if (!isolated) assert.match(await status.innerText(), /serve the site cross-origin isolated/);
        await chooseOption(page.getByLabel("Preset"), "nano");
        const steps = page.getByLabel("Timed steps").first();
        await steps.fill("2");
        await steps.dispatchEvent("input");
        await page.getByRole("button", { name: "Run the benchmark" }).click();
        const result = page.locator("#bench-result");
        await result.waitFor({ timeout: 240_000 });
        assert.equal(await result.getAttribute("data-backend"), "wasm");
        assert.equal(await result.getAttribute("data-matmul"), "gemm", "the GEMM linked against this build's memory");
        assert.equal(await result.getAttribute("data-relaxed-simd"), "true");
        assert.equal(await result.getAttribute("data-tensors-leaked"), "0");
        assert.ok(Number(await result.getAttribute("data-tokens-per-second")) > 0);
        assert.equal(Number(await result.getAttribute("data-threads")), threads);
        // Isolated with more than one core, the card times 1 thread too (a figure, not a speed-up to assert).
        if (threads > 1) assert.ok(Number(await result.getAttribute("data-tokens-per-second-1")) > 0);

        if (threads > 1) {
          // 4 steps of nano at 1 thread and at every core: the same losses and weights, bit for bit.
          await page.getByRole("button", { name: "Check the threads" }).click();
          const same = page.locator("#threads-check");
          await same.waitFor({ timeout: 60_000 });
          assert.equal(await same.getAttribute("data-threads"), `1,${threads}`);
          const losses = JSON.parse((await same.getAttribute("data-losses"))!) as number[][];
          assert.equal(losses[0].length, 4);
          assert.deepEqual(losses[1], losses[0]);
          assert.equal(await same.getAttribute("data-same"), "true", await same.innerText());
        }

        await page.getByRole("button", { name: "Check this backend" }).click();
        const check = page.locator("#backend-check");
        await check.waitFor({ timeout: 120_000 });
        assert.equal(await check.getAttribute("data-agrees"), "true", await check.innerText());
        if (!isolated) {
          // The page measures its own kernel against TensorFlow.js's instead of asserting a speed-up.
          await page.getByLabel("TensorFlow.js's own (XNNPACK)").check();
          await page.locator('#bench-result[data-matmul="xnnpack"]').waitFor({ timeout: 240_000 });
          assert.match(await page.locator("#bench-result").innerText(), /Matrix products: xnnpack/);
        }
        // The benchmark and both checks ran in the lab's worker, the pool the pages train on: tfjs never started on the page's thread.
        assert.equal(await page.evaluate("typeof globalThis._tfengine"), "undefined", "tfjs started on the bench page's thread");
        await assertClean(page, log, `/bench${isolated ? " (isolated)" : ""}`);
      } finally {
        await page.close();
        if (isolated) await server.close();
      }
    });
  });
}
