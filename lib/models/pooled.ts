// A tokenizer-free model that reads bytes, pools them into chunks, runs its
// causal transformer over chunks, and decodes the bytes of the next chunk, as
// the STLM paper's code does:
//
//   bytes -> byte embedding (width byteDim) + learned position inside the chunk
//         -> small bidirectional blocks inside each chunk -> mean over the chunk's bytes
//         -> projection to the core's width -> causal core over chunks
//         -> linear to maxChunk x byteDim -> small bidirectional blocks
//         -> byte head (tied to the byte embedding): all bytes of the NEXT chunk at once.
//
// (With causalDecoder on, the decoder also reads the byte before each slot, across
// the chunk boundary for slot 0: a variant that is not in the paper; see
// PooledConfig.causalDecoder.)
//
// Where chunks end is a boundary strategy (lib/text/boundaries.ts): fixed stride,
// words, a BPE that lib/ trained, GPT-2's BPE, or a learned predictor.
//
// How a pooled model gives a byte string a log-probability. The string is cut
// into chunks c_0 .. c_{n-1} by the strategy. A learned start vector stands in
// for the chunk before c_0, so every chunk is predicted from the chunks before
// it only. The decoder predicts the maxChunk slots of a chunk independently
// given that context: slot i holds byte i of the chunk, the slot after the last
// byte holds PAD (the end-of-chunk mark; absent when the chunk fills all
// maxChunk slots), later slots are not scored. So
//   log p(string) = sum_j [ sum_i log p(c_j[i] | c_<j) + log p(PAD at |c_j| | c_<j) ],
// and a byte's share is its own term, plus, for the first byte of a chunk, the
// end mark of the chunk before it: whether a chunk ended is known only from the
// byte after it (a word chunk ends where a space starts the next), so charging
// the mark to the chunk's own last byte would let that byte's score depend on
// the byte after it. The end mark of a row's last chunk has no byte to go to and
// is dropped. Because the slots are independent given the context, dropping the
// terms of bytes that are only context (the first byte of an evaluation window,
// the context of a continuation) or of that last end mark is exact
// marginalisation. The segmentation is a
// deterministic function of the string, so this is the probability of one
// chunk sequence among all those that spell the string: a lower bound on the
// probability the model gives the string, and bits per byte computed from it
// are an honest (slightly pessimistic) code length.
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { ConfigError, LIMITS, validateModelConfig, type ModelConfig } from "../config.js";
import { Rng } from "../rng.js";
import { BpeTokenizer, validateBpe, type Bpe } from "../text/bpe.js";
import {
  DEFAULT_MAX_CHUNK,
  bpeSpans,
  learnedSpans,
  strideSpans,
  wordSpans,
  type Span,
  type Strategy
} from "../text/boundaries.js";
import {
  applyRotary,
  causalTransformer,
  causalAttention,
  causalMask,
  dropout,
  embeddingLookup,
  linear,
  linearTransposed,
  rmsNorm,
  rotaryTables,
  swiglu,
  targetLogProbs
} from "./layers.js";
import { BYTE_VOCAB_SIZE, PAD } from "../text/tokenizer.js";
import { readWeights, weightValues, type Param } from "./model.js";
import { promptIds, sampleIds, type SampleOptions } from "../eval/sample.js";
import type { ScoringModel } from "../eval/eval.js";

export interface LearnedBoundaryConfig {
  minLen: number;
  maxLen: number;
  /** The boundary rate (chunks per byte) the auxiliary loss pulls toward. */
  targetRate: number;
  /** Weight of the auxiliary loss (mean boundary probability - targetRate)^2. */
  rateWeight: number;
  /** Width of the predictor's own byte embedding. */
  embedDim: number;
}

export interface PooledConfig {
  kind: "pooled";
  strategy: Exclude<Strategy, "gpt2">;
  /** Bytes per chunk for the stride strategy. */
  stride: number;
  /** The chunk window: the most bytes a chunk holds (12 in the STLM paper; the stride for stride pooling). */
  maxChunk: number;
  /** Bytes of context per row: the blockSize the trainer and the evaluations see. */
  byteWindow: number;
  byteDim: number;
  byteHeads: number;
  byteFfn: number;
  encoderLayers: number;
  decoderLayers: number;
  /** Weight of the auxiliary loss that reconstructs each chunk from its own pooled vector (0: off). */
  reconstructionWeight: number;
  /**
   * false (the STLM paper's decoder): the bytes of a chunk are predicted in parallel,
   * each from the chunks before it only. true: each byte also sees every byte before
   * it: slot i reads the embedding of the byte just before it (for slot 0, the last
   * byte of the previous chunk; PAD only for a row's first chunk), scaled by
   * previousByteScale, and the decoder blocks are causal over the slots, so
   * p(chunk) factorises byte by byte (not in the paper).
   */
  causalDecoder?: boolean;
  /** The causal core over chunks; its vocabSize is unused and its blockSize is set from byteWindow. */
  core: ModelConfig;
  /** The BPE whose token boundaries the "bpe" strategy uses. */
  bpe?: Bpe;
  learned: LearnedBoundaryConfig;
}

export const DEFAULT_LEARNED: LearnedBoundaryConfig = { minLen: 3, maxLen: 16, targetRate: 0.25, rateWeight: 1, embedDim: 16 };

/**
 * The factor on the previous byte's embedding in the causal decoder: sqrt(core.dModel).
 *
 * A fixed scale, not a normalisation. The slot vector it is added to is
 * decoder.expand applied to the core's normed output: each component sums
 * dModel inputs of RMS ~1 times N(0, s) weights, so its RMS is s * sqrt(dModel)
 * (measured at initialisation, dModel 128, s = 0.02: 0.228), while an embedding
 * row has RMS s (0.020). Multiplying by sqrt(dModel) (11.3) makes the two equal
 * at initialisation whatever s is (0.226 against 0.228); unscaled, the byte
 * before was a tenth of the core's signal and the decoder barely used it (an
 * audit measured the unscaled variant at the paper decoder's 4.02 bits/byte).
 * A constant keeps the decoder a plain linear map with no new parameters, so
 * checkpoints keep their tensors, and the tied embedding (which the head trains)
 * is free to grow with the core's signal rather than being renormalised against it.
 */
export function previousByteScale(c: Pick<PooledConfig, "core">): number {
  return Math.sqrt(c.core.dModel);
}

/**
 * The byte each slot of a causal decoder reads [B * C * L]: slot i of a chunk
 * reads byte i - 1 of that chunk, and slot 0 the last byte of the chunk before
 * it in the same row (PAD for a row's first chunk, whose first byte is row byte
 * 0: context, never a target). A slot past the chunk's end mark reads PAD or the
 * chunk's last byte as the slot before it holds; it is not scored. Every slot
 * reads only bytes before the byte it predicts.
 */
export function previousBytes(batch: Pick<ChunkBatch, "B" | "C" | "L" | "ids" | "spans">): Int32Array {
  const { B, C, L, ids, spans } = batch;
  const previous = new Int32Array(B * C * L).fill(PAD);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < C; j++) {
      const base = (b * C + j) * L;
      for (let i = 1; i < L; i++) previous[base + i] = ids[base + i - 1];
      if (j > 0 && j < spans[b].length) {
        const [s, e] = spans[b][j - 1];
        previous[base] = ids[(b * C + j - 1) * L + (e - s - 1)];
      }
    }
  }
  return previous;
}

/** A pooled config with the core sized for its byte window (a row of W + 1 bytes has at most W + 1 chunks). */
export function pooledConfig(c: Omit<PooledConfig, "kind" | "learned" | "maxChunk"> & { maxChunk?: number; learned?: Partial<LearnedBoundaryConfig> }): PooledConfig {
  const learned = { ...DEFAULT_LEARNED, ...c.learned };
  const maxChunk = c.maxChunk ?? (c.strategy === "stride" ? c.stride : c.strategy === "learned" ? learned.maxLen : DEFAULT_MAX_CHUNK);
  const config: PooledConfig = { ...c, kind: "pooled", maxChunk, learned, core: { ...c.core, vocabSize: BYTE_VOCAB_SIZE, blockSize: c.byteWindow + 1 } };
  return validatePooledConfig(config);
}

export function validatePooledConfig(c: PooledConfig): PooledConfig {
  const bad = (field: string, rule: string, value: unknown) => {
    throw new ConfigError(field, `${rule} (got ${JSON.stringify(value)})`);
  };
  if (!["stride", "word", "bpe", "learned"].includes(c.strategy)) bad("strategy", "must be stride, word, bpe or learned", c.strategy);
  if (typeof c !== "object" || c === null || Array.isArray(c)) bad("pooled", "must be an object of pooled-model settings", c);
  const upper = { stride: 256, maxChunk: 256, byteWindow: LIMITS.blockSize - 1, byteDim: LIMITS.dModel, byteHeads: LIMITS.nHead, byteFfn: LIMITS.ffnHidden } as const;
  for (const k of ["stride", "maxChunk", "byteWindow", "byteDim", "byteHeads", "byteFfn"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1 || c[k] > upper[k]) bad(k, `must be a whole number from 1 to ${upper[k]}`, c[k]);
  }
  for (const k of ["encoderLayers", "decoderLayers"] as const) if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > LIMITS.nLayer) bad(k, `must be a whole number from 0 to ${LIMITS.nLayer}`, c[k]);
  if (typeof c.learned !== "object" || c.learned === null) bad("learned", "must be an object (the learned-boundary settings)", c.learned);
  if (typeof c.core !== "object" || c.core === null) bad("core", "must be an object (the core transformer's settings)", c.core);
  if (c.bpe !== undefined) validateBpe(c.bpe);
  if (c.byteDim % c.byteHeads !== 0) bad("byteHeads", `must divide byteDim=${c.byteDim}`, c.byteHeads);
  if (c.strategy === "stride" && c.stride > c.maxChunk) bad("stride", `must be at most maxChunk=${c.maxChunk}`, c.stride);
  if (c.strategy === "learned" && c.learned.maxLen > c.maxChunk) bad("learned.maxLen", `must be at most maxChunk=${c.maxChunk}`, c.learned.maxLen);
  if (c.strategy === "bpe" && !c.bpe) bad("bpe", "the bpe strategy needs a trained BPE (trainBpe on the training split)", undefined);
  if (!(c.reconstructionWeight >= 0)) bad("reconstructionWeight", "must be >= 0", c.reconstructionWeight);
  if (c.core.blockSize < c.byteWindow + 1) bad("core.blockSize", `must be at least byteWindow + 1 = ${c.byteWindow + 1}`, c.core.blockSize);
  validateModelConfig(c.core);
  return c;
}

/** Every parameter's name and shape, in a fixed order, with the component it belongs to. */
export function pooledParameterShapes(c: PooledConfig): { name: string; shape: number[]; component: string }[] {
  const out: { name: string; shape: number[]; component: string }[] = [];
  const add = (component: string, name: string, shape: number[]) => out.push({ name, shape, component });
  const E = c.byteDim;
  const byteBlock = (component: string, p: string) => {
    add(component, `${p}.attnNorm`, [E]);
    for (const w of ["wq", "wk", "wv", "wo"]) add(component, `${p}.attn.${w}`, [E, E]);
    add(component, `${p}.mlpNorm`, [E]);
    add(component, `${p}.mlp.w1`, [E, c.byteFfn]);
    add(component, `${p}.mlp.w3`, [E, c.byteFfn]);
    add(component, `${p}.mlp.w2`, [c.byteFfn, E]);
  };
  add("byte embedding + head (tied)", "byteEmbed", [BYTE_VOCAB_SIZE, E]);
  add("byte encoder", "encoder.pos", [c.maxChunk, E]);
  for (let l = 0; l < c.encoderLayers; l++) byteBlock("byte encoder", `encoder.blocks.${l}`);
  add("byte encoder", "encoder.norm", [E]);
  add("byte encoder", "encoder.proj", [E, c.core.dModel]);
  if (c.strategy === "learned") {
    add("boundary predictor", "boundary.embed", [BYTE_VOCAB_SIZE, c.learned.embedDim]);
    add("boundary predictor", "boundary.w", [3 * c.learned.embedDim, 1]);
    add("boundary predictor", "boundary.bias", [1]);
  }
  const C = c.core;
  const kvDim = C.nKvHead * (C.dModel / C.nHead);
  add("core", "core.start", [C.dModel]);
  for (let l = 0; l < C.nLayer; l++) {
    const p = `core.blocks.${l}`;
    add("core", `${p}.attnNorm`, [C.dModel]);
    add("core", `${p}.attn.wq`, [C.dModel, C.dModel]);
    add("core", `${p}.attn.wk`, [C.dModel, kvDim]);
    add("core", `${p}.attn.wv`, [C.dModel, kvDim]);
    add("core", `${p}.attn.wo`, [C.dModel, C.dModel]);
    add("core", `${p}.mlpNorm`, [C.dModel]);
    add("core", `${p}.mlp.w1`, [C.dModel, C.ffnHidden]);
    add("core", `${p}.mlp.w3`, [C.dModel, C.ffnHidden]);
    add("core", `${p}.mlp.w2`, [C.ffnHidden, C.dModel]);
  }
  add("core", "core.norm", [C.dModel]);
  add("byte decoder", "decoder.expand", [C.dModel, c.maxChunk * E]);
  for (let l = 0; l < c.decoderLayers; l++) byteBlock("byte decoder", `decoder.blocks.${l}`);
  add("byte decoder", "decoder.norm", [E]);
  return out;
}

/** Chunks of a batch laid out for the model: C chunk slots of maxChunk bytes per row. */
export interface ChunkBatch {
  B: number;
  /** Chunk slots per row (the longest row's chunk count, rounded up to a multiple of 8). */
  C: number;
  L: number;
  /** [B * C * L] byte ids of each chunk, PAD after its end. */
  ids: Int32Array;
  /** [B * C * L] 1 where a byte is. */
  byteMask: Float32Array;
  /** [B * C * L] 1 where a slot is scored: the chunk's bytes and its end mark. */
  targetMask: Float32Array;
  /** [B * C] 1 where a chunk is. */
  chunkMask: Float32Array;
  spans: Span[][];
}

/** Lay out rows of bytes and their spans as a ChunkBatch. */
export function chunkBatch(rows: readonly Uint8Array[], spans: readonly Span[][], L: number, maxSlots = Infinity): ChunkBatch {
  const B = rows.length;
  const longest = Math.max(1, ...spans.map((s) => s.length));
  if (longest > maxSlots) throw new RangeError(`a row has ${longest} chunks, more than the ${maxSlots} the core can read`);
  // Rounding the slot count up means fewer distinct shapes (fewer shader compilations on GPU backends).
  const C = Math.min(maxSlots, Math.ceil(longest / 8) * 8);
  const ids = new Int32Array(B * C * L).fill(PAD);
  const byteMask = new Float32Array(B * C * L);
  const targetMask = new Float32Array(B * C * L);
  const chunkMask = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    spans[b].forEach(([s, e], j) => {
      if (e - s > L) throw new RangeError(`chunk [${s}, ${e}) is longer than the chunk window of ${L} bytes`);
      const base = (b * C + j) * L;
      for (let i = 0; i < e - s; i++) {
        ids[base + i] = rows[b][s + i];
        byteMask[base + i] = 1;
        targetMask[base + i] = 1;
      }
      if (e - s < L) targetMask[base + e - s] = 1; // the end-of-chunk mark
      chunkMask[b * C + j] = 1;
    });
  }
  return { B, C, L, ids, byteMask, targetMask, chunkMask, spans: spans.map((s) => s.slice()) };
}

/**
 * Rows of bytes from the trainer's / evaluations' [B, T] layout: x[b, 0]
 * followed by y[b, 0..], up to the first PAD (a row that starts with PAD is empty).
 */
export function bytesRows(x: Tensor2D, y: Tensor2D): Uint8Array[] {
  // The inputs were just made from CPU arrays; on the CPU backends this read is a copy.
  const [B, T] = x.shape;
  const xs = x.dataSync();
  const ys = y.dataSync();
  const rows: Uint8Array[] = [];
  for (let b = 0; b < B; b++) {
    if (xs[b * T] >= 256) {
      rows.push(new Uint8Array(0));
      continue;
    }
    let n = 0;
    while (n < T && ys[b * T + n] < 256) n++;
    const r = new Uint8Array(n + 1);
    r[0] = xs[b * T];
    for (let t = 0; t < n; t++) r[t + 1] = ys[b * T + t];
    rows.push(r);
  }
  return rows;
}

export interface PooledForwardOptions {
  training?: boolean;
  rng?: Rng;
  /** This step's dropout rate (the trainer's schedule); the core's rate when absent. */
  dropout?: number;
  trace?: boolean;
}

export interface PooledTrace {
  /** Core attention over chunks, one [B, nHead, C, C] tensor per layer. */
  attention: Tensor4D[];
}

export class PooledLM {
  readonly config: PooledConfig;
  readonly params: readonly Param[];
  /** The boundary rate (chunks per byte) of the last batch seen by loss(); NaN before the first. */
  lastBoundaryRate = NaN;
  private readonly tokenizer?: BpeTokenizer;
  private readonly byName: Map<string, Variable>;
  private readonly cos: Tensor2D;
  private readonly sin: Tensor2D;
  private readonly mask: Tensor2D;
  private disposed = false;

  private constructor(config: PooledConfig, values: Map<string, Float32Array>) {
    this.config = validatePooledConfig(structuredClone(config));
    const c = this.config;
    this.params = pooledParameterShapes(c).map(({ name, shape }) => ({ name, variable: tf.tidy(() => tf.variable(tf.tensor(values.get(name)!, shape), true)) }));
    this.byName = new Map(this.params.map((p) => [p.name, p.variable]));
    if (c.bpe) this.tokenizer = new BpeTokenizer(c.bpe);
    const headSize = c.core.dModel / c.core.nHead;
    const T = c.core.blockSize;
    const { cos, sin } = rotaryTables(T, headSize, c.core.ropeTheta);
    this.cos = tf.tensor2d(cos, [T, headSize / 2]);
    this.sin = tf.tensor2d(sin, [T, headSize / 2]);
    this.mask = tf.tensor2d(causalMask(T), [T, T]);
  }

  /** N(0, 0.02) matrices, residual projections scaled by 1/sqrt(2L), unit norms. */
  static create(config: PooledConfig, seed = 1): PooledLM {
    validatePooledConfig(config);
    const rng = new Rng(seed);
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of pooledParameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const layers = name.startsWith("core.") ? config.core.nLayer : name.startsWith("encoder.") ? config.encoderLayers : config.decoderLayers;
      if (name === "boundary.bias") data.fill(0); // p = 0.5 at the threshold: boundaries start near-random
      else if (shape.length === 1 && name !== "core.start") data.fill(1);
      else {
        const std = name.endsWith(".wo") || name.endsWith(".w2") ? 0.02 / Math.sqrt(2 * Math.max(1, layers)) : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      values.set(name, data);
    }
    return new PooledLM(config, values);
  }

  static fromWeights(config: PooledConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): PooledLM {
    validatePooledConfig(config);
    const values = weightValues(pooledParameterShapes(config), weights);
    return new PooledLM(config, values);
  }

  /** Bytes of context per row, as the trainer and the evaluations count it. */
  /** The dropout rate the config asks for (a schedule's base rate). */
  get baseDropout(): number {
    return this.config.core.dropout;
  }

  get blockSize(): number {
    return this.config.byteWindow;
  }

  /** The registry's description of this model (lib/models/models.ts). */
  get spec(): PooledConfig {
    return structuredClone(this.config);
  }

  get byteScorer(): ScoringModel {
    return this;
  }

  /**
   * Logits [258] of the byte after `context` (its last byteWindow bytes): the
   * slot that byte would fill. A placeholder stands in its place, which no
   * prediction at or before it may read (the leak tests check this), so its
   * value does not matter. The end-of-chunk mark is not part of this
   * distribution; sampling draws bytes only.
   */
  async nextByteLogits(context: Uint8Array): Promise<Float32Array> {
    const row = new Uint8Array(Math.min(context.length, this.config.byteWindow) + 1);
    row.set(context.subarray(context.length - (row.length - 1)));
    row[row.length - 1] = 32;
    const last = row.length - 1;
    let probValues: Float32Array | undefined;
    if (this.config.strategy === "learned") {
      const p = tf.tidy(() => this.boundaryProbs([row]));
      probValues = (await p.data()) as Float32Array;
      p.dispose();
    }
    const spans = this.spansFor([row], probValues);
    const batch = chunkBatch([row], spans, this.config.maxChunk, this.config.core.blockSize);
    const j = spans[0].findIndex(([s, e]) => s <= last && last < e);
    const slot = j * batch.L + last - spans[0][j][0];
    const out = tf.tidy(() => {
      const { logits } = this.forwardChunks(batch);
      return tf.reshape(tf.slice(logits, [slot, 0], [1, logits.shape[1]]), [logits.shape[1]]);
    });
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  }

  /** Continue `prompt` by `options.tokens` bytes, one byte (one forward pass) at a time. */
  async generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
    const banned = options.banned ?? [256, 257];
    const next = (context: number[]) => this.nextByteLogits(Uint8Array.from(context));
    return Uint8Array.from(await sampleIds(next, promptIds(prompt), this.config.byteWindow, { ...options, banned }));
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  /** Parameters by component: byte embedding, encoder, boundary predictor, core, decoder. */
  parameterBreakdown(): { component: string; parameters: number }[] {
    const by = new Map<string, number>();
    for (const { shape, component } of pooledParameterShapes(this.config)) by.set(component, (by.get(component) ?? 0) + shape.reduce((a, b) => a * b, 1));
    return [...by].map(([component, parameters]) => ({ component, parameters }));
  }

  private param(name: string): Tensor2D {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no parameter named "${name}"`);
    return v as unknown as Tensor2D;
  }

  // -------------------------------------------------------------------------
  // Boundaries

  /** Boundary probabilities [B, N] (chunk ends after byte i) from bytes i-1, i, i+1; learned strategy only. */
  boundaryProbs(rows: readonly Uint8Array[]): Tensor2D {
    const B = rows.length;
    const N = Math.max(1, ...rows.map((r) => r.length));
    const shifted = (offset: number) => {
      const ids = new Int32Array(B * N).fill(PAD);
      rows.forEach((r, b) => {
        for (let i = 0; i < r.length; i++) {
          const j = i + offset;
          if (j >= 0 && j < r.length) ids[b * N + i] = r[j];
        }
      });
      return embeddingLookup(this.param("boundary.embed"), tf.tensor1d(ids, "int32"));
    };
    const features = tf.concat([shifted(-1), shifted(0), shifted(1)], 1) as Tensor2D; // [B*N, 3E]
    const logits = tf.add(linear(features, this.param("boundary.w")), this.param("boundary.bias")); // [B*N, 1]
    return tf.reshape(tf.sigmoid(logits), [B, N]) as Tensor2D;
  }

  /**
   * Chunk spans of each row under this model's strategy. For learned boundaries
   * pass the probabilities' values (from boundaryProbs); otherwise it is pure CPU work.
   */
  spansFor(rows: readonly Uint8Array[], probs?: ArrayLike<number>): Span[][] {
    const c = this.config;
    return rows.map((r, b) => {
      switch (c.strategy) {
        case "stride":
          return strideSpans(r.length, c.stride);
        case "word":
          return wordSpans(r, c.maxChunk);
        case "bpe":
          return bpeSpans(r, this.tokenizer!, c.maxChunk);
        case "learned": {
          if (!probs) throw new Error("learned boundaries need the predictor's probabilities");
          const N = probs.length / rows.length;
          return learnedSpans(Array.prototype.slice.call(probs, b * N, b * N + r.length) as number[], c.learned);
        }
      }
    });
  }

  // -------------------------------------------------------------------------
  // Forward

  /** Byte logits [B*C*L, 258] of every chunk slot; slot (b, j) is predicted from chunks 0..j-1 of row b. */
  forwardChunks(batch: ChunkBatch, options: PooledForwardOptions & { chunkScale?: Tensor2D } = {}): { logits: Tensor2D; pooled: Tensor2D; trace?: PooledTrace } {
    this.assertLive();
    const c = this.config;
    const { B, C, L } = batch;
    if (C > c.core.blockSize) throw new Error(`${C} chunk slots exceed the core's context of ${c.core.blockSize} chunks`);
    const rate = options.dropout ?? c.core.dropout;
    const rng = options.training && rate > 0 ? options.rng : undefined;
    let pooled = linear(this.poolChunks(batch), this.param("encoder.proj")); // [B*C, dModel]
    if (options.chunkScale) pooled = tf.mul(pooled, options.chunkScale);

    // Core: the start vector, then chunks 0..C-2, so position j sees chunks < j only.
    const D = c.core.dModel;
    const start = tf.tile(tf.reshape(this.param("core.start"), [1, 1, D]), [B, 1, 1]);
    const shifted = tf.concat([start, tf.slice(tf.reshape(pooled, [B, C, D]), [0, 0, 0], [B, C - 1, D])], 1); // [B, C, D]
    const { out, attention } = this.core(tf.reshape(shifted, [B * C, D]) as Tensor2D, B, C, rng, options.trace ?? false, rate);

    const logits = this.decode(out, batch); // [B*C*L, V]
    return options.trace ? { logits, pooled, trace: { attention } } : { logits, pooled };
  }

  /**
   * The byte encoder, inside each chunk: each chunk's bytes embedded (plus their
   * position in the chunk), through the encoder blocks and the encoder norm, then
   * averaged over the chunk's bytes: [B*C, byteDim], before the projection to the
   * core's width. Empty chunk slots give zeros.
   */
  private poolChunks(batch: ChunkBatch): Tensor2D {
    const c = this.config;
    const { B, C, L } = batch;
    const E = c.byteDim;
    const byteMask = tf.tensor2d(batch.byteMask, [B * C, L]);
    let h = tf.add(
      tf.reshape(embeddingLookup(this.param("byteEmbed"), tf.tensor1d(batch.ids, "int32")), [B * C, L, E]),
      this.param("encoder.pos")
    ) as Tensor3D; // [B*C, L, E]
    const keyMask = tf.reshape(tf.mul(tf.sub(1, byteMask), -1e9), [B * C, 1, 1, L]) as Tensor4D;
    h = this.byteBlocks("encoder", c.encoderLayers, h, keyMask);
    h = tf.reshape(rmsNorm(tf.reshape(h, [B * C * L, E]) as Tensor2D, this.param("encoder.norm") as unknown as Tensor1D, c.core.normEps), [B * C, L, E]) as Tensor3D;
    const counts = tf.maximum(tf.sum(byteMask, 1, true), 1); // [B*C, 1]
    return tf.div(tf.sum(tf.mul(h, tf.expandDims(byteMask, 2)), 1), counts) as Tensor2D; // [B*C, E], mean over the chunk's bytes
  }

  /**
   * The collapse diagnostic: the variance across chunks of the pooled vectors
   * (after the encoder norm, before the projection), averaged over their
   * byteDim components, over the real chunks of `rows` (at most byteWindow + 1
   * bytes each). A healthy encoder gives each chunk its own vector; when every
   * chunk's vector is the same, the core sees no input and the model can do no
   * better than byte frequencies (see lib/train/collapse.ts). One read-back per call.
   */
  async chunkVariance(rows: readonly Uint8Array[]): Promise<number> {
    return (await this.chunkStatistics(rows)).variance;
  }

  /**
   * chunkVariance's numbers: `variance` (as there), `meanSquare` (the mean over
   * components of the pooled vectors' squared values: variance plus the squared
   * mean, so variance / meanSquare is the share of their energy that differs
   * between chunks) and the number of real chunks (with fewer than 2, both
   * numbers are NaN). One read-back.
   */
  async chunkStatistics(rows: readonly Uint8Array[]): Promise<{ variance: number; meanSquare: number; chunks: number }> {
    this.assertLive();
    const c = this.config;
    const cut = rows.map((r) => r.subarray(0, c.byteWindow + 1));
    let probValues: Float32Array | undefined;
    if (c.strategy === "learned") {
      const p = tf.tidy(() => this.boundaryProbs(cut));
      probValues = (await p.data()) as Float32Array;
      p.dispose();
    }
    const batch = chunkBatch(cut, this.spansFor(cut, probValues), c.maxChunk, c.core.blockSize);
    const real = batch.chunkMask.reduce((a, b) => a + b, 0);
    if (real < 2) return { variance: NaN, meanSquare: NaN, chunks: real }; // no spread to measure
    const v = tf.tidy(() => {
      const pooled = this.poolChunks(batch); // [N, E]
      const mask = tf.tensor2d(batch.chunkMask, [batch.B * batch.C, 1]);
      const mean = tf.div(tf.sum(tf.mul(pooled, mask), 0, true), real); // [1, E]
      const variance = tf.div(tf.sum(tf.mul(tf.square(tf.sub(pooled, mean)), mask), 0), real); // [E]
      const meanSquare = tf.div(tf.sum(tf.mul(tf.square(pooled), mask)), real * c.byteDim);
      return tf.stack([tf.mean(variance), meanSquare]);
    });
    const [variance, meanSquare] = (await v.data()) as Float32Array;
    v.dispose();
    return { variance, meanSquare, chunks: real };
  }

  /** The causal transformer over chunk vectors x [B*C, D]. */
  private core(x: Tensor2D, B: number, T: number, rng: Rng | undefined, trace: boolean, rate = this.config.core.dropout): { out: Tensor2D; attention: Tensor4D[] } {
    const weight = (l: number, n: string) => this.param(`core.blocks.${l}.${n}`);
    return causalTransformer(x, { B, T, config: this.config.core, weight, finalNorm: this.param("core.norm") as unknown as Tensor1D, cos: this.cos, sin: this.sin, mask: this.mask, rng, trace, rate });
  }

  /**
   * Chunk vectors [N, D] (N = B*C, one per chunk slot of `batch`) -> byte logits
   * [N*L, V] for the L slots of each. A causal decoder also reads, in each slot,
   * the byte before the one it predicts (previousBytes), scaled by previousByteScale.
   */
  private decode(v: Tensor2D, batch: ChunkBatch): Tensor2D {
    const c = this.config;
    const N = v.shape[0];
    const L = c.maxChunk;
    const E = c.byteDim;
    let h = tf.reshape(linear(v, this.param("decoder.expand")), [N, L, E]) as Tensor3D;
    let mask: Tensor4D | null = null;
    if (c.causalDecoder) {
      const previous = embeddingLookup(this.param("byteEmbed"), tf.tensor1d(previousBytes(batch), "int32"));
      h = tf.add(h, tf.mul(tf.reshape(previous, [N, L, E]), previousByteScale(c))) as Tensor3D;
      mask = tf.reshape(tf.tensor2d(causalMask(L), [L, L]), [1, 1, L, L]) as Tensor4D;
    }
    h = this.byteBlocks("decoder", c.decoderLayers, h, mask);
    const flat = rmsNorm(tf.reshape(h, [N * L, E]) as Tensor2D, this.param("decoder.norm") as unknown as Tensor1D, c.core.normEps);
    return linearTransposed(flat, this.param("byteEmbed")); // [N*L, V]
  }

  /** Pre-norm blocks over the L bytes of each chunk: h [N, L, E]; an additive mask ([N, 1, 1, L] padding or [1, 1, L, L] causal), or none. */
  private byteBlocks(prefix: string, layers: number, h: Tensor3D, keyMask: Tensor4D | null): Tensor3D {
    const c = this.config;
    const [N, L, E] = h.shape;
    const H = c.byteHeads;
    const D = E / H;
    const heads = (t: Tensor2D) => tf.transpose(tf.reshape(t, [N, L, H, D]), [0, 2, 1, 3]) as Tensor4D; // [N, H, L, D]
    let x = tf.reshape(h, [N * L, E]) as Tensor2D;
    for (let l = 0; l < layers; l++) {
      const p = (n: string) => this.param(`${prefix}.blocks.${l}.${n}`);
      const hn = rmsNorm(x, p("attnNorm") as unknown as Tensor1D, c.core.normEps);
      let scores = tf.mul(tf.matMul(heads(linear(hn, p("attn.wq"))), heads(linear(hn, p("attn.wk"))), false, true), 1 / Math.sqrt(D)); // [N, H, L, L]
      if (keyMask) scores = tf.add(scores, keyMask);
      const out = tf.matMul(tf.softmax(scores), heads(linear(hn, p("attn.wv")))); // [N, H, L, D]
      const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [N * L, E]) as Tensor2D;
      x = tf.add(x, linear(merged, p("attn.wo")));
      const m = rmsNorm(x, p("mlpNorm") as unknown as Tensor1D, c.core.normEps);
      x = tf.add(x, swiglu(m, p("mlp.w1"), p("mlp.w3"), p("mlp.w2")));
    }
    return tf.reshape(x, [N, L, E]) as Tensor3D;
  }

  // -------------------------------------------------------------------------
  // Training and scoring over rows of bytes

  /**
   * Everything one batch of rows needs: spans, the chunk layout, the byte
   * log-probability of each slot [B*C*L], and the learned-boundary terms.
   */
  private scoreRows(rows: Uint8Array[], options: PooledForwardOptions): { batch: ChunkBatch; slotLogProbs: Tensor1D; ratePenalty: Scalar | null } {
    const c = this.config;
    let probs: Tensor2D | null = null;
    let probValues: Float32Array | undefined;
    if (c.strategy === "learned") {
      probs = this.boundaryProbs(rows);
      probValues = probs.dataSync() as Float32Array; // boundaries are decisions made on the CPU
    }
    const spans = this.spansFor(rows, probValues);
    const batch = chunkBatch(rows, spans, c.maxChunk, c.core.blockSize);
    let chunkScale: Tensor2D | undefined;
    let ratePenalty: Scalar | null = null;
    if (probs && probValues) {
      // Straight-through: each chunk vector is scaled by p(end)/p(end), which is 1
      // in value, so the language-model loss reaches the predictor through the
      // probability of each boundary it placed.
      const N = probs.shape[1];
      const select = new Float32Array(batch.B * batch.C * N);
      const inverse = new Float32Array(batch.B * batch.C).fill(1);
      spans.forEach((row, b) =>
        row.forEach(([, e], j) => {
          select[(b * batch.C + j) * N + e - 1] = 1;
          inverse[b * batch.C + j] = 1 / Math.max(probValues![b * N + e - 1], 1e-6);
        })
      );
      const pEnd = tf.matMul(tf.tensor3d(select, [batch.B, batch.C, N]), tf.expandDims(probs, 2)); // [B, C, 1]
      chunkScale = tf.mul(tf.reshape(pEnd, [batch.B * batch.C, 1]), tf.tensor2d(inverse, [batch.B * batch.C, 1])) as Tensor2D;
      const real = new Float32Array(batch.B * N);
      rows.forEach((r, b) => real.fill(1, b * N, b * N + r.length));
      const realMask = tf.tensor2d(real, [batch.B, N]);
      const bytes = Math.max(1, rows.reduce((n, r) => n + r.length, 0));
      const meanP = tf.div(tf.sum(tf.mul(probs, realMask)), bytes);
      // The rate that matters is the thresholded one (chunks per byte); its
      // gradient is taken to be that of the mean probability (straight-through).
      let meanPValue = 0;
      rows.forEach((r, b) => {
        for (let i = 0; i < r.length; i++) meanPValue += probValues![b * N + i];
      });
      const hardRate = spans.reduce((n, row) => n + row.length, 0) / bytes;
      const rate = tf.add(tf.sub(meanP, meanPValue / bytes), hardRate);
      ratePenalty = tf.mul(tf.square(tf.sub(rate, c.learned.targetRate)), c.learned.rateWeight) as Scalar;
    }
    const { logits } = this.forwardChunks(batch, { ...options, chunkScale });
    const slotLogProbs = targetLogProbs(logits, tf.tensor1d(batch.ids, "int32"));
    return { batch, slotLogProbs, ratePenalty };
  }

  /**
   * Mean nats per scored slot (bytes and end marks), plus the learned-boundary
   * and reconstruction terms. Not wrapped in tf.tidy: the id tensors made here
   * must live until the backward pass, so call it inside tf.variableGrads (as
   * the Trainer does) or tf.tidy.
   */
  loss(x: Tensor2D, y: Tensor2D, options: PooledForwardOptions = {}): Scalar {
    {
      const rows = bytesRows(x, y);
      const { batch, slotLogProbs, ratePenalty } = this.scoreRows(rows, options);
      const chunks = batch.spans.reduce((n, s) => n + s.length, 0);
      const bytes = rows.reduce((n, r) => n + r.length, 0);
      this.lastBoundaryRate = chunks / Math.max(1, bytes);
      const target = tf.tensor1d(batch.targetMask);
      let loss = tf.div(tf.neg(tf.sum(tf.mul(slotLogProbs, target))), Math.max(1, batch.targetMask.reduce((a, b) => a + b, 0))) as Scalar;
      if (ratePenalty) loss = tf.add(loss, ratePenalty);
      if (this.config.reconstructionWeight > 0) {
        const { pooled } = this.forwardChunks(batch, options);
        const rec = targetLogProbs(this.decode(pooled, batch), tf.tensor1d(batch.ids, "int32"));
        const recLoss = tf.div(tf.neg(tf.sum(tf.mul(rec, target))), Math.max(1, batch.targetMask.reduce((a, b) => a + b, 0)));
        loss = tf.add(loss, tf.mul(recLoss, this.config.reconstructionWeight));
      }
      return loss;
    }
  }

  /**
   * log p of each target byte y[b, t] in nats, [B, T], as the evaluations of
   * lib/eval/eval.ts ask: the byte's own slot term, plus, for the first byte of a
   * chunk, the end mark of the chunk before it (see the note at the top of this
   * file). Every byte's term then depends on earlier bytes only and on the byte
   * itself as the target, for both decoders and for boundaries that look one
   * byte ahead (words, the learned predictor); the leak tests check this. The
   * last chunk of a row has no next byte; its end mark is dropped, which is exact
   * marginalisation (no slot reads whether its chunk ends).
   */
  tokenLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const rows = bytesRows(x, y);
      const { batch, slotLogProbs } = this.scoreRows(rows, {});
      const own = new Int32Array(B * T);
      const ownMask = new Float32Array(B * T);
      const end = new Int32Array(B * T);
      const endMask = new Float32Array(B * T);
      batch.spans.forEach((row, b) =>
        row.forEach(([s, e], j) => {
          const base = (b * batch.C + j) * batch.L;
          for (let i = s; i < e; i++) {
            if (i === 0) continue; // row byte 0 is x[b, 0]: context, never a target
            own[b * T + i - 1] = base + i - s;
            ownMask[b * T + i - 1] = 1;
          }
          // A full chunk has no end mark; another's goes to row byte e, the next chunk's first.
          if (e - s < batch.L && e < rows[b].length) {
            end[b * T + e - 1] = base + e - s;
            endMask[b * T + e - 1] = 1;
          }
        })
      );
      const pick = (idx: Int32Array, m: Float32Array) => tf.mul(tf.gather(slotLogProbs, tf.tensor1d(idx, "int32")), tf.tensor1d(m));
      return tf.reshape(tf.add(pick(own, ownMask), pick(end, endMask)), [B, T]) as Tensor2D;
    });
  }

  /** Chunk spans of a text of any length under this model's strategy (the learned predictor looks at 3 bytes at a time). */
  async boundaries(bytes: Uint8Array): Promise<Span[]> {
    if (this.config.strategy !== "learned") return this.spansFor([bytes])[0];
    if (bytes.length === 0) return [];
    const p = tf.tidy(() => this.boundaryProbs([bytes]));
    const values = (await p.data()) as Float32Array;
    p.dispose();
    return learnedSpans(values, this.config.learned);
  }

  /** Chunks of one text and the core's attention over them (per layer, [nHead, C, C] of the real chunks). */
  async trace(bytes: Uint8Array): Promise<{ spans: Span[]; boundaryProbs: number[] | null; attention: number[][][][] }> {
    const rows = [bytes.subarray(0, this.config.byteWindow + 1)];
    let probValues: Float32Array | undefined;
    if (this.config.strategy === "learned") {
      const p = tf.tidy(() => this.boundaryProbs(rows));
      probValues = (await p.data()) as Float32Array;
      p.dispose();
    }
    const spans = this.spansFor(rows, probValues);
    const batch = chunkBatch(rows, spans, this.config.maxChunk, this.config.core.blockSize);
    const n = spans[0].length;
    if (n === 0) return { spans: [], boundaryProbs: [], attention: [] };
    const att = tf.tidy(() => {
      const { trace } = this.forwardChunks(batch, { trace: true });
      return tf.stack(trace!.attention.map((a) => tf.slice(a, [0, 0, 0, 0], [1, a.shape[1], n, n])));
    });
    const values = (await att.array()) as number[][][][][];
    att.dispose();
    return { spans: spans[0], boundaryProbs: probValues ? Array.from(probValues.subarray(0, rows[0].length)) : null, attention: values.map((layer) => layer[0]) };
  }

  weights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    return readWeights(this.params);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params) p.variable.dispose();
    this.cos.dispose();
    this.sin.dispose();
    this.mask.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this model was disposed; create or load a new one");
  }
}

export type { Tensor };
