// Training objectives other than next-byte prediction, for the plain byte model.
//
// Multi-byte prediction (Gloeckle et al. 2024, "Better & Faster Large Language
// Models via Multi-token Prediction", arXiv 2404.19737): one shared trunk and n
// output heads, head k predicting byte t+k from the bytes up to t, all through the
// one tied unembedding. Head 1 is the plain model itself (its nLayer blocks, final
// norm and tied head), so validation bits/byte, `stlm eval` and plain sampling read
// exactly what a next-byte model would. The extra heads k = 2..n are either
//   "layer":  one transformer block of their own, parallel to the trunk's last
//             block (it reads the residual stream that enters that block), and a
//             final norm of their own: the paper's layout, where the trunk is the
//             first nLayer-1 blocks and every head is one block;
//   "linear": a C x C map of the trunk's final normed state (starting as the
//             identity, so each extra head starts as a copy of head 1): cheaper.
// The loss is the mean of the heads' cross-entropies, each over the positions whose
// target byte lies inside the window: head k has targets at positions 0..T-k only.
// The paper saves memory by running each head's forward and backward in turn; here
// the Trainer takes one gradient of one loss (tf.variableGrads), and with a 258-byte
// vocabulary each head's logits are small ([B*T, 258]), so the heads run together.
//
// Next-token masked prediction (MNTP; LLM2Vec, BehnamGhader et al. 2024,
// arXiv 2404.05961): a fraction `rate` of the input bytes is replaced by a mask id,
// and the model predicts the original byte at a masked position from the position
// before it, a loss mixed with the ordinary next-byte loss by `weight`. In the
// STLM code (LeonGuertler/SuperTinyLanguageModels, trainers/dataloader.py's
// NextTokenMLMDataloader and trainers/loss_fn.py's next_token_mlm_loss_fn) the
// dataloader draws a mask uniformly at `masking_pct` (default 0.15), sets the masked
// inputs to id 0, and the loss is the cross-entropy of the next token taken at the
// masked positions only. Here the mask id is also 0, which for bytes is NUL, a byte
// the corpora never hold, so no vocabulary entry is added; the masked byte is the
// target of the position before it (LLM2Vec's rule, which in a causal model is the
// only position that has not seen it); and the next-byte loss over every position
// is kept, the masked targets counting 1 + weight times: loss = sum_t w_t CE_t /
// sum_t w_t. With rate 0 no target is weighted up and the loss is next-byte
// training's. PAD and EOT are never masked. Masks are drawn from the Trainer's
// dropout stream, so a run is reproducible from its seed and resumes exactly.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { addN } from "../add-n.js";
import { ConfigError, validateModelConfig, type ModelConfig } from "../config.js";
import { Rng } from "../rng.js";
import { causalMask, causalTransformer, linear, linearTransposed, rotaryTables, targetLogProbs } from "./layers.js";
import { TinyLM, matrixShape, parameterShapes, readWeights, weightValues, type ForwardOptions, type Param } from "./model.js";
import { sample, type SampleOptions } from "../eval/sample.js";
import type { ScoringModel } from "../eval/eval.js";
import type { BytesSpec, TensorMap } from "./models.js";

export type MtpHeadType = "layer" | "linear";
export const MTP_HEAD_TYPES: readonly MtpHeadType[] = ["layer", "linear"];

/** The training objective of a byte model; a spec without one trains on next-byte prediction. */
export type Objective =
  | { kind: "mtp"; /** Heads in all, head 1 included: 2 .. MTP_MAX_HEADS. */ heads: number; headType: MtpHeadType }
  | { kind: "mntp"; /** Fraction of input bytes masked, in [0, 1). */ rate: number; /** Extra weight of a masked byte's loss, >= 0. */ weight: number };

export const MTP_MAX_HEADS = 8;
/** The id a masked input byte becomes: 0, as in the STLM code; for bytes, NUL. */
export const MNTP_MASK_ID = 0;
/** Ids at or above this (PAD 256, EOT 257) are never masked. */
const FIRST_SPECIAL = 256;

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Checks an objective field by field; throws a ConfigError naming the first bad one. */
export function validateObjective(o: Objective, model: ModelConfig): Objective {
  const bad = (field: string, rule: string, got: unknown): never => {
    throw new ConfigError(`objective.${field}`, `${rule} (got ${JSON.stringify(got)})`);
  };
  if (typeof o !== "object" || o === null || Array.isArray(o)) bad("kind", 'must be an object {kind: "mtp", heads, headType} or {kind: "mntp", rate, weight}', o);
  if (o.kind === "mtp") {
    const known = ["kind", "heads", "headType"];
    for (const k of Object.keys(o)) if (!known.includes(k)) bad(k, `unknown setting of the mtp objective; known ones are ${known.join(", ")}`, k);
    if (!(isInt(o.heads) && o.heads >= 2 && o.heads <= MTP_MAX_HEADS)) bad("heads", `must be a whole number from 2 to ${MTP_MAX_HEADS} (heads in all, the next-byte head included)`, o.heads);
    if (o.heads >= model.blockSize) bad("heads", `must be smaller than the context (blockSize ${model.blockSize}): head k needs targets k bytes ahead inside the window`, o.heads);
    if (!MTP_HEAD_TYPES.includes(o.headType)) bad("headType", `must be one of ${MTP_HEAD_TYPES.map((t) => `"${t}"`).join(", ")}`, o.headType);
    return { kind: "mtp", heads: o.heads, headType: o.headType };
  }
  if (o.kind === "mntp") {
    const known = ["kind", "rate", "weight"];
    for (const k of Object.keys(o)) if (!known.includes(k)) bad(k, `unknown setting of the mntp objective; known ones are ${known.join(", ")}`, k);
    if (!(isNum(o.rate) && o.rate >= 0 && o.rate < 1)) bad("rate", "must be a number in [0, 1): the fraction of input bytes masked", o.rate);
    if (!(isNum(o.weight) && o.weight >= 0 && o.weight <= 100)) bad("weight", "must be a number from 0 to 100: the extra weight of a masked byte's loss", o.weight);
    return { kind: "mntp", rate: o.rate, weight: o.weight };
  }
  return bad("kind", 'must be "mtp" (multi-byte prediction) or "mntp" (next-token masked prediction)', (o as { kind?: unknown }).kind);
}

/** A short name: "next-byte", "mtp:4 (layer)", "mntp:0.15". */
export function objectiveLabel(o: Objective | undefined): string {
  if (!o) return "next-byte";
  return o.kind === "mtp" ? `mtp:${o.heads} (${o.headType})` : `mntp:${o.rate}${o.weight !== 1 ? `:${o.weight}` : ""}`;
}

/** The names of head k's weights (k >= 2). */
function headNames(k: number, type: MtpHeadType): string[] {
  const p = `mtp.${k}.`;
  return type === "linear" ? [`${p}proj`] : ["attnNorm", "attn.wq", "attn.wk", "attn.wv", "attn.wo", "mlpNorm", "mlp.w1", "mlp.w3", "mlp.w2", "finalNorm"].map((n) => p + n);
}

/** The extra heads' weights, in creation order: heads 2..n, each block's weights then its final norm. Their MLPs are SwiGLU whatever the trunk's. */
export function objectiveParameterShapes(c: ModelConfig, o: Objective | undefined): { name: string; shape: number[] }[] {
  if (!o || o.kind !== "mtp") return [];
  const out: { name: string; shape: number[] }[] = [];
  for (let k = 2; k <= o.heads; k++) {
    for (const name of headNames(k, o.headType)) {
      const local = name.slice(`mtp.${k}.`.length);
      let shape: number[];
      if (local === "proj") shape = [c.dModel, c.dModel];
      else if (local.endsWith("Norm")) shape = [c.dModel];
      else shape = matrixShape({ ...c, ffnType: "swiglu" }, local as Parameters<typeof matrixShape>[1]);
      out.push({ name, shape });
    }
  }
  return out;
}

/**
 * The MNTP mask of a batch of input ids: one draw from `rng` per position whatever
 * the ids (so the stream advances the same on every batch), 1 where the draw falls
 * under `rate` and the id is a byte (PAD and EOT are never masked).
 */
export function mntpMask(ids: ArrayLike<number>, rate: number, rng: Rng): Uint8Array {
  const mask = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) mask[i] = rng.next() < rate && ids[i] < FIRST_SPECIAL ? 1 : 0;
  return mask;
}

/**
 * Per-position loss weights of MNTP for a [B, T] mask: position t's target is the
 * input byte at t+1, so it weighs 1 + weight when that byte was masked. The last
 * position's target lies past the window and was never an input: weight 1.
 */
export function mntpTargetWeights(mask: Uint8Array, B: number, T: number, weight: number): Float32Array {
  const w = new Float32Array(B * T).fill(1);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) if (mask[b * T + t + 1]) w[b * T + t] += weight;
  return w;
}

/** Rows [0, L) of the targets of head k (1-based) for inputs of length T: the bytes k ahead, L = T - k + 1. */
export function headTargetLength(T: number, k: number): number {
  return Math.max(0, T - k + 1);
}

interface LayerHead {
  kind: "layer";
  weights: Record<string, Tensor2D>;
  finalNorm: Tensor1D;
}
interface LinearHead {
  kind: "linear";
  proj: Tensor2D;
}

/** A byte model trained on another objective: the plain model (head 1) plus what the objective adds. */
export class ObjectiveLM {
  readonly config: ModelConfig;
  readonly objective: Objective;
  readonly trunk: TinyLM;
  readonly params: readonly Param[];
  private readonly headParams: Param[];
  private readonly heads: (LayerHead | LinearHead)[];
  private readonly cos: Tensor2D;
  private readonly sin: Tensor2D;
  private readonly mask: Tensor2D;
  private disposed = false;

  private constructor(config: ModelConfig, objective: Objective, trunk: TinyLM, values: Map<string, Float32Array>) {
    this.config = trunk.config;
    this.objective = objective;
    this.trunk = trunk;
    this.headParams = objectiveParameterShapes(config, objective).map(({ name, shape }) => ({ name, variable: tf.tidy(() => tf.variable(tf.tensor(values.get(name)!, shape), true)) }));
    this.params = [...trunk.params, ...this.headParams];
    const byName = new Map(this.headParams.map((p) => [p.name, p.variable as Variable]));
    this.heads = [];
    if (objective.kind === "mtp") {
      for (let k = 2; k <= objective.heads; k++) {
        const p = `mtp.${k}.`;
        if (objective.headType === "linear") this.heads.push({ kind: "linear", proj: byName.get(`${p}proj`) as unknown as Tensor2D });
        else {
          const weights: Record<string, Tensor2D> = {};
          for (const name of headNames(k, "layer")) weights[name.slice(p.length)] = byName.get(name) as unknown as Tensor2D;
          this.heads.push({ kind: "layer", weights, finalNorm: weights.finalNorm as unknown as Tensor1D });
        }
      }
    }
    const c = this.config;
    const D = c.dModel / c.nHead;
    const { cos, sin } = rotaryTables(c.blockSize, D, c.ropeTheta);
    const doubled = (t: Float32Array) => tf.tidy(() => { const h = tf.tensor2d(t, [c.blockSize, D / 2]); return tf.concat([h, h], 1); });
    this.cos = doubled(cos);
    this.sin = doubled(sin);
    this.mask = tf.tensor2d(causalMask(c.blockSize), [c.blockSize, c.blockSize]);
  }

  /**
   * The trunk is initialised exactly as TinyLM.create(config, seed) would; the extra
   * heads from a stream of their own, as the trunk's blocks are (norms 1, matrices
   * N(0, 0.02), residual projections scaled by 1/sqrt(2L)); linear heads start as the identity.
   */
  static create(config: ModelConfig, objective: Objective, seed = 1): ObjectiveLM {
    config = validateModelConfig({ ...config });
    objective = validateObjective(objective, config);
    const trunk = TinyLM.create(config, seed);
    const rng = new Rng((seed ^ 0x6d7470) >>> 0);
    const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of objectiveParameterShapes(config, objective)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (shape.length === 1) data.fill(1);
      else if (name.endsWith(".proj")) for (let i = 0; i < shape[0]; i++) data[i * shape[0] + i] = 1;
      else {
        const std = name.endsWith(".wo") || name.endsWith(".w2") ? residualStd : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      values.set(name, data);
    }
    return new ObjectiveLM(config, objective, trunk, values);
  }

  /** A model with the given weights: the trunk's and the heads', every tensor present with its shape and none left over. */
  static fromWeights(config: ModelConfig, objective: Objective, weights: TensorMap): ObjectiveLM {
    config = validateModelConfig({ ...config });
    objective = validateObjective(objective, config);
    const trunkShapes = parameterShapes(config);
    const values = weightValues([...trunkShapes, ...objectiveParameterShapes(config, objective)], weights);
    const trunkNames = new Set(trunkShapes.map((s) => s.name));
    const trunk = TinyLM.fromWeights(config, new Map([...weights].filter(([n]) => trunkNames.has(n))));
    return new ObjectiveLM(config, objective, trunk, values);
  }

  /** The dropout rate the config asks for (a schedule's base rate). */
  get baseDropout(): number {
    return this.config.dropout;
  }

  get blockSize(): number {
    return this.config.blockSize;
  }

  /** Heads in all (1 for MNTP: the next-byte head). */
  get headCount(): number {
    return this.objective.kind === "mtp" ? this.objective.heads : 1;
  }

  get spec(): BytesSpec {
    return { kind: "bytes", model: { ...this.config }, objective: { ...this.objective } };
  }

  /** Head 1, the next-byte head: the plain model, scored as any other. */
  get byteScorer(): ScoringModel {
    return this.trunk;
  }

  /** Plain sampling from head 1 (lib/eval/speculative.ts drafts with the other heads). */
  generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
    return sample(this.trunk, prompt, options);
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  weights(): Promise<TensorMap> {
    return readWeights(this.params);
  }

  /** Every head's logits for ids [B, T]: [head 1, head 2, ...], each [B, T, V]; head k at position t predicts byte t+k. */
  forwardHeads(ids: Tensor2D, options: ForwardOptions = {}): Tensor3D[] {
    this.assertLive();
    const c = this.config;
    const [B, T] = ids.shape;
    const { logits, hidden } = this.trunk.forward(ids, { ...options, hidden: this.heads.length > 0 });
    if (!this.heads.length) return [logits];
    const rate = options.dropout ?? c.dropout;
    const rng = options.training && rate > 0 ? options.rng : undefined;
    const unembed = (c.tieEmbeddings ? this.trunk.param("embed") : this.trunk.param("head")) as unknown as Tensor2D;
    const out: Tensor3D[] = [logits];
    for (const h of this.heads) {
      const z =
        h.kind === "linear"
          ? linear(hidden!.final, h.proj)
          : causalTransformer(hidden!.penultimate, { B, T, config: { ...c, nLayer: 1 }, weight: (_l, n) => h.weights[n], finalNorm: h.finalNorm, cos: this.cos, sin: this.sin, mask: this.mask, rng, rate }).out;
      out.push(tf.reshape(linearTransposed(z, unembed), [B, T, c.vocabSize]) as Tensor3D);
    }
    return out;
  }

  /** Each head's mean cross-entropy in nats over the positions whose target lies inside the window, as scalars [head 1, head 2, ...]. */
  headLosses(x: Tensor2D, y: Tensor2D, options: ForwardOptions = {}): Scalar[] {
    const [B, T] = x.shape;
    const V = this.config.vocabSize;
    const logits = this.forwardHeads(x, options);
    const losses: Scalar[] = [];
    logits.forEach((l, i) => {
      const L = headTargetLength(T, i + 1);
      if (L === 0) return;
      const rows = tf.reshape(L === T ? l : tf.slice(l, [0, 0, 0], [B, L, V]), [B * L, V]) as Tensor2D; // [B*L, V]
      const targets = tf.reshape(i === 0 ? y : tf.slice(y, [0, i], [B, L]), [B * L]) as Tensor1D; // y[t + i] = x[t + i + 1]
      losses.push(tf.neg(tf.mean(targetLogProbs(rows, targets))) as Scalar);
    });
    return losses;
  }

  /** The training loss in nats: mtp, the mean of the heads' losses; mntp, the weighted next-byte loss on masked inputs (when training with an rng; else next-byte's). */
  loss(x: Tensor2D, y: Tensor2D, options: ForwardOptions = {}): Scalar {
    return tf.tidy(() => {
      const o = this.objective;
      if (o.kind === "mtp") return tf.div(addN(this.headLosses(x, y, options)), this.headCount) as Scalar;
      if (!options.training || !options.rng) return this.trunk.loss(x, y, options);
      const [B, T] = x.shape;
      // The ids are the batch's own, uploaded from the CPU a moment ago; reading them back is no device round trip on the wasm and cpu backends.
      const mask = mntpMask(x.dataSync(), o.rate, options.rng);
      const masked = tf.where(tf.tensor2d(mask, [B, T], "bool"), tf.fill([B, T], MNTP_MASK_ID, "int32"), x) as Tensor2D;
      const w = tf.tensor2d(mntpTargetWeights(mask, B, T, o.weight), [B, T]);
      const lp = this.trunk.tokenLogProbs(masked, y, options); // [B, T]
      return tf.div(tf.neg(tf.sum(tf.mul(lp, w))), tf.sum(w)) as Scalar;
    });
  }

  /** log p(y | x) of head 1, [B, T]. */
  tokenLogProbs(x: Tensor2D, y: Tensor2D, options: ForwardOptions = {}): Tensor2D {
    return this.trunk.tokenLogProbs(x, y, options);
  }

  /**
   * The logits of every head at positions from..T-1 of one context, read back at
   * once: out[h][r] is head h+1's logits at position from + r. What speculative
   * sampling reads per forward pass.
   */
  async headLogitsAt(context: readonly number[], from: number): Promise<Float32Array[][]> {
    const T = context.length;
    if (from < 0 || from >= T) throw new RangeError(`from must be a position of the context (0..${T - 1}; got ${from})`);
    const V = this.config.vocabSize;
    const n = this.headCount;
    const rows = T - from;
    const stacked = tf.tidy(() => {
      const heads = this.forwardHeads(tf.tensor2d(Int32Array.from(context), [1, T], "int32"));
      return tf.stack(heads.map((l) => tf.slice(l, [0, from, 0], [1, rows, V]))); // [n, 1, rows, V]
    });
    const data = (await stacked.data()) as Float32Array;
    stacked.dispose();
    return Array.from({ length: n }, (_, h) => Array.from({ length: rows }, (_, r) => data.slice((h * rows + r) * V, (h * rows + r + 1) * V)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.trunk.dispose();
    for (const p of this.headParams) p.variable.dispose();
    this.cos.dispose();
    this.sin.dispose();
    this.mask.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this model was disposed; create or load a new one");
  }
}
