// stlm train's collapse guard, as a user meets it: a pooled run writes the chunk
// variance to metrics.jsonl at each evaluation, and says on stderr when the
// pooled vectors have collapsed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { stlm } from "./stlm.js";


async function run(dir: string, name: string, extra: string[]): Promise<{ stderr: string; rows: { step: number; chunkVariance: number }[] }> {
  const out = path.join(dir, name);
  const r = await stlm("train", "--preset", "pooled-stride4", "--text", path.join(dir, "pride.txt"), "--steps", "8", "--eval-every", "4", "--out", out, "--quiet", ...extra);
  assert.equal(r.code, 0, r.stderr);
  const rows = (await readFile(path.join(out, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l)).filter((row) => "chunkVariance" in row);
  return { stderr: r.stderr, rows };
}

test("stlm train logs a pooled model's chunk variance and warns when the pooled vectors collapse", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "stlm-collapse-"));
  await writeFile(path.join(dir, "pride.txt"), "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n".repeat(60));

  const healthy = await run(dir, "healthy", []);
  assert.deepEqual(healthy.rows.map((r) => Object.keys(r)), [["step", "chunkVariance"], ["step", "chunkVariance"]]);
  assert.deepEqual(healthy.rows.map((r) => r.step), [4, 8]);
  assert.ok(healthy.rows.every((r) => r.chunkVariance > 0.05), `a fresh model at the preset's learning rate: ${JSON.stringify(healthy.rows)}`);
  assert.doesNotMatch(healthy.stderr, /warning/);

  // A learning rate far past the collapse edge flattens the encoder within a few steps.
  const collapsed = await run(dir, "collapsed", ["--lr", "0.9"]);
  assert.ok(collapsed.rows.every((r) => r.chunkVariance < 0.003), JSON.stringify(collapsed.rows));
  assert.match(
    collapsed.stderr,
    /warning: step 4: the pooled vectors have collapsed \(variance [0-9.e-]+ < threshold 0\.003\): every chunk looks the same to the core, so the model is falling back to byte frequencies; lower the learning rate \(now 0\.9\)\n/
  );
  assert.match(collapsed.stderr, /warning: step 8: /);
});
