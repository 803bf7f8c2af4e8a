// The WebGPU path readers with GPUs get: where an adapter exists (here Chromium's
// SwiftShader software adapter), one training step of a small model on WebGPU must
// agree with the same step on wasm. Skips, saying why, where no adapter exists.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseOption, errorCells, launchBrowser, startServer, watchPage } from "./harness.js";

test("a training step on WebGPU agrees with wasm within tolerance", { timeout: 300_000 }, async (t) => {
  const server = await startServer();
  const session = await launchBrowser({ webgpu: true });
  try {
    const page = await session.context.newPage();
    const log = watchPage(page, server.origin);
    await page.goto(`${server.url}bench`);
    const hasAdapter = await page.evaluate(async () => Boolean(await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    if (!hasAdapter) {
      t.skip("this Chromium offers no WebGPU adapter");
      return;
    }
    await chooseOption(page.getByLabel("Backend"), "webgpu");
    await page.locator('p.stlm-status[data-backend="webgpu"]').waitFor({ timeout: 120_000 });
    await page.getByRole("button", { name: "Check this backend" }).click();
    const result = page.locator("#backend-check");
    await result.waitFor({ timeout: 240_000 });
    const diff = Number(await result.getAttribute("data-grad-rel-diff"));
    assert.equal(await result.getAttribute("data-backend"), "webgpu");
    assert.equal(await result.getAttribute("data-agrees"), "true", `gradients differ by ${diff} of the largest`);
    assert.deepEqual(await errorCells(page), []);
    assert.deepEqual(log.pageErrors, []);
    assert.deepEqual(log.foreignRequests, []);
  } finally {
    await session.close();
    await server.close();
  }
});
