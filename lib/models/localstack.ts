// A tokenizer-free model with a local byte stack, after SpaceByte (Slagle 2024,
// arXiv 2404.14408), the Byte Latent Transformer (Pagnoni et al. 2024, arXiv
// 2412.09871) and MegaByte (Yu et al. 2023, arXiv 2305.07185):
//
//   bytes -> byte embedding -> causal byte layers over the whole stream (each byte
//         attends to the `localWindow` bytes up to itself)
//         -> at each chunk's last byte, its hidden state, projected to the core's width
//         -> a causal transformer over chunks (the "global" model)
//         -> its output for chunk j, projected back, added to every byte position of
//            chunk j+1 (a learned start vector for the first chunk)
//         -> more causal byte layers -> next-byte head, tied to the byte embedding.
//
// Unlike the STLM paper's decoder (lib/models/pooled.ts), every byte is predicted from the
// bytes just before it (the local layers) *and* from the chunks before its own
// (the core), so the model never loses the last few bytes of context.
//
// Why it is causal. Position t reads bytes <= t and predicts byte t+1. The core's
// vector for chunk j summarises bytes < e_j (its end) and reaches positions >= e_j
// only. A boundary "a chunk starts at t" may therefore depend on bytes <= t, and
// every strategy here does: stride (t alone), words (bytes t-1 and t, SpaceByte's
// rule), entropy (bytes < t). BPE boundaries look ahead inside a word, so they
// are refused here rather than let the model see what it predicts.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { ConfigError, LIMITS, validateModelConfig, type ModelConfig } from "../config.js";
import type { Span } from "../text/boundaries.js";
import { entropySpans, validateEntropyModel, type EntropyModel } from "../text/entropy.js";
import { applyRotary, causalMask, causalTransformer, dropout, embeddingLookup, linear, linearTransposed, rmsNorm, rotaryTables, swiglu, targetLogProbs } from "./layers.js";
import { readWeights, weightValues, type Param } from "./model.js";
import { Rng } from "../rng.js";
import { lastLogits, promptIds, sampleIds, type SampleOptions } from "../eval/sample.js";
import type { ScoringModel } from "../eval/eval.js";
import { BYTE_VOCAB_SIZE, PAD } from "../text/tokenizer.js";

export const LOCAL_STACK_STRATEGIES = ["stride", "word", "entropy"] as const;
export type LocalStackStrategy = (typeof LOCAL_STACK_STRATEGIES)[number];

export interface LocalStackConfig {
  kind: "local-stack";
  strategy: LocalStackStrategy;
  /** Bytes per chunk for the stride strategy. */
  stride: number;
  /** The longest chunk: a boundary is forced after this many bytes. */
  maxChunk: number;
  /** Bytes of context per row (the trainer's and the evaluations' blockSize); a multiple of localWindow. */
  byteWindow: number;
  /** Width, heads and SwiGLU hidden width of the byte layers. */
  localDim: number;
  localHeads: number;
  localFfn: number;
  /** Each byte attends to this many bytes up to and including itself. */
  localWindow: number;
  encoderLayers: number;
  decoderLayers: number;
  /** The transformer over chunks; vocabSize unused, blockSize = the most chunks a row can have. */
  core: ModelConfig;
  /** Entropy boundaries: the byte model whose next-byte entropy marks chunk starts. */
  entropy?: EntropyModel;
}

/** Spacelike bytes end a SpaceByte patch: not a letter, a digit, or part of a multi-byte character. */
export function isSpacelike(b: number): boolean {
  return !((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b >= 0x80);
}

/** SpaceByte's boundaries: a chunk starts at the first non-spacelike byte after a spacelike one (and after maxLen bytes). */
export function spaceByteSpans(bytes: Uint8Array, maxLen: number): Span[] {
  const out: Span[] = [];
  let start = 0;
  for (let t = 1; t < bytes.length; t++) {
    if (t - start >= maxLen || (isSpacelike(bytes[t - 1]) && !isSpacelike(bytes[t]))) {
      out.push([start, t]);
      start = t;
    }
  }
  if (bytes.length > start) out.push([start, bytes.length]);
  return out;
}

export function localStackConfig(c: Omit<LocalStackConfig, "kind" | "core"> & { core: Omit<ModelConfig, "vocabSize" | "blockSize"> & Partial<ModelConfig> }): LocalStackConfig {
  return validateLocalStackConfig({ ...c, kind: "local-stack", core: { ...c.core, vocabSize: BYTE_VOCAB_SIZE, blockSize: c.byteWindow } as ModelConfig });
}

export function validateLocalStackConfig(c: LocalStackConfig): LocalStackConfig {
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new ConfigError(field, `${rule} (got ${JSON.stringify(value)?.slice(0, 80)})`);
  };
  if (typeof c !== "object" || c === null) bad("local-stack", "must be an object of settings", c);
  if (!LOCAL_STACK_STRATEGIES.includes(c.strategy)) {
    bad("strategy", `must be ${LOCAL_STACK_STRATEGIES.join(", ")} (BPE boundaries look ahead inside a word, which would let the byte layers see the byte they predict)`, c.strategy);
  }
  const upper = { stride: 64, maxChunk: 64, byteWindow: LIMITS.blockSize, localDim: LIMITS.dModel, localHeads: LIMITS.nHead, localFfn: LIMITS.ffnHidden, localWindow: LIMITS.blockSize } as const;
  for (const k of Object.keys(upper) as (keyof typeof upper)[]) {
    if (!Number.isInteger(c[k]) || c[k] < 1 || c[k] > upper[k]) bad(k, `must be a whole number from 1 to ${upper[k]}`, c[k]);
  }
  for (const k of ["encoderLayers", "decoderLayers"] as const) if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > LIMITS.nLayer) bad(k, `must be a whole number from 0 to ${LIMITS.nLayer}`, c[k]);
  if (c.localDim % c.localHeads !== 0 || (c.localDim / c.localHeads) % 2 !== 0) bad("localHeads", `must divide localDim=${c.localDim} into heads of even size`, c.localHeads);
  if (c.byteWindow % c.localWindow !== 0) bad("byteWindow", `must be a multiple of localWindow=${c.localWindow}`, c.byteWindow);
  if (c.strategy === "stride" && c.stride > c.maxChunk) bad("stride", `must be at most maxChunk=${c.maxChunk}`, c.stride);
  if (c.strategy === "entropy") {
    const why = c.entropy ? validateEntropyModel(c.entropy) : "is missing (train one with trainEntropyModel on the training split)";
    if (why) bad("entropy", `the entropy model ${why}`, typeof c.entropy);
  }
  if (typeof c.core !== "object" || c.core === null) bad("core", "must be an object (the core transformer's settings)", c.core);
  validateModelConfig(c.core);
  if (c.core.blockSize < c.byteWindow) bad("core.blockSize", `must be at least byteWindow = ${c.byteWindow} (a row has at most that many chunks)`, c.core.blockSize);
  return c;
}

/** One pre-norm block's weights; kv is the width of the keys and values (d, or less with grouped-query attention). */
function blockShapes(prefix: string, d: number, f: number, kv = d): { name: string; shape: number[] }[] {
  return [
    { name: `${prefix}.attnNorm`, shape: [d] },
    { name: `${prefix}.attn.wq`, shape: [d, d] },
    { name: `${prefix}.attn.wk`, shape: [d, kv] },
    { name: `${prefix}.attn.wv`, shape: [d, kv] },
    { name: `${prefix}.attn.wo`, shape: [d, d] },
    { name: `${prefix}.mlpNorm`, shape: [d] },
    { name: `${prefix}.mlp.w1`, shape: [d, f] },
    { name: `${prefix}.mlp.w3`, shape: [d, f] },
    { name: `${prefix}.mlp.w2`, shape: [f, d] }
  ];
}

/** Every parameter's name and shape, in order, with its component (for the ledger). */
export function localStackParameterShapes(c: LocalStackConfig): { name: string; shape: number[]; component: string }[] {
  const out: { name: string; shape: number[]; component: string }[] = [];
  const add = (component: string, list: { name: string; shape: number[] }[]) => list.forEach((s) => out.push({ ...s, component }));
  const E = c.localDim;
  const D = c.core.dModel;
  add("byte embedding + head (tied)", [{ name: "byteEmbed", shape: [BYTE_VOCAB_SIZE, E] }]);
  for (let l = 0; l < c.encoderLayers; l++) add("byte layers", blockShapes(`encoder.${l}`, E, c.localFfn));
  add("chunk in/out", [
    { name: "global.in", shape: [E, D] },
    { name: "global.out", shape: [D, E] },
    { name: "global.start", shape: [E] }
  ]);
  const kv = (D / c.core.nHead) * c.core.nKvHead;
  for (let l = 0; l < c.core.nLayer; l++) add("core", blockShapes(`core.${l}`, D, c.core.ffnHidden, kv));
  add("core", [{ name: "core.norm", shape: [D] }]);
  for (let l = 0; l < c.decoderLayers; l++) add("byte layers", blockShapes(`decoder.${l}`, E, c.localFfn));
  add("byte layers", [{ name: "finalNorm", shape: [E] }]);
  return out;
}

/** The additive mask of blockwise local attention: query i of a block sees keys i+1..i+W of [previous block, this block]. */
function localMask(W: number, blocks: number): Float32Array {
  const m = new Float32Array(blocks * W * 2 * W);
  for (let n = 0; n < blocks; n++) {
    for (let i = 0; i < W; i++) {
      for (let j = 0; j < 2 * W; j++) {
        const ok = j > i && j <= i + W && (n > 0 || j >= W);
        if (!ok) m[(n * W + i) * 2 * W + j] = -1e9;
      }
    }
  }
  return m;
}

export class LocalStackLM {
  readonly config: LocalStackConfig;
  readonly params: readonly Param[];
  /** Chunks per byte in the last batch loss() saw. */
  lastBoundaryRate = NaN;
  private readonly byName: Map<string, Variable>;
  private readonly localCos: Tensor2D;
  private readonly localSin: Tensor2D;
  private readonly masks = new Map<number, Tensor2D>();
  private readonly coreCos: Tensor2D;
  private readonly coreSin: Tensor2D;
  private readonly coreMask: Tensor2D;
  private disposed = false;

  private constructor(config: LocalStackConfig, values: Map<string, Float32Array>) {
    this.config = validateLocalStackConfig(structuredClone(config));
    const c = this.config;
    this.params = localStackParameterShapes(c).map(({ name, shape }) => ({ name, variable: tf.tidy(() => tf.variable(tf.tensor(values.get(name)!, shape), true)) }));
    this.byName = new Map(this.params.map((p) => [p.name, p.variable]));
    const double = (t: Float32Array, T: number, h: number) => tf.tidy(() => { const x = tf.tensor2d(t, [T, h]); return tf.concat([x, x], 1) as Tensor2D; });
    const lh = c.localDim / c.localHeads;
    const lt = rotaryTables(c.byteWindow, lh, c.core.ropeTheta);
    this.localCos = double(lt.cos, c.byteWindow, lh / 2);
    this.localSin = double(lt.sin, c.byteWindow, lh / 2);
    const ch = c.core.dModel / c.core.nHead;
    const ct = rotaryTables(c.core.blockSize, ch, c.core.ropeTheta);
    this.coreCos = double(ct.cos, c.core.blockSize, ch / 2);
    this.coreSin = double(ct.sin, c.core.blockSize, ch / 2);
    this.coreMask = tf.tensor2d(causalMask(c.core.blockSize), [c.core.blockSize, c.core.blockSize]);
  }

  /** N(0, 0.02) matrices, residual projections scaled by 1/sqrt(2L), unit norms, a zero start vector. */
  static create(config: LocalStackConfig, seed = 1): LocalStackLM {
    validateLocalStackConfig(config);
    const rng = new Rng(seed);
    const layers = config.encoderLayers + config.decoderLayers + config.core.nLayer;
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of localStackParameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (name === "global.start") data.fill(0);
      else if (shape.length === 1) data.fill(1);
      else {
        const std = name.endsWith(".wo") || name.endsWith(".w2") || name === "global.out" ? 0.02 / Math.sqrt(2 * layers) : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      values.set(name, data);
    }
    return new LocalStackLM(config, values);
  }

  static fromWeights(config: LocalStackConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): LocalStackLM {
    validateLocalStackConfig(config);
    const values = weightValues(localStackParameterShapes(config), weights);
    return new LocalStackLM(config, values);
  }

  /** The dropout rate the config asks for (a schedule's base rate). */
  get baseDropout(): number {
    return this.config.core.dropout;
  }

  get blockSize(): number {
    return this.config.byteWindow;
  }

  get spec(): LocalStackConfig {
    return structuredClone(this.config);
  }

  get byteScorer(): ScoringModel {
    return this;
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  parameterBreakdown(): { component: string; parameters: number }[] {
    const by = new Map<string, number>();
    for (const { shape, component } of localStackParameterShapes(this.config)) by.set(component, (by.get(component) ?? 0) + shape.reduce((a, b) => a * b, 1));
    return [...by].map(([component, parameters]) => ({ component, parameters }));
  }

  private param(name: string): Tensor2D {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no parameter named "${name}"`);
    return v as unknown as Tensor2D;
  }

  /** Chunk spans of one row of bytes under this model's strategy (each boundary reads bytes up to itself only). */
  spans(bytes: Uint8Array): Span[] {
    const c = this.config;
    switch (c.strategy) {
      case "stride": {
        const out: Span[] = [];
        for (let s = 0; s < bytes.length; s += c.stride) out.push([s, Math.min(bytes.length, s + c.stride)]);
        return out;
      }
      case "word":
        return spaceByteSpans(bytes, c.maxChunk);
      case "entropy":
        return entropySpans(bytes, c.entropy!, c.maxChunk);
    }
  }

  /** Causal byte layers with blockwise local attention over h [B, T, E] (T a multiple of localWindow). */
  private byteLayers(prefix: string, layers: number, h: Tensor2D, B: number, T: number, rng: Rng | undefined, rate = this.config.core.dropout): Tensor2D {
    const c = this.config;
    const E = c.localDim;
    const H = c.localHeads;
    const Dh = E / H;
    const W = c.localWindow;
    const n = T / W;
    let mask = this.masks.get(n);
    if (!mask) {
      mask = tf.keep(tf.tensor2d(localMask(W, n), [n * W, 2 * W]));
      this.masks.set(n, mask);
    }
    const cos = T === c.byteWindow ? this.localCos : tf.slice(this.localCos, [0, 0], [T, Dh]);
    const sin = T === c.byteWindow ? this.localSin : tf.slice(this.localSin, [0, 0], [T, Dh]);
    const heads = (t: Tensor2D) => tf.transpose(tf.reshape(t, [B, T, H, Dh]), [0, 2, 1, 3]) as Tensor4D; // [B, H, T, Dh]
    // [B, H, T, Dh] -> [B*H*n, 2W, Dh]: each block's keys are the previous block's and its own.
    const pairs = (k: Tensor4D) => {
      const blocks = tf.reshape(k, [B * H, n, W, Dh]);
      const prev = tf.concat([tf.zeros([B * H, 1, W, Dh]), tf.slice(blocks, [0, 0, 0, 0], [B * H, n - 1, W, Dh])], 1);
      return tf.reshape(tf.concat([prev, blocks], 2), [B * H * n, 2 * W, Dh]) as Tensor3D;
    };
    for (let l = 0; l < layers; l++) {
      const p = (name: string) => this.param(`${prefix}.${l}.${name}`);
      const x = rmsNorm(h, p("attnNorm") as unknown as Tensor1D, c.core.normEps);
      const q = tf.reshape(applyRotary(heads(linear(x, p("attn.wq"))), cos, sin), [B * H * n, W, Dh]) as Tensor3D;
      const k = pairs(applyRotary(heads(linear(x, p("attn.wk"))), cos, sin));
      const v = pairs(heads(linear(x, p("attn.wv"))));
      const scores = tf.add(tf.reshape(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh)), [B * H, n * W, 2 * W]), mask);
      const probs = tf.reshape(tf.softmax(scores), [B * H * n, W, 2 * W]) as Tensor3D;
      const out = tf.reshape(tf.matMul(probs, v), [B, H, T, Dh]);
      const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * T, E]) as Tensor2D;
      h = tf.add(h, dropout(linear(merged, p("attn.wo")), c.core.dropoutSites.includes("attn-out") ? rate : 0, rng));
      const m = rmsNorm(h, p("mlpNorm") as unknown as Tensor1D, c.core.normEps);
      h = tf.add(h, dropout(swiglu(m, p("mlp.w1"), p("mlp.w3"), p("mlp.w2")), c.core.dropoutSites.includes("mlp-out") ? rate : 0, rng));
    }
    return h;
  }

  /** The causal transformer over chunk vectors x [B*C, D]. */
  private core(x: Tensor2D, B: number, C: number, rng: Rng | undefined, trace: boolean, rate = this.config.core.dropout): { out: Tensor2D; attention: Tensor4D[] } {
    const weight = (l: number, n: string) => this.param(`core.${l}.${n}`);
    return causalTransformer(x, { B, T: C, config: this.config.core, weight, finalNorm: this.param("core.norm") as unknown as Tensor1D, cos: this.coreCos, sin: this.coreSin, mask: this.coreMask, rng, trace, rate });
  }

  /**
   * Logits [B, T, 258] for ids [B, T] (PAD after a row's end) and the chunk spans of
   * each row. Not wrapped in tf.tidy (the trainer's variableGrads or the caller's tidy owns the intermediates).
   */
  forward(ids: Tensor2D, options: { training?: boolean; rng?: Rng; trace?: boolean; dropout?: number } = {}): { logits: Tensor3D; spans: Span[][]; attention?: Tensor4D[] } {
    this.assertLive();
    const c = this.config;
    const [B, T0] = ids.shape;
    if (T0 > c.byteWindow) throw new Error(`a row of ${T0} bytes is longer than the context of ${c.byteWindow}`);
    const W = c.localWindow;
    const T = Math.ceil(T0 / W) * W;
    const E = c.localDim;
    const D = c.core.dModel;
    const rate = options.dropout ?? c.core.dropout;
    const rng = options.training && rate > 0 ? options.rng : undefined;
    // The rows as bytes (up to the first PAD), their spans, and the two selection matrices.
    // Boundaries are decisions made on the CPU: the ids were just made from CPU arrays, so on
    // wasm and cpu this read is a copy (on a GPU backend it waits for the upload).
    const raw = ids.dataSync();
    const padded = new Int32Array(B * T).fill(PAD);
    const rows: Uint8Array[] = [];
    for (let b = 0; b < B; b++) {
      let n = 0;
      while (n < T0 && raw[b * T0 + n] < 256) n++;
      const r = new Uint8Array(n);
      for (let t = 0; t < T0; t++) padded[b * T + t] = raw[b * T0 + t];
      for (let t = 0; t < n; t++) r[t] = raw[b * T0 + t];
      rows.push(r);
    }
    const spans = rows.map((r) => this.spans(r));
    const C = Math.min(c.core.blockSize, Math.max(8, Math.ceil(Math.max(1, ...spans.map((s) => s.length)) / 8) * 8));
    const gather = new Float32Array(B * C * T); // [B, C, T]: chunk j <- its last byte
    const spread = new Float32Array(B * T * (C + 1)); // [B, T, C+1]: byte t <- the chunk before its own (0: start)
    spans.forEach((row, b) =>
      row.forEach(([s, e], j) => {
        gather[(b * C + j) * T + e - 1] = 1;
        for (let t = s; t < e; t++) spread[(b * T + t) * (C + 1) + j] = 1;
      })
    );
    for (let b = 0; b < B; b++) for (let t = rows[b].length; t < T; t++) spread[(b * T + t) * (C + 1)] = 1;

    const embed = this.param("byteEmbed");
    let h = embeddingLookup(embed, tf.tensor1d(padded, "int32")); // [B*T, E]
    h = this.byteLayers("encoder", c.encoderLayers, h, B, T, rng, rate);
    const last = tf.matMul(tf.tensor3d(gather, [B, C, T]), tf.reshape(h, [B, T, E])); // [B, C, E]
    const chunks = linear(tf.reshape(last, [B * C, E]) as Tensor2D, this.param("global.in")); // [B*C, D]
    const { out, attention } = this.core(chunks, B, C, rng, options.trace ?? false, rate);
    const back = tf.reshape(linear(out, this.param("global.out")), [B, C, E]);
    const start = tf.tile(tf.reshape(this.param("global.start"), [1, 1, E]), [B, 1, 1]);
    const context = tf.matMul(tf.tensor3d(spread, [B, T, C + 1]), tf.concat([start, back], 1)); // [B, T, E]
    h = tf.add(h, tf.reshape(context, [B * T, E])) as Tensor2D;
    h = this.byteLayers("decoder", c.decoderLayers, h, B, T, rng, rate);
    const final = rmsNorm(h, this.param("finalNorm") as unknown as Tensor1D, c.core.normEps);
    let logits = tf.reshape(linearTransposed(final, embed), [B, T, BYTE_VOCAB_SIZE]) as Tensor3D;
    if (T !== T0) logits = tf.slice(logits, [0, 0, 0], [B, T0, BYTE_VOCAB_SIZE]);
    return { logits, spans, ...(options.trace ? { attention } : {}) };
  }

  /** Mean nats per target byte (PAD targets are not scored). */
  loss(x: Tensor2D, y: Tensor2D, options: { training: boolean; rng?: Rng; dropout?: number }): Scalar {
    const [B, T] = x.shape;
    const { logits, spans } = this.forward(x, options);
    const lp = targetLogProbs(tf.reshape(logits, [B * T, BYTE_VOCAB_SIZE]) as Tensor2D, tf.reshape(y, [B * T]) as Tensor1D);
    const mask = tf.cast(tf.less(tf.reshape(y, [B * T]), 256), "float32");
    const chunks = spans.reduce((n, s) => n + s.length, 0);
    const bytes = spans.reduce((n, s) => n + (s.length ? s[s.length - 1][1] : 0), 0);
    this.lastBoundaryRate = chunks / Math.max(1, bytes);
    return tf.div(tf.neg(tf.sum(tf.mul(lp, mask))), tf.maximum(tf.sum(mask), 1)) as Scalar;
  }

  /** log p(y[b, t] | x[b, 0..t]) in nats, [B, T]; PAD targets give 0. */
  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const { logits } = this.forward(x);
      const lp = targetLogProbs(tf.reshape(logits, [B * T, BYTE_VOCAB_SIZE]) as Tensor2D, tf.reshape(y, [B * T]) as Tensor1D);
      return tf.reshape(tf.mul(lp, tf.cast(tf.less(tf.reshape(y, [B * T]), 256), "float32")), [B, T]) as Tensor2D;
    });
  }

  /** Continue `prompt` by `options.tokens` bytes, one forward pass per byte. */
  async generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
    const banned = options.banned ?? [256, 257];
    const next = (context: number[]) => lastLogits((x) => this.forward(x).logits, context);
    return Uint8Array.from(await sampleIds(next, promptIds(prompt), this.config.byteWindow, { ...options, banned }));
  }

  /** Chunks of one text and the core's attention over them. */
  async trace(bytes: Uint8Array): Promise<{ spans: Span[]; attention: number[][][][] }> {
    const row = bytes.subarray(0, this.config.byteWindow);
    if (row.length === 0) return { spans: [], attention: [] };
    const n = this.spans(row).length;
    const att = tf.tidy(() => {
      const { attention } = this.forward(tf.tensor2d(Int32Array.from(row), [1, row.length], "int32"), { trace: true });
      return tf.stack(attention!.map((a) => tf.slice(a, [0, 0, 0, 0], [1, a.shape[1], n, n])));
    });
    const values = (await att.array()) as number[][][][][];
    att.dispose();
    return { spans: this.spans(row), attention: values.map((layer) => layer[0]) };
  }

  weights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    return readWeights(this.params);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params) p.variable.dispose();
    for (const t of [this.localCos, this.localSin, this.coreCos, this.coreSin, this.coreMask, ...this.masks.values()]) t.dispose();
    this.masks.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this model was disposed; create or load a new one");
  }
}
