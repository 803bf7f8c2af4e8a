// The bench page's precomputed thread figures: Node and PyTorch from
// data/runs/bench/threads.jsonl (scripts/threads-bench.sh), headless Chromium plain and
// cross-origin isolated from data/runs/bench/browser.json (scripts/browser-bench.ts),
// summarised by lib/eval/thread-table.ts. A missing file gives no rows and says so.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseThreadBench, threadRows } from "../../lib/eval/thread-table.js";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), "data", "runs", "bench");
const nodeFile = join(dir, "threads.jsonl");
const browserFile = join(dir, "browser.json");
const node = existsSync(nodeFile) ? threadRows(parseThreadBench(await readFile(nodeFile, "utf8"))) : [];
const browser = existsSync(browserFile) ? JSON.parse(await readFile(browserFile, "utf8")) : null;
process.stdout.write(JSON.stringify({ node, browser, missing: { node: node.length === 0, browser: browser === null } }));
