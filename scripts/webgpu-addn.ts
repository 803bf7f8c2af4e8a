// tfjs-webgpu's AddN of 8 or more tensors, shown in a real browser: Debian's Chromium,
// headless, WebGPU on SwiftShader (test/e2e/harness.ts's launchBrowser({ webgpu: true })).
//
//   node --import tsx scripts/webgpu-addn.ts [--json data/runs/agreement/webgpu-addn.json]
//
// It bundles scripts/webgpu-addn/page.ts (tfjs, tfjs-backend-webgpu and the lab's
// lib/ from node_modules and the repo; esbuild) into a temporary folder with a one-line
// HTML page, serves it with scripts/serve.mjs and runs, on cpu and then on webgpu:
// tf.addN of the scalars 1..n for n = 2, 7, 8, 20, with a kernel queued just before and
// just after each; the lab's addN (lib/add-n.ts) the same way; and 4 AdamW steps of
// /bench's check model through lib/train/optim.ts. It prints every number, the Dawn
// warnings the page logged, and which results are wrong (not within 1e-5 relative of cpu).
// The lab's globalNorm summed a model's 20 gradient norms with tf.addN until this was
// found; on WebGPU that sum and the kernels queued with it were lost (lib/add-n.ts).
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { parseFlags } from "../lib/cli/args.js";
import { LAB_IDENTITY } from "../src/vendor/lab-identity.js";
import { launchBrowser } from "../test/e2e/harness.js";

const f = parseFlags(process.argv.slice(2), { json: "string" }, "webgpu-addn");
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = await mkdtemp(path.join(tmpdir(), "stlm-webgpu-addn-"));
await build({ entryPoints: [path.join(here, "webgpu-addn", "page.ts")], bundle: true, format: "esm", outfile: path.join(dir, "page.js"), logLevel: "warning" });
await writeFile(path.join(dir, "index.html"), '<!doctype html><meta charset="utf-8"><title>webgpu addN</title><script type="module" src="page.js"></script>\n');
const server = spawn(process.execPath, [path.join(here, "serve.mjs"), "--port", "0", "--root", dir, "--plain"], { stdio: ["ignore", "pipe", "inherit"] });
const url: string = await new Promise((resolve, reject) => {
  server.stdout!.on("data", (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) resolve(m[1]); });
  server.on("exit", (code) => reject(new Error(`serve.mjs exited (${code})`)));
});
const session = await launchBrowser({ webgpu: true });
const warnings = new Set<string>();
type Result = { backend: string; maxStorageBuffersPerShaderStage: number | null; tfjsAddN: Sum[]; labAddN: Sum[]; adamw: { parameters: number; steps: { loss: number; norm: number }[] }; tensorsLeft: number };
type Sum = { n: number; sum: number; expected: number; before: number; beforeExpected: number; after: number; afterExpected: number };
const results: Record<string, Result> = {};
let device = "";
try {
  const page = await session.context.newPage();
  page.on("console", (m) => { if (/storage buffers|Invalid ComputePipeline/.test(m.text())) warnings.add(m.text().split("\n")[0]); });
  await page.goto(url + "index.html");
  await page.waitForFunction(() => (globalThis as Record<string, unknown>).pageReady === true, null, { timeout: 60_000 });
  device = await page.evaluate(async () => {
    const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu?.requestAdapter();
    return a?.info ? [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(" ") : "no adapter";
  });
  for (const backend of ["cpu", "webgpu"]) results[backend] = await page.evaluate((b) => (globalThis as unknown as { runOn(b: string): Promise<Result> }).runOn(b), backend);
} finally {
  await session.close();
  server.kill();
  await rm(dir, { recursive: true, force: true });
}

const wrong = (got: number, want: number) => !(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)));
const findings: string[] = [];
for (const [backend, r] of Object.entries(results)) {
  for (const [which, sums] of [["tf.addN", r.tfjsAddN], ["lib addN", r.labAddN]] as const) {
    for (const s of sums) {
      const bad = [wrong(s.sum, s.expected) && `sum ${s.sum} (expected ${s.expected})`, wrong(s.before, s.beforeExpected) && `kernel before it ${s.before} (expected ${s.beforeExpected})`, wrong(s.after, s.afterExpected) && `kernel after it ${s.after} (expected ${s.afterExpected})`].filter(Boolean);
      console.log(`${backend} ${which} of ${s.n}: sum ${s.sum}, before ${s.before}, after ${s.after}${bad.length ? `  WRONG: ${bad.join("; ")}` : ""}`);
      if (bad.length) findings.push(`${backend} ${which} of ${s.n} scalars: ${bad.join("; ")}`);
    }
  }
}
const ref = results.cpu.adamw.steps;
results.webgpu.adamw.steps.forEach((s, k) => {
  const dl = Math.abs(s.loss - ref[k].loss) / ref[k].loss, dn = Math.abs(s.norm - ref[k].norm) / ref[k].norm;
  console.log(`AdamW step ${k + 1}: loss cpu ${ref[k].loss} webgpu ${s.loss} (rel ${dl.toExponential(2)}); norm cpu ${ref[k].norm} webgpu ${s.norm} (rel ${dn.toExponential(2)})`);
  if (dl > 1e-5 || dn > 1e-5) findings.push(`AdamW step ${k + 1}: webgpu loss ${s.loss} / norm ${s.norm} against cpu ${ref[k].loss} / ${ref[k].norm}`);
});
console.log(`device: ${device}; webgpu maxStorageBuffersPerShaderStage ${results.webgpu.maxStorageBuffersPerShaderStage}; tensors left cpu ${results.cpu.tensorsLeft}, webgpu ${results.webgpu.tensorsLeft}`);
for (const w of warnings) console.log(`page warning: ${w}`);
console.log(findings.length ? `wrong:\n  ${findings.join("\n  ")}` : "nothing wrong");
if (f.json) {
  const file = String(f.json);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({
    what: "tfjs-webgpu 4.22's AddN in headless Chromium on SwiftShader's WebGPU: tf.addN of the scalars 1..n with a kernel queued before and after it, the lab's addN (lib/add-n.ts) the same way, and 4 AdamW steps of /bench's check model through lib/train/optim.ts, on cpu and on webgpu.",
    command: "node --import tsx scripts/webgpu-addn.ts --json data/runs/agreement/webgpu-addn.json",
    measuredAt: new Date().toISOString(),
    lab: { version: LAB_IDENTITY.version, commit: LAB_IDENTITY.commit },
    device,
    warnings: [...warnings],
    wrong: findings,
    results
  }, null, 1) + "\n");
  console.log(`wrote ${file}`);
}
