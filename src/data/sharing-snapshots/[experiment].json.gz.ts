// One sharing experiment's training snapshots (data/runs/sharing/snapshots/ID.json.gz,
// made by scripts/sharing-snapshots.ts: its first seed, both arms, re-run with
// snapshots), checked against the figure's file data/runs/sharing/ID.json
// (lib/runs/precomputed-snapshots.ts) and passed on gzipped: the page loads an
// experiment's file when the reader picks it and gunzips it (lib/text/data.ts).
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { SHARING_EXPERIMENTS } from "../../../lib/experiments/sharing.js";
import { checkSharingSnapshots } from "../../../lib/runs/precomputed-snapshots.js";

const { values } = parseArgs({ options: { experiment: { type: "string" } } });
const id = values.experiment ?? "";
if (!SHARING_EXPERIMENTS.some((e) => e.id === id)) throw new Error(`no sharing experiment "${id}"; there are ${SHARING_EXPERIMENTS.map((e) => e.id).join(", ")}`);
const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", ".."), "data", "runs", "sharing");
const file = join(dir, "snapshots", `${id}.json.gz`);
if (!existsSync(file)) {
  // No snapshots yet: the page says so and how to make them.
  process.stdout.write(gzipSync(JSON.stringify({ available: false, reason: `data/runs/sharing/snapshots/${id}.json.gz has not been made (node --import tsx scripts/sharing-snapshots.ts --only ${id}).` })));
} else {
  const bytes = await readFile(file);
  const figure = JSON.parse(await readFile(join(dir, `${id}.json`), "utf8"));
  checkSharingSnapshots(JSON.parse(gunzipSync(bytes).toString("utf8")), figure, `data/runs/sharing/snapshots/${id}.json.gz`);
  process.stdout.write(bytes);
}
