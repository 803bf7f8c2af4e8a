// stlm bench: training throughput of a preset, beside the PyTorch reference's shape.
import { runBench } from "../bench.js";
import { initNode } from "../node/runtime.js";
import { unregisterKernelOverrides } from "../kernels.js";
import { parseFlags, UsageError } from "./args.js";

export const BENCH_HELP = `stlm bench [--preset micro] [--steps 10] [--warmup 3] [--backend wasm|cpu] [--profile] [--stock-kernels] [--json]

Median training step time (forward + backward + AdamW update) and tokens/s on
random bytes, with the backend, threads and model shape: the same model as
shared/bench/reference_torch.py. --profile adds a per-kernel time table of one step.
--stock-kernels runs tfjs's own wasm kernels instead of lib/kernels.ts's overrides,
to measure what the overrides gain.`;

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { preset: "string", steps: "number", warmup: "number", backend: "string", profile: "boolean", "stock-kernels": "boolean", json: "boolean" }, "bench");
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm bench: --backend must be wasm or cpu in Node (got "${backend}")`);
  const info = await initNode(backend);
  if (f["stock-kernels"]) unregisterKernelOverrides();
  const r = await runBench({
    preset: (f.preset as string | undefined) ?? "micro",
    steps: (f.steps as number | undefined) ?? 10,
    warmup: (f.warmup as number | undefined) ?? 3,
    profile: Boolean(f.profile)
  });
  const out = { ...r, simd: info.simd, threads: info.threads, kernels: f["stock-kernels"] ? "stock" : "lib/kernels.ts overrides" };
  if (f.json) {
    process.stdout.write(JSON.stringify(out) + "\n");
    return;
  }
  const { profile, ...rest } = out;
  for (const [k, v] of Object.entries(rest)) process.stdout.write(`${k}: ${typeof v === "object" ? JSON.stringify(v) : v}\n`);
  if (profile) {
    process.stdout.write(`\nkernel                        ms  calls  share\n`);
    for (const p of profile.slice(0, 25)) process.stdout.write(`${p.kernel.padEnd(24)} ${p.ms.toFixed(1).padStart(8)} ${String(p.calls).padStart(6)} ${(p.share * 100).toFixed(1).padStart(5)}%\n`);
  }
}
