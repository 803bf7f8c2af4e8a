// stlm bench: training throughput of a preset, beside the PyTorch reference's shape.
import { BENCH_ENTROPY_BYTES, BENCH_PRESETS, benchContextProblem, LOCAL_BENCH_PRESETS, LOCAL_BENCH_WINDOW, runBench } from "../eval/bench.js";
import { initNode } from "../node/runtime.js";
import { loadCheckpointFile } from "../node/files.js";
import { labModelFromCheckpoint } from "../train/checkpoint.js";
import { setKernelThreads, setMatMulEngine, unregisterKernelOverrides } from "../kernels.js";
import { availableCores, nodeWorkerHost } from "../node/threads.js";
import { CTRL } from "../threads/tasks.js";
import { PRESETS } from "../config.js";
import type { PooledConfig } from "../models/pooled.js";
import { TOKENIZER_FREE_PRESETS, tokenizerFreeConfig } from "../experiments/tokenizer-free.js";
import { BATCH_FLAG, formatDuration, parseFlags, progressLine, UsageError, type FlagSpec } from "./args.js";
import type { TrainEvent } from "../train/trainer.js";

// What a bench can allocate. The wasm backend's heap is at most 4 GiB (wasm32),
// and a training step keeps, per layer, several arrays of batch x heads x ctx^2
// attention scores (scores, probabilities and their gradients) beside
// activations that grow with batch x ctx. Measured peak memory (micro, one
// step, Node 20, lib/kernels.ts overrides): --batch 1 --ctx 2048 2.3 GB,
// --batch 16 --ctx 512 3.1 GB, --batch 56 --ctx 256 3.8 GB, and --batch 2
// --ctx 2048, --batch 256 --ctx 128 abort; nano at --batch 1 --ctx 4096 fails
// with "null function or function signature mismatch". tfjs's stock kernels
// hold about 1.7x as much per position (--stock-kernels --batch 48 --ctx 256
// aborts). stepBytes below fits these within 10%.

/** The most a bench step may be estimated to hold: wasm's 4 GiB heap less headroom for the estimate's error. */
export const STEP_BYTES_LIMIT = 3.75 * 2 ** 30;
/** The longest --ctx: at 4096 one row's attention scores alone outgrow the heap (see above). */
export const MAX_BENCH_CTX = 2048;

export const BENCH_HELP = `stlm bench [--preset micro] [--ctx N] [--batch N] [--steps 10] [--warmup 3]
           [--threads N] [--loop N] [--backend wasm|cpu] [--matmul gemm|xnnpack] [--stock-kernels] [--profile] [--teacher DIR] [--json]

Median training step time (forward + backward + AdamW update) and tokens/s (bytes/s)
on random bytes, with the backend, threads and model shape. The default is the
model of shared/bench/reference_torch.py; --preset pooled-stride4 is the model of
scripts/reference_pooled_torch.py (512 bytes of context), --preset local-stride4
the local-stack model of scripts/reference_localstack_torch.py (128 bytes of
context; its --ctx must be a multiple of its ${LOCAL_BENCH_WINDOW}-byte attention window).
local-word and local-entropy cut the same model's chunks at SpaceByte's word
starts and where a byte trigram's entropy is high; on random bytes word chunks
average about 5 bytes, and the trigram is counted on the first ${BENCH_ENTROPY_BYTES / 1024} KiB of the
bench's own random bytes, so entropy chunks average about 4 bytes, at random
places. Presets: ${BENCH_PRESETS.join(", ")}.
--threads N (1 to ${CTRL.maxThreads}; default: every core, here ${availableCores()}) times the step at 1, 2, ...
N threads, one after the other, and reports each with its speed-up over one
thread; the lab's wasm kernels (matrix products, fused layers, AdamW) split each
task by blocks of outputs, so every thread count computes the same bits. The
loop, the profile and the top-level figures are those at N threads.
--ctx (2 to ${MAX_BENCH_CTX}) and --batch (1 to 1024) change the context and rows
per step (pass the same to the PyTorch program); a shape whose training step
would not fit wasm's 4 GiB heap is refused before it starts. --steps (1 to
100000) steps are timed after --warmup (0 to 10000) untimed ones. Then --loop
N steps (default: --steps; 0 skips it) run through the real training loop
(Trainer.run(): sampled batches, the loss read back every step, each event
turned into stlm train's metrics and progress lines), reported as loop
tokens/s over the loop's wall time and its ratio to the timed step's. --profile
adds a per-kernel time table of one step, and at more than one thread the
kernel threads' tasks: calls, time, and time the calling thread waited at the
barrier for the other threads, with each worker's busy time, and the step's
serial time: each top-level tfjs kernel call's time outside the pool, by kernel,
and the time outside any kernel call (the tape, backprop, JavaScript).
--matmul xnnpack multiplies with tfjs's XNNPACK instead of lib/wasm/simd.ts;
--stock-kernels runs tfjs's own wasm kernels instead of lib/kernels.ts's
overrides; both measure what the lab's kernels gain.
--teacher DIR times the same student twice, one after the other: plain steps, then
distilled steps from the frozen teacher in DIR (a byte or local-stack run folder;
forward KL, T = 1, alpha 0.5), and reports both and their ratio. The student's
context must not exceed the teacher's (data/runs/distill/teacher reads 64 bytes:
stlm bench --preset nano --ctx 64 --teacher data/runs/distill/teacher).`;

export const BENCH_FLAGS: FlagSpec = {
  preset: "string",
  // The median of the timed steps is reported; warmup steps run first, untimed
  // (the first steps compile kernels and grow the heap).
  steps: { kind: "int", min: 1, max: 100_000, example: 10 },
  warmup: { kind: "int", min: 0, max: 10_000, note: "0: time from the first step", example: 3 },
  loop: { kind: "int", min: 0, max: 100_000, note: "0: no loop measurement", example: 10 },
  threads: { kind: "int", min: 1, max: CTRL.maxThreads, example: 2 },
  backend: "string",
  profile: "boolean",
  "stock-kernels": "boolean",
  json: "boolean",
  ctx: { kind: "int", min: 2, max: MAX_BENCH_CTX, reason: "a training step keeps batch x heads x ctx^2 attention scores per layer, and at 4096 they outgrow wasm's 4 GiB heap even at --batch 1", example: 512 },
  batch: BATCH_FLAG,
  matmul: "string",
  teacher: "string"
};

export async function benchCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, BENCH_FLAGS, "bench");
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm bench: --backend must be wasm or cpu in Node (got "${backend}")`);
  const matmul = (f.matmul as string | undefined) ?? "gemm";
  if (matmul !== "gemm" && matmul !== "xnnpack") throw new UsageError(`stlm bench: --matmul must be gemm or xnnpack (got "${matmul}")`);
  const preset = (f.preset as string | undefined) ?? "micro";
  if (!BENCH_PRESETS.includes(preset)) throw new UsageError(`stlm bench: unknown --preset "${preset}"; choose one of ${BENCH_PRESETS.join(", ")}`);
  checkBenchFits(preset, f.batch as number | undefined, f.ctx as number | undefined, Boolean(f["stock-kernels"]));
  const info = await initNode(backend);
  setMatMulEngine(matmul);
  if (f["stock-kernels"]) unregisterKernelOverrides();
  const most = backend === "wasm" && !f["stock-kernels"] ? ((f.threads as number | undefined) ?? availableCores()) : 1;
  const byThreads: { threads: number; tokensPerSecond: number; medianStepSeconds: number; speedup: number }[] = [];
  let r!: Awaited<ReturnType<typeof runBench>>;
  for (let t = 1; t <= most; t++) {
    const used = await setKernelThreads(t, nodeWorkerHost);
    if (used !== t) break; // no lab kernels here (e.g. --matmul xnnpack without SIMD): one thread only
    const last = t === most;
    r = await runBench({
      preset,
      ctx: f.ctx as number | undefined,
      batch: f.batch as number | undefined,
      steps: (f.steps as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 3,
      profile: last && Boolean(f.profile),
      loopSteps: last ? ((f.loop as number | undefined) ?? ((f.steps as number | undefined) ?? 10)) : 0,
      onLoopEvent: loopConsumer()
    });
    byThreads.push({ threads: t, tokensPerSecond: r.tokensPerSecond, medianStepSeconds: r.medianStepSeconds, speedup: Math.round((r.tokensPerSecond / (byThreads[0]?.tokensPerSecond ?? r.tokensPerSecond)) * 1000) / 1000 });
  }
  if (byThreads.length === 0) {
    r = await runBench({ preset, ctx: f.ctx as number | undefined, batch: f.batch as number | undefined, steps: (f.steps as number | undefined) ?? 10, warmup: (f.warmup as number | undefined) ?? 3, profile: Boolean(f.profile), loopSteps: (f.loop as number | undefined) ?? ((f.steps as number | undefined) ?? 10), onLoopEvent: loopConsumer() });
  }
  let distillation: Record<string, unknown> | undefined;
  if (f.teacher !== undefined) {
    const teacher = labModelFromCheckpoint(await loadCheckpointFile(String(f.teacher)));
    try {
      const kd = await runBench({ preset, ctx: f.ctx as number | undefined, batch: f.batch as number | undefined, steps: (f.steps as number | undefined) ?? 10, warmup: (f.warmup as number | undefined) ?? 3, teacher });
      distillation = {
        teacher: String(f.teacher),
        teacherParams: teacher.parameterCount(),
        plainTokensPerSecond: r.tokensPerSecond,
        distilledTokensPerSecond: kd.tokensPerSecond,
        distilledMedianStepSeconds: kd.medianStepSeconds,
        ratio: Math.round((kd.tokensPerSecond / r.tokensPerSecond) * 1000) / 1000
      };
    } catch (e) {
      throw new UsageError(`stlm bench: --teacher ${String(f.teacher)}: ${(e as Error).message.replace(/^Invalid config: \w+: /, "")}`);
    } finally {
      teacher.dispose();
    }
  }
  const out = { ...r, simd: info.simd, threads: info.threads, kernelThreads: byThreads.length ? byThreads[byThreads.length - 1].threads : 1, ...(byThreads.length > 1 ? { byThreads } : {}), kernels: f["stock-kernels"] ? "stock" : "lib/kernels.ts overrides", ...(distillation ? { distillation } : {}) };
  if (f.json) {
    process.stdout.write(JSON.stringify(out) + "\n");
    return;
  }
  const { profile, threadProfile, ...rest } = out;
  for (const [k, v] of Object.entries(rest)) process.stdout.write(`${k}: ${typeof v === "object" ? JSON.stringify(v) : v}\n`);
  if (profile) {
    process.stdout.write(`\nkernel                        ms  calls  share\n`);
    for (const p of profile.slice(0, 25)) process.stdout.write(`${p.kernel.padEnd(24)} ${p.ms.toFixed(1).padStart(8)} ${String(p.calls).padStart(6)} ${(p.share * 100).toFixed(1).padStart(5)}%\n`);
  }
  if (threadProfile) {
    process.stdout.write(`\nkernel threads (${threadProfile.threads}), one step of ${threadProfile.stepMs.toFixed(1)} ms\ntask                 ms  calls  barrier wait ms\n`);
    for (const p of threadProfile.tasks) process.stdout.write(`${p.task.padEnd(14)} ${p.ms.toFixed(1).padStart(8)} ${String(p.calls).padStart(6)} ${p.waitMs.toFixed(1).padStart(10)}\n`);
    process.stdout.write(`outside the pool (tfjs's own kernels, JavaScript): ${(threadProfile.stepMs - threadProfile.tasks.reduce((a, p) => a + p.ms, 0)).toFixed(1)} ms\n`);
    process.stdout.write(`workers' busy ms: ${threadProfile.workerBusyMs.map((x) => x.toFixed(1)).join(", ")}\n`);
    const sp = threadProfile.serial;
    process.stdout.write(
      `\nserial time of the same step: ${(sp.inKernelsMs + sp.outsideKernelsMs).toFixed(1)} ms, ${sp.inKernelsMs.toFixed(1)} in ${sp.kernelCalls} top-level tfjs kernel calls ` +
        `(their time outside the pool) and ${sp.outsideKernelsMs.toFixed(1)} outside any (the tape, backprop, JavaScript)\nkernel                 calls   wall ms  pool ms  serial ms\n`
    );
    for (const k of sp.byKernel.slice(0, 15)) process.stdout.write(`${k.kernel.padEnd(22)} ${String(k.calls).padStart(5)} ${k.ms.toFixed(2).padStart(9)} ${k.poolMs.toFixed(2).padStart(8)} ${k.serialMs.toFixed(2).padStart(10)}\n`);
  }
}

/**
 * The work stlm train does for each event besides writing it: the metrics
 * record as a JSON line and the progress line (both formatted, neither written:
 * appending a line to a file costs microseconds against a step's hundreds of
 * milliseconds).
 */
function loopConsumer(): (e: TrainEvent) => void {
  let chars = 0;
  return (e) => {
    if (e.kind !== "step") return;
    chars += JSON.stringify({ step: e.step, loss: e.loss, lr: e.lr, dropout: e.dropout, gradNorm: e.gradNorm, tokensPerSecond: Math.round(e.tokensPerSecond), elapsedMs: Math.round(e.elapsedMs) }).length;
    chars += progressLine(e.step, e.step, [`loss ${e.loss.toFixed(3)}`, `${Math.round(e.tokensPerSecond).toLocaleString("en-US")} bytes/s`, `ETA ${formatDuration(e.etaMs)}`]).length;
  };
}

/** Estimated bytes one training step of a transformer holds: attention scores plus per-position activations. */
function transformerBytes(layers: number, heads: number, dModel: number, rows: number, ctx: number, stock: boolean): number {
  const perScore = 32; // 8 float32 arrays of batch x heads x ctx^2 per layer
  const perPositionPerWidth = stock ? 432 : 256; // floats per position per unit of width per layer, x 4 bytes
  return layers * rows * ctx * (perScore * heads * ctx + perPositionPerWidth * dModel);
}

/** Estimated bytes one `runBench` training step holds on the wasm backend. */
export function stepBytes(preset: string, rows: number, ctx: number, stockKernels = false): number {
  const plain = PRESETS[preset];
  if (plain) return transformerBytes(plain.model.nLayer, plain.model.nHead, plain.model.dModel, rows, ctx, stockKernels);
  if (LOCAL_BENCH_PRESETS.includes(preset)) {
    // A local stack: its byte layers attend within a fixed window, so a step grows
    // with the bytes of the batch, plus the one-hot gather and spread matrices of
    // ctx x chunk slots per row. Measured peak memory (local-stride4, one step,
    // Node 20): --batch 16 --ctx 128 0.50 GB, --batch 64 --ctx 128 1.36 GB,
    // --batch 1 --ctx 2048 0.57 GB, --batch 4 --ctx 2048 1.60 GB; stock kernels
    // --batch 16 0.69 GB, --batch 64 2.02 GB: about 140 KB a byte (220 KB stock)
    // and 80 bytes a byte per chunk slot. Slots at 4 bytes a chunk.
    const slots = Math.min(ctx, Math.max(8, Math.ceil(Math.ceil(ctx / 4) / 8) * 8));
    return rows * ctx * ((stockKernels ? 220_000 : 140_000) + 80 * slots);
  }
  // A stride-pooled model: its core attends over ctx / 4 chunk slots (padded to 8,
  // as chunkBatch lays them out); the byte encoder and decoder add about 56 KB per
  // byte (106 KB with stock kernels; measured at --batch 4 to 16, --ctx 2048).
  const c = tokenizerFreeConfig("stride", undefined, ctx) as PooledConfig;
  const slots = Math.ceil(Math.ceil((ctx + 1) / c.stride) / 8) * 8;
  return transformerBytes(c.core.nLayer, c.core.nHead, c.core.dModel, rows, slots, stockKernels) + rows * ctx * (stockKernels ? 106_000 : 56_000);
}

/**
 * Refuse, before building anything, a preset, batch and context whose training
 * step would not fit wasm's heap: it would fail deep inside tfjs ("Aborted()",
 * "Invalid typed array length") after minutes of setup. The cpu backend holds
 * the same arrays in JavaScript memory, and at these sizes takes hours a step,
 * so the same bound serves it.
 */
export function checkBenchFits(preset: string, batch: number | undefined, ctx: number | undefined, stockKernels = false): void {
  const problem = benchContextProblem(preset, ctx);
  if (problem) throw new UsageError(`stlm bench: ${problem}`);
  const plain = PRESETS[preset];
  const pooled = TOKENIZER_FREE_PRESETS[preset];
  const rows = batch ?? plain?.train.batchSize ?? pooled?.train.batchSize ?? 1;
  const t = ctx ?? plain?.model.blockSize ?? (LOCAL_BENCH_PRESETS.includes(preset) ? 128 : 512);
  const bytes = stepBytes(preset, rows, t, stockKernels);
  if (bytes <= STEP_BYTES_LIMIT) return;
  const most = Math.floor(STEP_BYTES_LIMIT / stepBytes(preset, 1, t, stockKernels));
  const gib = (x: number) => (x / 2 ** 30).toFixed(2);
  throw new UsageError(
    `stlm bench: --preset ${preset} at --batch ${rows} --ctx ${t}${stockKernels ? " --stock-kernels" : ""} would hold about ${gib(bytes)} GiB in one training step ` +
      `(attention scores grow with batch x ctx^2), more than the ${gib(STEP_BYTES_LIMIT)} GiB that fit wasm's 4 GiB heap with headroom; ` +
      (most > 1 ? `use --batch ${most} or less at this context, or a shorter --ctx` : most === 1 ? `use --batch 1 at this context, or a shorter --ctx` : `use a shorter --ctx`)
  );
}
