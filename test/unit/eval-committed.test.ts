// The evaluation page's committed figures, and self-play's word-chain runs, belong to
// the checkpoints committed now: when a precomputed run is remade, this says which
// script to run again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../../lib/node/data.js";

const sha = async (run: string) => createHash("sha256").update(await readFile(path.join(REPO_ROOT, "data", "runs", run, "checkpoint.safetensors"))).digest("hex");
const json = async (file: string) => JSON.parse(await readFile(path.join(REPO_ROOT, "data", "runs", "evaluate", file), "utf8"));

test("the committed stlm eval figures were made from the committed precomputed checkpoint", async () => {
  const committed = await json("nano-austen.json");
  assert.equal(committed.checkpointSha256, await sha("nano-austen"), "data/runs/nano-austen changed: run node --import tsx scripts/eval-precomputed.ts");
  assert.equal(committed.subset.result.subset.minimalPairs, 100);
});

test("the next-sentence investigation scored the committed checkpoints", async () => {
  const ns = await json("next-sentence.json");
  for (const run of ["nano-austen", "distill/student", "distill/teacher"]) {
    const s = ns.scorers.find((x: { label: string }) => x.label === `data/runs/${run}`);
    assert.ok(s, `no scorer for ${run}`);
    // The distillation rows predate the hash being recorded (their files are unchanged since d5398c8); the precomputed run's must have it.
    if (run === "nano-austen" || s.checkpointSha256) {
      assert.equal(s.checkpointSha256, await sha(run), `data/runs/${run} changed: run node --import tsx scripts/next-sentence-investigation.ts --only data/runs/${run}`);
    }
    assert.equal(s.accNorm.picks.length, ns.dataset.items);
  }
});

test("self-play's word-chain runs started from the committed precomputed checkpoint", async () => {
  const wc = JSON.parse(await readFile(path.join(REPO_ROOT, "data", "runs", "selfplay", "wordchain.json"), "utf8"));
  assert.equal(wc.init?.file, "data/runs/nano-austen/checkpoint.safetensors", "wordchain.json names no starting checkpoint: run nice -n 10 node --import tsx scripts/selfplay-runs.ts --only wordchain --seeds 1,2,3");
  assert.equal(wc.init.sha256, await sha("nano-austen"), "data/runs/nano-austen changed: run nice -n 10 node --import tsx scripts/selfplay-runs.ts --only wordchain --seeds 1,2,3");
});
