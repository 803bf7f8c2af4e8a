// How long the training worker lets the page draw a training snapshot before it queues
// the next step (src/components/live-run.ts, handOffMs): only on a GPU backend, never
// longer than SNAPSHOT_HAND_OFF_MS, and never longer than the last step took.
import { test } from "node:test";
import assert from "node:assert/strict";
import { handOffMs, SNAPSHOT_HAND_OFF_MS } from "../../src/components/live-run.js";

const steps = (...ms: number[]) => {
  let t = 0;
  return ms.map((m, i) => ({ step: i + 1, elapsedMs: (t += m) }));
};

test("wasm and cpu compute the step on the worker's own threads: no hand-off", () => {
  for (const backend of ["wasm", "cpu"]) {
    assert.equal(handOffMs(backend, []), 0);
    assert.equal(handOffMs(backend, steps(16_000, 16_000)), 0);
  }
});

test("on a GPU backend: the cap before any step (step 0's snapshot) and while steps are slower than it", () => {
  for (const backend of ["webgpu", "webgl"]) {
    assert.equal(handOffMs(backend, []), SNAPSHOT_HAND_OFF_MS);
    assert.equal(handOffMs(backend, steps(20_000)), SNAPSHOT_HAND_OFF_MS, "one step, of 20 s");
    assert.equal(handOffMs(backend, steps(20_000, 16_000, 16_000)), SNAPSHOT_HAND_OFF_MS);
  }
});

test("on a fast GPU the hand-off is the last step's time, so a snapshot costs at most one step more", () => {
  assert.equal(handOffMs("webgpu", steps(900, 12, 8)), 8, "the last step, not the first (which compiled)");
  assert.equal(handOffMs("webgl", steps(40)), 40, "one step: its time");
  // Steps read back in groups (a fast GPU reads every 8th): the mean over the last two reported.
  assert.equal(handOffMs("webgpu", [{ step: 8, elapsedMs: 400 }, { step: 16, elapsedMs: 480 }]), 10);
});
