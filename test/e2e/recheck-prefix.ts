// A page's "Re-run and check" card (src/components/recheck.ts) in a browser test: pick
// the figure's run whose label starts with `run`, check its first `steps` steps, and
// return the verdict, the steps compared and the card's sentence. Short prefixes only:
// CI time is tight, and a prefix is what the card lets a reader check first.
import assert from "node:assert/strict";
import type { Page } from "playwright-core";

export async function recheckPrefix(page: Page, { run, steps }: { run: string; steps: number }): Promise<{ verdict: string; compared: number; text: string; facts: string; about: string }> {
  const card = page.locator(".stlm-recheck");
  await card.waitFor({ timeout: 60_000 });
  const select = card.getByLabel("The figure's run to check");
  const labels = await select.locator("option").allInnerTexts();
  const index = labels.findIndex((l) => l.startsWith(run));
  assert.ok(index >= 0, `no run "${run}…" to check among ${labels.length}: ${labels.slice(0, 5).join(" | ")}…`);
  await select.selectOption({ index });
  const upTo = card.getByLabel("Check up to step", { exact: true });
  await upTo.fill(String(steps));
  await upTo.dispatchEvent("input");
  await card.getByRole("button", { name: "Re-run and check", exact: true }).click();
  await page.waitForFunction(() => ["agrees", "departs", "error", "incomplete"].includes(document.querySelector(".stlm-recheck")?.getAttribute("data-verdict") ?? ""), null, { timeout: 120_000 });
  const text = await card.locator(".stlm-recheck-result").innerText();
  console.log(`${new URL(page.url()).pathname}, re-run and check of "${labels[index]}", ${steps} steps: ${text}`);
  return {
    verdict: (await card.getAttribute("data-verdict")) ?? "",
    compared: Number(await card.getAttribute("data-compared")),
    text,
    facts: await card.locator(".stlm-recheck-facts").innerText(),
    about: await card.locator(".stlm-recheck-about").innerText()
  };
}
