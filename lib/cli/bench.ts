// stlm bench: training throughput of a preset, beside the PyTorch reference's shape.
import { BENCH_PRESETS, runBench } from "../bench.js";
import { initNode } from "../node/runtime.js";
import { setMatMulEngine, unregisterKernelOverrides } from "../kernels.js";
import { parseFlags, UsageError } from "./args.js";

export const BENCH_HELP = `stlm bench [--preset micro] [--ctx N] [--batch N] [--steps 10] [--warmup 3]
           [--backend wasm|cpu] [--matmul gemm|xnnpack] [--stock-kernels] [--profile] [--json]

Median training step time (forward + backward + AdamW update) and tokens/s (bytes/s)
on random bytes, with the backend, threads and model shape. The default is the
model of shared/bench/reference_torch.py; --preset pooled-stride4 is the model of
scripts/reference_pooled_torch.py (512 bytes of context). Presets: ${BENCH_PRESETS.join(", ")}.
--ctx and --batch change the context and rows per step (pass the same to the
PyTorch program). --profile adds a per-kernel time table of one step.
--matmul xnnpack multiplies with tfjs's XNNPACK instead of lib/wasm/simd.ts;
--stock-kernels runs tfjs's own wasm kernels instead of lib/kernels.ts's
overrides; both measure what the lab's kernels gain.`;

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, { preset: "string", steps: "number", warmup: "number", backend: "string", profile: "boolean", "stock-kernels": "boolean", json: "boolean", ctx: "number", batch: "number", matmul: "string" }, "bench");
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm bench: --backend must be wasm or cpu in Node (got "${backend}")`);
  const matmul = (f.matmul as string | undefined) ?? "gemm";
  if (matmul !== "gemm" && matmul !== "xnnpack") throw new UsageError(`stlm bench: --matmul must be gemm or xnnpack (got "${matmul}")`);
  const preset = (f.preset as string | undefined) ?? "micro";
  if (!BENCH_PRESETS.includes(preset)) throw new UsageError(`stlm bench: unknown --preset "${preset}"; choose one of ${BENCH_PRESETS.join(", ")}`);
  const info = await initNode(backend);
  setMatMulEngine(matmul);
  if (f["stock-kernels"]) unregisterKernelOverrides();
  const r = await runBench({
    preset,
    ctx: f.ctx as number | undefined,
    batch: f.batch as number | undefined,
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
