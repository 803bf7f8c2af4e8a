// Training throughput of a preset (forward + backward + AdamW update) on random
// bytes, in the same shape as shared/bench/reference_torch.py, so a Node run, a
// browser run and the PyTorch reference can be put side by side. No Node APIs:
// `stlm bench` and the browser's bench page both call this.
import { PRESETS, presetConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { createModel, type LabModel } from "../models/models.js";
import type { PooledConfig } from "../models/pooled.js";
import { LocalStackLM, type LocalStackConfig } from "../models/localstack.js";
import { trainEntropyModel } from "../text/entropy.js";
import { LOCAL_STACK_KINDS, TOKENIZER_FREE_PRESETS, tokenizerFreeConfig, type LocalStackKind } from "../experiments/tokenizer-free.js";
import { kernelPool, matMulInfo } from "../kernels.js";
import type { KernelPool, TaskStats } from "../threads/pool.js";
import { Rng } from "../rng.js";
import { tf } from "../tf.js";
import { DEFAULT_DISTILL, DistilledStudent, type DistillConfig } from "../train/distill.js";
import { Trainer, type TrainEvent } from "../train/trainer.js";
import { BatchSampler } from "../text/data.js";

/** The local-stack presets `runBench` takes (lib/models/localstack.ts): stride, SpaceByte word and entropy boundaries. */
export const LOCAL_BENCH_PRESETS = ["local-stride4", "local-word", "local-entropy"];

/** The presets `runBench` takes: the plain byte presets, the stride-pooled ones and the local stacks. */
export const BENCH_PRESETS = [...Object.keys(PRESETS), "pooled-stride4", "pooled-stride4-causal", ...LOCAL_BENCH_PRESETS];

/** The local stacks' attention window: their --ctx must be a multiple of it. */
export const LOCAL_BENCH_WINDOW = (tokenizerFreeConfig("local-stride") as LocalStackConfig).localWindow;

/** Bytes the local-entropy bench counts its trigram on: the first input bytes the bench draws. */
export const BENCH_ENTROPY_BYTES = 1 << 14;

/** The local-stack kind of a bench preset, or undefined when it is not one. */
function localKind(preset: string): LocalStackKind | undefined {
  const kind = Object.hasOwn(TOKENIZER_FREE_PRESETS, preset) ? TOKENIZER_FREE_PRESETS[preset].kind : undefined;
  return LOCAL_BENCH_PRESETS.includes(preset) && LOCAL_STACK_KINDS.includes(kind as LocalStackKind) ? (kind as LocalStackKind) : undefined;
}

/** Why a context does not suit a bench preset, or null when it does (the local stacks need a multiple of their window). */
export function benchContextProblem(preset: string, ctx: number | undefined): string | null {
  if (ctx === undefined || !localKind(preset) || (ctx >= LOCAL_BENCH_WINDOW && ctx % LOCAL_BENCH_WINDOW === 0)) return null;
  const below = Math.max(LOCAL_BENCH_WINDOW, Math.floor(ctx / LOCAL_BENCH_WINDOW) * LOCAL_BENCH_WINDOW);
  const above = Math.ceil(ctx / LOCAL_BENCH_WINDOW) * LOCAL_BENCH_WINDOW;
  const tries = below === above || ctx < LOCAL_BENCH_WINDOW ? `${below}` : `${below} or ${above}`;
  return `--preset ${preset} needs a context that is a multiple of ${LOCAL_BENCH_WINDOW} bytes (its byte layers attend in blocks of their ${LOCAL_BENCH_WINDOW}-byte window); got ${ctx}: try ${tries}`;
}

/** A batch of random bytes, as every bench draws them (x and y alternately from one stream). */
function randomBatch(rng: Rng, b: number, t: number, vocab: number): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(b * t);
  const y = new Int32Array(b * t);
  for (let i = 0; i < x.length; i++) {
    x[i] = rng.int(vocab);
    y[i] = rng.int(vocab);
  }
  return { x, y };
}

export interface BenchOptions {
  /** A plain byte preset (micro, nano, ...), pooled-stride4(-causal), or a local stack (local-stride4, local-word, local-entropy). */
  preset?: string;
  /** Bytes of context per row (default: the preset's; 512 for the pooled ones, 128 for the local stacks, whose context must be a multiple of 64). */
  ctx?: number;
  /** Rows per step (default: the preset's). */
  batch?: number;
  steps?: number;
  warmup?: number;
  /** Also time each kernel of one step. */
  profile?: boolean;
  /** Called after each timed step, e.g. to show progress. */
  onStep?: (done: number, total: number) => void;
  /**
   * After the timed steps, also run this many steps through the real training
   * loop (Trainer.run(): batches sampled from a byte array, the loss read back,
   * the event stream consumed by `onLoopEvent`) and report its tokens/s beside
   * the step's. 0: skip (the default).
   */
  loopSteps?: number;
  /** What consumes each loop event (stlm bench passes the work stlm train does per event: its metrics and progress lines). */
  onLoopEvent?: (e: TrainEvent) => void | Promise<void>;
  /** Time distilled steps from this frozen teacher (lib/train/distill.ts) instead of plain ones. */
  teacher?: LabModel;
  distill?: DistillConfig;
}

export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
  /** Of the kernels' summed time (nested scopes make the sum exceed the step time). */
  share: number;
}

export interface BenchResult {
  system: string;
  tfjs: string;
  backend: string;
  preset: string;
  /** The model's shape, named as the PyTorch reference programs name it. */
  model: Record<string, number | boolean>;
  params: number;
  steps: number;
  medianStepSeconds: number;
  tokensPerSecond: number;
  gflopPerStep: number;
  gflops: number;
  tensorsLeaked: number;
  /**
   * The real loop (BenchOptions.loopSteps): tokens/s over the loop's wall time,
   * first step to last event, and its ratio to tokensPerSecond.
   */
  loop?: { steps: number; tokensPerSecond: number; ratio: number };
  /** What multiplies matrices on the wasm backend (lib/kernels.ts), when it is the backend. */
  matmul?: { engine: string; relaxedSimd: boolean };
  profile?: KernelTime[];
  /** With profile: the kernel threads' tasks in one step (time, calls, barrier waits) and each worker's busy time. */
  threadProfile?: { threads: number; stepMs: number; tasks: TaskStats[]; workerBusyMs: number[]; serial: SerialProfile };
}

/**
 * Where the step's serial time goes: each top-level tfjs kernel call's wall time
 * and the part of it in the kernel threads' pool (the rest is serial: tfjs's
 * dispatch and bookkeeping, the kernel's own JavaScript, one-thread kernels), and
 * the step's time outside any kernel call (the gradient tape, backprop, the
 * model's JavaScript). Nested calls count in their caller's time.
 */
export interface SerialProfile {
  kernelCalls: number;
  /** Serial milliseconds inside kernel calls, and outside any. */
  inKernelsMs: number;
  outsideKernelsMs: number;
  byKernel: { kernel: string; calls: number; ms: number; poolMs: number; serialMs: number }[];
}

/** Run `step` with every top-level tfjs kernel call timed against the pool's task time (pool.startProfile must be on). */
async function withSerialProfile(pool: KernelPool, step: () => Promise<void>): Promise<{ stepMs: number; serial: SerialProfile }> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs: unknown) => unknown };
  const runKernel = engine.runKernel;
  const by = new Map<string, { calls: number; ms: number; poolMs: number }>();
  let depth = 0;
  engine.runKernel = function (this: unknown, name: string, inputs: unknown, attrs: unknown) {
    if (depth > 0) return runKernel.call(this, name, inputs, attrs);
    depth++;
    const p0 = pool.profiledMs();
    const t0 = performance.now();
    try {
      return runKernel.call(this, name, inputs, attrs);
    } finally {
      const e = by.get(name) ?? { calls: 0, ms: 0, poolMs: 0 };
      e.calls++;
      e.ms += performance.now() - t0;
      e.poolMs += pool.profiledMs() - p0;
      by.set(name, e);
      depth--;
    }
  };
  let stepMs: number;
  try {
    const t0 = performance.now();
    await step();
    stepMs = performance.now() - t0;
  } finally {
    engine.runKernel = runKernel;
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  const rows = [...by].map(([kernel, e]) => ({ kernel, calls: e.calls, ms: round(e.ms), poolMs: round(e.poolMs), serialMs: round(e.ms - e.poolMs) })).sort((a, b) => b.serialMs - a.serialMs);
  const inKernels = [...by.values()].reduce((a, e) => a + e.ms, 0);
  const poolAll = [...by.values()].reduce((a, e) => a + e.poolMs, 0);
  return {
    stepMs,
    serial: {
      kernelCalls: rows.reduce((n, r) => n + r.calls, 0),
      inKernelsMs: round(inKernels - poolAll),
      outsideKernelsMs: round(stepMs - inKernels),
      byKernel: rows
    }
  };
}

/** Multiply-adds of one training step x 2 x 3, counted as the PyTorch reference counts them. */
export function flopsPerStep(c: ModelConfig, batch: number): number {
  const headSize = c.dModel / c.nHead;
  const kv = c.nKvHead * headSize;
  const dense = c.nLayer * (2 * c.dModel * c.dModel + 2 * c.dModel * kv + 3 * c.dModel * c.ffnHidden) + c.dModel * c.vocabSize;
  const attention = c.nLayer * 2 * c.blockSize * c.dModel;
  return 3 * 2 * batch * c.blockSize * (dense + attention);
}

/** Multiply-adds of one training step of a pooled model x 2 x 3, counted the same way. */
export function pooledFlopsPerStep(c: PooledConfig, batch: number): number {
  const slots = Math.ceil(Math.ceil((c.byteWindow + 1) / c.stride) / 8) * 8; // chunk slots per row, as chunkBatch pads them
  const chunks = batch * slots;
  const bytes = chunks * c.maxChunk;
  const E = c.byteDim;
  const byteBlock = 4 * E * E + 3 * E * c.byteFfn + 2 * c.maxChunk * E;
  const k = c.core;
  const kv = k.nKvHead * (k.dModel / k.nHead);
  const core = k.nLayer * (2 * k.dModel * k.dModel + 2 * k.dModel * kv + 3 * k.dModel * k.ffnHidden + 2 * slots * k.dModel);
  const perByte = (c.encoderLayers + c.decoderLayers) * byteBlock + E * 258;
  const perChunk = E * k.dModel + core + k.dModel * c.maxChunk * E;
  return 3 * 2 * (bytes * perByte + chunks * perChunk);
}

/**
 * Chunk slots per row of the local stack for the stride strategy, as
 * LocalStackLM.forward lays them out: the chunks of a full row rounded up to a
 * multiple of 8 (at least 8, at most the core's context). Other strategies' counts
 * depend on the bytes: this gives the slots at a mean chunk of 4 bytes (what
 * local-entropy's threshold is calibrated to), and the bench counts them on its batch.
 */
export function localStackChunkSlots(c: LocalStackConfig): number {
  const chunks = Math.ceil(c.byteWindow / (c.strategy === "stride" ? c.stride : 4));
  return Math.min(c.core.blockSize, Math.max(8, Math.ceil(chunks / 8) * 8));
}

/** The chunk slots LocalStackLM.forward uses for a batch of byte ids [rows, T] (its rule, on the model's own spans). */
function chunkSlotsOf(model: LocalStackLM, x: Int32Array, rows: number, T: number): number {
  let most = 1;
  for (let b = 0; b < rows; b++) {
    const row = x.subarray(b * T, (b + 1) * T);
    let n = 0;
    while (n < T && row[n] < 256) n++;
    most = Math.max(most, model.spans(Uint8Array.from(row.subarray(0, n))).length);
  }
  return Math.min(model.config.core.blockSize, Math.max(8, Math.ceil(most / 8) * 8));
}

/**
 * Multiply-adds of one training step of a local-stack model x 2 x 3, counted as the
 * PyTorch references count them, with `chunkSlots` chunk slots per row (default
 * localStackChunkSlots). Per byte: each byte layer's dense maps (4 E^2 + 3 E F) and
 * its local attention over the 2W keys of [previous block, its block] that the
 * lab computes (masked ones too: 2 x 2W x E), and the tied head (E x 258). Per chunk
 * slot: global.in and global.out (2 E D) and the core's layers (dense maps and
 * attention over the row's slots). Per row: the one-hot products that gather each
 * chunk's last byte ([C, T] x [T, E]) and spread the core's output over the next
 * chunk's bytes ([T, C+1] x [C+1, E]), which the lab runs as dense matrix products.
 * Rotary positions, norms and the softmax are left out, as everywhere here.
 */
export function localStackFlopsPerStep(c: LocalStackConfig, batch: number, chunkSlots = localStackChunkSlots(c)): number {
  const T = c.byteWindow;
  const C = chunkSlots;
  const E = c.localDim;
  const byteLayer = 4 * E * E + 3 * E * c.localFfn + 2 * 2 * c.localWindow * E;
  const perByte = (c.encoderLayers + c.decoderLayers) * byteLayer + E * 258;
  const k = c.core;
  const kv = k.nKvHead * (k.dModel / k.nHead);
  const core = k.nLayer * (2 * k.dModel * k.dModel + 2 * k.dModel * kv + 3 * k.dModel * k.ffnHidden + 2 * C * k.dModel);
  const perChunk = 2 * E * k.dModel + core;
  const perRow = C * T * E + T * (C + 1) * E;
  return 3 * 2 * batch * (T * perByte + C * perChunk + perRow);
}

interface BenchModel {
  model: LabModel;
  train: TrainConfig;
  ctx: number;
  vocab: number;
  shape: Record<string, number | boolean>;
  flops: number;
  /** The local stacks: the chunk slots of a batch, to count FLOPs on the bench's own first batch. */
  chunkSlots?: (x: Int32Array) => number;
}

export function benchModel(preset: string, ctx: number | undefined, batch: number | undefined, steps: number): BenchModel {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a whole number >= 1 (got ${v})`);
  };
  positive("ctx", ctx);
  positive("batch", batch);
  const local = localKind(preset);
  if (local) {
    const problem = benchContextProblem(preset, ctx);
    if (problem) throw new RangeError(problem);
    const p = TOKENIZER_FREE_PRESETS[preset];
    // local-entropy's trigram is counted on the first bytes the bench draws (random
    // bytes: its threshold still gives chunks of about 4 bytes, at random places).
    const entropy = local === "local-entropy" ? trainEntropyModel(Uint8Array.from(randomBatch(new Rng(0), 1, BENCH_ENTROPY_BYTES, 256).x)) : undefined;
    const c = tokenizerFreeConfig(local, undefined, ctx ?? 128, { entropy }) as LocalStackConfig;
    const train = { ...p.train, steps, warmupSteps: 0, batchSize: batch ?? p.train.batchSize };
    const k = c.core;
    const model = createModel(c, 0);
    const rows = train.batchSize;
    return {
      model,
      train,
      ctx: c.byteWindow,
      vocab: 256,
      shape: {
        ctx: c.byteWindow,
        ...(c.strategy === "stride" ? { stride: c.stride } : { maxChunk: c.maxChunk }),
        window: c.localWindow,
        byteDim: c.localDim,
        byteHeads: c.localHeads,
        byteFfn: c.localFfn,
        encoderLayers: c.encoderLayers,
        decoderLayers: c.decoderLayers,
        dModel: k.dModel,
        layers: k.nLayer,
        heads: k.nHead,
        ffn: k.ffnHidden,
        batch: rows,
        chunkSlots: localStackChunkSlots(c)
      },
      flops: localStackFlopsPerStep(c, rows),
      ...(c.strategy === "stride" ? {} : { chunkSlots: (x: Int32Array) => chunkSlotsOf(model as LocalStackLM, x, rows, c.byteWindow) })
    };
  }
  const pooled = TOKENIZER_FREE_PRESETS[preset];
  if (pooled && pooled.kind === "stride") {
    const c = tokenizerFreeConfig("stride", undefined, ctx ?? 512, { causalDecoder: pooled.causalDecoder }) as PooledConfig;
    const train = { ...pooled.train, steps, warmupSteps: 0, batchSize: batch ?? pooled.train.batchSize };
    const k = c.core;
    return {
      model: createModel(c, 0),
      train,
      ctx: c.byteWindow,
      vocab: 256,
      shape: { ctx: c.byteWindow, stride: c.stride, byteDim: c.byteDim, byteHeads: c.byteHeads, byteFfn: c.byteFfn, encoderLayers: c.encoderLayers, decoderLayers: c.decoderLayers, causalDecoder: !!c.causalDecoder, dModel: k.dModel, layers: k.nLayer, heads: k.nHead, ffn: k.ffnHidden, batch: train.batchSize },
      flops: pooledFlopsPerStep(c, train.batchSize)
    };
  }
  if (!PRESETS[preset]) throw new RangeError(`unknown bench preset "${preset}"; choose one of ${BENCH_PRESETS.join(", ")}`);
  const { model: mc, train } = presetConfig(preset, { model: ctx ? { blockSize: ctx } : {}, train: { steps, warmupSteps: 0, ...(batch ? { batchSize: batch } : {}) } });
  return {
    model: createModel({ kind: "bytes", model: mc }, 0),
    train,
    ctx: mc.blockSize,
    vocab: Math.min(256, mc.vocabSize),
    shape: { vocab: mc.vocabSize, dModel: mc.dModel, layers: mc.nLayer, heads: mc.nHead, ffn: mc.ffnHidden, ctx: mc.blockSize, batch: train.batchSize },
    flops: flopsPerStep(mc, train.batchSize)
  };
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const { preset = "micro", steps = 10, warmup = 3, profile = false, onStep } = options;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a whole number >= 1 (got ${steps})`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new RangeError(`warmup must be a whole number >= 0 (got ${warmup})`);
  const tensorsBefore = tf.memory().numTensors;
  const { model, train, ctx, vocab, shape, flops: planned, chunkSlots } = benchModel(preset, options.ctx, options.batch, steps + warmup + 2);
  const data = { sample: (rng: Rng, b: number, t: number) => randomBatch(rng, b, t, vocab) };
  let flops = planned;
  const trainer = new Trainer({ model: options.teacher ? new DistilledStudent(model, options.teacher, options.distill ?? DEFAULT_DISTILL, train.steps) : model, data, train });
  const rng = new Rng(0);
  const times: number[] = [];
  let result: BenchResult;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const batch = data.sample(rng, train.batchSize, ctx);
      if (s === 0 && chunkSlots) {
        // Word and entropy chunks depend on the bytes: count on the first batch.
        shape.chunkSlots = chunkSlots(batch.x);
        flops = localStackFlopsPerStep(model.spec as LocalStackConfig, train.batchSize, shape.chunkSlots);
      }
      const t0 = performance.now();
      const { loss, gradNorm } = trainer.trainStep(batch);
      await loss.data(); // waits for the step to finish on an asynchronous backend
      tf.dispose([loss, gradNorm]);
      if (s >= warmup) {
        times.push(performance.now() - t0);
        onStep?.(times.length, steps);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    let kernels: KernelTime[] | undefined;
    let threadProfile: BenchResult["threadProfile"];
    const pool = kernelPool();
    if (profile && pool) {
      // One step timed without tf.profile's per-kernel reads, for the pool's own counts.
      const batch = data.sample(rng, train.batchSize, ctx);
      pool.startProfile();
      let measured: Awaited<ReturnType<typeof withSerialProfile>>;
      let r: ReturnType<KernelPool["stopProfile"]>;
      try {
        measured = await withSerialProfile(pool, async () => {
          const { loss, gradNorm } = trainer.trainStep(batch);
          await loss.data();
          tf.dispose([loss, gradNorm]);
        });
      } finally {
        r = pool.stopProfile();
      }
      const { stepMs, serial } = measured;
      const round = (x: number) => Math.round(x * 10) / 10;
      threadProfile = { threads: pool.threads, stepMs: round(stepMs), tasks: r.tasks.map((t) => ({ ...t, ms: round(t.ms), waitMs: round(t.waitMs) })), workerBusyMs: r.workerBusyMs.map(round), serial };
    }
    if (profile) {
      const batch = data.sample(rng, train.batchSize, ctx);
      const p = await tf.profile(() => {
        const { loss, gradNorm } = trainer.trainStep(batch);
        gradNorm.dispose();
        return loss;
      });
      (p.result as { dispose(): void }).dispose();
      const by = new Map<string, { ms: number; calls: number }>();
      for (const k of p.kernels) {
        const e = by.get(k.name) ?? { ms: 0, calls: 0 };
        e.ms += Number(k.kernelTimeMs) || 0;
        e.calls += 1;
        by.set(k.name, e);
      }
      const total = [...by.values()].reduce((a, e) => a + e.ms, 0);
      kernels = [...by]
        .map(([kernel, e]) => ({ kernel, ms: Math.round(e.ms * 10) / 10, calls: e.calls, share: Math.round((1000 * e.ms) / total) / 1000 }))
        .sort((a, b) => b.ms - a.ms);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)] / 1000;
    let loop: BenchResult["loop"];
    const loopSteps = options.loopSteps ?? 0;
    if (loopSteps > 0 && !options.teacher) {
      // The same model and shape through Trainer.run(), as stlm train drives it: a
      // BatchSampler over random bytes, the read-back of every step, each event
      // handed to the consumer before the next step.
      const bytes = Uint8Array.from(randomBatch(new Rng(1), 1, 1 << 16, vocab).x);
      const looped = new Trainer({ model, data: new BatchSampler(bytes), train: { ...train, steps: loopSteps, evalEvery: 0 } });
      try {
        const t0 = performance.now();
        for await (const e of looped.run()) await options.onLoopEvent?.(e);
        const tps = (loopSteps * train.batchSize * ctx) / ((performance.now() - t0) / 1000);
        loop = { steps: loopSteps, tokensPerSecond: Math.round(tps), ratio: Math.round((tps / ((train.batchSize * ctx) / med)) * 1000) / 1000 };
      } finally {
        looped.dispose();
      }
    }
    const backend = tf.getBackend();
    result = {
      system: `tfjs-${backend}`,
      tfjs: tf.version.tfjs,
      backend,
      preset,
      model: shape,
      params: model.parameterCount(),
      steps,
      medianStepSeconds: Math.round(med * 1e4) / 1e4,
      tokensPerSecond: Math.round((train.batchSize * ctx) / med),
      gflopPerStep: Math.round(flops / 1e6) / 1e3,
      gflops: Math.round((flops / med / 1e9) * 100) / 100,
      tensorsLeaked: 0,
      ...(loop ? { loop } : {}),
      ...(backend === "wasm" ? { matmul: matMulInfo() } : {}),
      ...(kernels ? { profile: kernels } : {}),
      ...(threadProfile ? { threadProfile } : {})
    };
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return { ...result, tensorsLeaked: tf.memory().numTensors - tensorsBefore };
}
