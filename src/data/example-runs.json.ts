// The worked example of the guide "Writing your own report": every run folder under
// data/runs/example/ (made by scripts/example-report-runs.sh with the stlm CLI),
// read as the lab's run record (lib/runs/record.ts), labelled with its folder name. A report of your own copies
// this loader and changes RUNS to its folder.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readRunRecord } from "../../lib/node/runrecord.js";

const RUNS = "example";
const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", RUNS);

const folders = existsSync(dir) ? (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];
const records = [];
for (const name of folders) records.push(await readRunRecord(join(dir, name), { origin: "precomputed", label: name }));
process.stdout.write(JSON.stringify({ folder: `data/runs/${RUNS}`, records }));
