// The training page's "Re-run and check", measured in a real browser (Debian's
// Chromium, headless) over the built site: the precomputed nano-austen figure's first
// N steps trained again in the page's worker on a backend, and the card's verdict.
//
//   npm run build && node --import tsx scripts/recheck-browser.ts --backend wasm --steps 100
//   node --import tsx scripts/recheck-browser.ts --backend webgpu --steps 5   # WebGPU on SwiftShader (slow)
//
// Prints the card's result and facts, and its data attributes (verdict, steps compared,
// largest relative difference, first departure).
import { parseFlags } from "../lib/cli/args.js";
import { launchBrowser, startServer } from "../test/e2e/harness.js";

const f = parseFlags(process.argv.slice(2), { backend: "string", steps: { kind: "int", min: 1, example: 20 } }, "recheck-browser");
const backend = String(f.backend ?? "wasm");
const steps = (f.steps as number | undefined) ?? 20;
const server = await startServer();
const session = await launchBrowser({ webgpu: backend === "webgpu" });
try {
  const page = await session.context.newPage();
  await page.goto(new URL(`/train?backend=${backend}`, server.url).href, { waitUntil: "load" });
  const card = page.locator(".stlm-recheck");
  await card.waitFor({ timeout: 120_000 });
  const got = await page.locator(".stlm-backend").first().getAttribute("data-backend", { timeout: 300_000 });
  const box = page.getByLabel("Check up to step", { exact: true });
  await box.fill(String(steps));
  await box.dispatchEvent("input");
  const t0 = Date.now();
  await card.getByRole("button", { name: "Re-run and check", exact: true }).click();
  await page.waitForFunction(() => ["agrees", "departs", "error", "incomplete"].includes(document.querySelector(".stlm-recheck")?.getAttribute("data-verdict") ?? ""), null, { timeout: 3_600_000, polling: 1000 });
  const attrs = await card.evaluate((el) => ({ ...(el as HTMLElement).dataset }));
  process.stdout.write(
    `backend asked ${backend}, computing on ${got}; ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(0)} s\n` +
      `${await card.locator(".stlm-recheck-result").innerText()}\n${await card.locator(".stlm-recheck-facts").innerText()}\n${JSON.stringify(attrs)}\n`
  );
} finally {
  await session.close();
  await server.close();
}
