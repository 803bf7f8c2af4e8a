// The evaluation page's precomputed results: `stlm eval` itself, run on the
// precomputed checkpoint (data/runs/nano-austen) on a large subset (64 KiB of each
// test split, 1,000 minimal pairs, all 915 next-sentence items; the full sets take
// about four times as long on a shared 2-core machine) and on the page's default
// subset, written to data/runs/evaluate/nano-austen.json:
//
//   node --import tsx scripts/eval-precomputed.ts
//
// The page shows the large subset's figures first; its live evaluation of the same
// checkpoint at the default subset is set beside the subset figures here.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { REPO_ROOT } from "../lib/node/data.js";
import { DEFAULT_EVAL_SIZE } from "../lib/eval/evaluation.js";

const OUT = path.join(REPO_ROOT, "data", "runs", "evaluate", "nano-austen.json");
const CHECKPOINT = "data/runs/nano-austen";

function stlmEval(args: string[]): Promise<{ command: string; seconds: number; result: unknown }> {
  const argv = ["bin/stlm.js", "eval", "--checkpoint", CHECKPOINT, "--json", ...args];
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, argv, { cwd: REPO_ROOT, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`stlm eval ${args.join(" ")} failed: ${stderr}`));
      resolve({ command: `stlm eval --checkpoint ${CHECKPOINT} --json ${args.join(" ")}`.trim(), seconds: Math.round((performance.now() - t0) / 100) / 10, result: JSON.parse(stdout) });
    })
  );
}

const subset = await stlmEval(["--max-bytes", String(DEFAULT_EVAL_SIZE.bytes), "--subset", String(DEFAULT_EVAL_SIZE.items)]);
process.stderr.write(`${subset.command}: ${subset.seconds} s\n`);
const large = await stlmEval(["--max-bytes", "65536", "--subset", "1000"]);
process.stderr.write(`${large.command}: ${large.seconds} s\n`);
await mkdir(path.dirname(OUT), { recursive: true });
const checkpointSha256 = createHash("sha256").update(await readFile(path.join(REPO_ROOT, CHECKPOINT, "checkpoint.safetensors"))).digest("hex");
await writeFile(OUT, JSON.stringify({ madeBy: "node --import tsx scripts/eval-precomputed.ts", checkpoint: CHECKPOINT, checkpointSha256, createdAt: new Date().toISOString(), large, subset }, null, 1) + "\n");
process.stderr.write(`wrote ${OUT}\n`);
