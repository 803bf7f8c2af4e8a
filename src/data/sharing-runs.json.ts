// The sharing page's precomputed A/B runs, made in Node by scripts/sharing-runs.ts
// and committed in data/runs/sharing/: one file per experiment of lib/experiments/sharing.ts.
// Emits {experiments: {id: record, with `checks`: each arm and seed as a run record}, missing: [ids]}, so the page can say which
// have not been made instead of failing.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SHARING_EXPERIMENTS } from "../../lib/experiments/sharing.js";
import { FIGURE_LOSS_DECIMALS, sharingArmRecord, type SharingFile } from "../../lib/runs/precomputed.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "sharing");

type Pair = [number, number];
interface StoredArm {
  label: string;
  parameters: number;
  tokensPerSecond: number;
  trainingSeconds: number;
  finalValBitsPerByte: number | null;
  steps: Pair[];
  evals: Pair[];
}

const experiments: Record<string, unknown> = {};
const missing: string[] = [];
for (const { id } of SHARING_EXPERIMENTS) {
  const file = join(dir, `${id}.json`);
  if (!existsSync(file)) {
    missing.push(id);
    continue;
  }
  let record: { arms: StoredArm[] } & Record<string, unknown>;
  try {
    record = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`data/runs/sharing/${id}.json is not valid JSON: ${(e as Error).message}`);
  }
  experiments[id] = {
    ...record,
    arms: record.arms.map((a) => ({
      ...a,
      steps: a.steps.map(([step, loss]) => ({ step, loss })),
      evals: a.evals.map(([step, valBitsPerByte]) => ({ step, valBitsPerByte }))
    })),
    // Every arm at every seed as a run record (lib/runs/precomputed.ts), for the page's "Re-run and check".
    checks: (record as unknown as SharingFile).arms.flatMap((a, arm) =>
      (a.seeds ?? []).map((s) => ({ label: `${a.label}, seed ${s.seed}`, record: sharingArmRecord(record as unknown as SharingFile, arm, s.seed), lossDecimals: FIGURE_LOSS_DECIMALS }))
    )
  };
}

process.stdout.write(JSON.stringify({ experiments, missing }));
