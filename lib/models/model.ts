// A decoder-only byte-level transformer as the STLM paper's code builds it:
// pre-norm RMSNorm, rotary positions, causal multi-head attention (grouped-query
// optional), SwiGLU MLP, dropout, no biases, embedding tied to the output head.
// Config flags switch the MLP to plain GELU and share weights across layers (the
// whole MLP, the attention output projection, or every weight of the interior
// layers, each with an optional LoRA correction of its own); a shared weight is
// one variable that every layer using it reads, so its gradient is the sum of
// theirs and a checkpoint stores it once.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { validateModelConfig, type ModelConfig } from "../config.js";
import type { DropoutSite } from "../train/dropout.js";
import { Rng } from "../rng.js";
import { gelu, geluMlp, loraLinear } from "./blocks.js";
import {
  applyRotary,
  causalAttention,
  causalMask,
  dropout,
  embeddingLookup,
  linear,
  linearTransposed,
  rmsNorm,
  rotaryTables,
  siluMul,
  swiglu,
  targetLogProbs
} from "./layers.js";
import { sample, type SampleOptions } from "../eval/sample.js";
import type { ScoringModel } from "../eval/eval.js";
import type { BytesSpec } from "./models.js";

export interface Param {
  /** Stable name, e.g. "blocks.0.attn.wq"; checkpoints key tensors by it. */
  name: string;
  variable: Variable;
}

export interface ForwardOptions {
  /** Also return attention probabilities. */
  trace?: boolean;
  /** Dropout is active only when training and given an Rng for its masks. */
  training?: boolean;
  rng?: Rng;
  /** Also return the residual stream before the last block and the final normed state (lib/models/objectives.ts's extra heads read them). */
  hidden?: boolean;
  /** This step's dropout rate (the trainer's schedule); the config's rate when absent. */
  dropout?: number;
}

export interface ForwardTrace {
  /** Attention probabilities, one [B, nHead, T, T] tensor per layer. */
  attention: Tensor4D[];
}

export interface ForwardResult {
  /** [B, T, V] */
  logits: Tensor3D;
  trace?: ForwardTrace;
  hidden?: ForwardHidden;
}

export interface ForwardHidden {
  /** The residual stream that enters the last block, [B*T, C]. */
  penultimate: Tensor2D;
  /** The last block's output after the final norm: what the output head reads, [B*T, C]. */
  final: Tensor2D;
}

/** The matrices of one block, by the name they have inside it. */
export const BLOCK_MATRICES = ["attn.wq", "attn.wk", "attn.wv", "attn.wo", "mlp.w1", "mlp.w3", "mlp.w2"] as const;
export type BlockMatrix = (typeof BLOCK_MATRICES)[number];

/**
 * The parameter names layer l reads, after sharing: its own ("blocks.3.attn.wq"),
 * the interior block's ("interior.attn.wq"), or the one all layers share
 * ("shared.mlp.w1"). A shared weight has one name, so it is one variable and one
 * checkpoint tensor. `lora` holds layer l's own low-rank factors for each matrix it
 * takes from the interior block.
 */
export interface BlockParamNames {
  attnNorm: string;
  mlpNorm: string;
  matrices: Partial<Record<BlockMatrix, string>>;
  lora: Partial<Record<BlockMatrix, { a: string; b: string }>>;
}

/** Whether layer l is one of the layers that share the interior block's weights. */
export function isInteriorLayer(c: ModelConfig, l: number): boolean {
  const m = c.interiorMargin ?? -1;
  return m >= 0 && l >= m && l <= c.nLayer - 1 - m;
}

export function blockParamNames(c: ModelConfig, l: number): BlockParamNames {
  const interior = isInteriorLayer(c, l);
  const own = (n: string) => (interior ? `interior.${n}` : `blocks.${l}.${n}`);
  const owner = (m: BlockMatrix) => {
    if (m.startsWith("mlp.") && c.shareFfn) return `shared.${m}`;
    if (m === "attn.wo" && c.shareAttnOut) return "shared.attn.wo";
    return own(m);
  };
  const names: BlockParamNames = { attnNorm: own("attnNorm"), mlpNorm: own("mlpNorm"), matrices: {}, lora: {} };
  for (const m of BLOCK_MATRICES) {
    if (m === "mlp.w3" && (c.ffnType ?? "swiglu") !== "swiglu") continue;
    const name = owner(m);
    names.matrices[m] = name;
    if ((c.loraRank ?? 0) > 0 && name.startsWith("interior.")) names.lora[m] = { a: `blocks.${l}.lora.${m}.a`, b: `blocks.${l}.lora.${m}.b` };
  }
  return names;
}

/** [inputs, outputs] of a block matrix. */
export function matrixShape(c: ModelConfig, m: BlockMatrix): [number, number] {
  const kvDim = c.nKvHead * (c.dModel / c.nHead);
  switch (m) {
    case "attn.wq":
    case "attn.wo":
      return [c.dModel, c.dModel];
    case "attn.wk":
    case "attn.wv":
      return [c.dModel, kvDim];
    case "mlp.w1":
    case "mlp.w3":
      return [c.dModel, c.ffnHidden];
    case "mlp.w2":
      return [c.ffnHidden, c.dModel];
  }
}

/**
 * The shapes of every parameter of a config, each once, in a fixed order: a
 * shared weight where its first user needs it, a layer's LoRA factors after its
 * own weights.
 */
export function parameterShapes(c: ModelConfig): { name: string; shape: number[] }[] {
  const shapes: { name: string; shape: number[] }[] = [{ name: "embed", shape: [c.vocabSize, c.dModel] }];
  const seen = new Set<string>();
  const add = (name: string, shape: number[]) => {
    if (seen.has(name)) return;
    seen.add(name);
    shapes.push({ name, shape });
  };
  for (let l = 0; l < c.nLayer; l++) {
    const n = blockParamNames(c, l);
    add(n.attnNorm, [c.dModel]);
    for (const m of ["attn.wq", "attn.wk", "attn.wv", "attn.wo"] as const) add(n.matrices[m]!, matrixShape(c, m));
    add(n.mlpNorm, [c.dModel]);
    for (const m of ["mlp.w1", "mlp.w3", "mlp.w2"] as const) if (n.matrices[m]) add(n.matrices[m]!, matrixShape(c, m));
    for (const m of BLOCK_MATRICES) {
      const lora = n.lora[m];
      if (!lora) continue;
      const [i, o] = matrixShape(c, m);
      add(lora.a, [i, c.loraRank]);
      add(lora.b, [c.loraRank, o]);
    }
  }
  shapes.push({ name: "finalNorm", shape: [c.dModel] });
  if (!c.tieEmbeddings) shapes.push({ name: "head", shape: [c.vocabSize, c.dModel] });
  return shapes;
}

/** Copies of the values of named parameters, keyed by name: what a checkpoint stores. */
export async function readWeights(params: readonly Param[]): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const p of params) out.set(p.name, { shape: p.variable.shape.slice(), data: (await p.variable.data()) as Float32Array });
  return out;
}

/**
 * The values of `weights` for a model whose parameters are `shapes`: every
 * tensor present with its shape, none left over; a mismatch is a WeightsError
 * naming the tensor. Every model class loads its weights through this.
 */
export function weightValues(shapes: readonly { name: string; shape: readonly number[] }[], weights: Map<string, { shape: number[]; data: Float32Array }>): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const { name, shape } of shapes) {
    const w = weights.get(name);
    if (!w) throw new WeightsError(`weights lack tensor "${name}" that this config needs (was the checkpoint saved from a different model?)`);
    if (w.shape.join("x") !== shape.join("x")) {
      throw new WeightsError(`tensor "${name}" has shape [${w.shape}] but the config expects [${shape}]: the weights and the config do not match`);
    }
    values.set(name, w.data);
  }
  const expected = new Set(shapes.map((s) => s.name));
  const extra = [...weights.keys()].filter((k) => !expected.has(k));
  if (extra.length) throw new WeightsError(`weights hold tensors this config has no place for: ${extra.slice(0, 5).join(", ")}`);
  return values;
}

export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightsError";
  }
}

/** The variables one layer reads; a shared weight is the same Variable object in every layer that uses it. */
interface BlockVariables {
  attnNorm: Tensor1D;
  mlpNorm: Tensor1D;
  matrices: Partial<Record<BlockMatrix, Tensor2D>>;
  lora: Partial<Record<BlockMatrix, { a: Tensor2D; b: Tensor2D }>>;
}

export class TinyLM {
  readonly config: ModelConfig;
  readonly params: readonly Param[];
  private readonly byName: Map<string, Variable>;
  private readonly blocks: BlockVariables[];
  // Constants owned by the model: rotary tables and the causal mask at full context.
  private readonly cos: Tensor2D;
  private readonly sin: Tensor2D;
  private readonly mask: Tensor2D;
  private disposed = false;

  private constructor(config: ModelConfig, values: Map<string, Float32Array>) {
    this.config = validateModelConfig({ ...config });
    const c = this.config;
    this.params = parameterShapes(c).map(({ name, shape }) => {
      const data = values.get(name)!;
      return { name, variable: tf.tidy(() => tf.variable(tf.tensor(data, shape), true)) };
    });
    this.byName = new Map(this.params.map((p) => [p.name, p.variable]));
    this.blocks = Array.from({ length: c.nLayer }, (_, l) => {
      const n = blockParamNames(c, l);
      const v = (name: string) => this.param(name) as unknown as Tensor2D;
      const block: BlockVariables = { attnNorm: v(n.attnNorm) as unknown as Tensor1D, mlpNorm: v(n.mlpNorm) as unknown as Tensor1D, matrices: {}, lora: {} };
      for (const m of BLOCK_MATRICES) {
        const name = n.matrices[m];
        if (name) block.matrices[m] = v(name);
        const lora = n.lora[m];
        if (lora) block.lora[m] = { a: v(lora.a), b: v(lora.b) };
      }
      return block;
    });
    const headSize = c.dModel / c.nHead;
    const { cos, sin } = rotaryTables(c.blockSize, headSize, c.ropeTheta);
    // Doubled to [T, D] once here rather than in every forward pass.
    const doubled = (t: Float32Array) => tf.tidy(() => { const h = tf.tensor2d(t, [c.blockSize, headSize / 2]); return tf.concat([h, h], 1); });
    this.cos = doubled(cos);
    this.sin = doubled(sin);
    this.mask = tf.tensor2d(causalMask(c.blockSize), [c.blockSize, c.blockSize]);
  }

  /**
   * A freshly initialised model: N(0, 0.02) matrices, residual projections scaled
   * by 1/sqrt(2L), unit norms; LoRA factors A ~ N(0, 1/inputs) and B = 0, so every
   * correction starts at exactly zero.
   */
  static create(config: ModelConfig, seed = 1): TinyLM {
    config = validateModelConfig({ ...config });
    const rng = new Rng(seed);
    const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of parameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (shape.length === 1) data.fill(1);
      else if (name.includes(".lora.")) {
        if (name.endsWith(".a")) for (let i = 0; i < n; i++) data[i] = rng.normal() / Math.sqrt(shape[0]);
      } else {
        const std = name.endsWith(".wo") || name.endsWith(".w2") ? residualStd : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      values.set(name, data);
    }
    return new TinyLM(config, values);
  }

  /** A model with the given weights; every tensor must be present with its config's shape. */
  static fromWeights(config: ModelConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): TinyLM {
    config = validateModelConfig({ ...config });
    const values = weightValues(parameterShapes(config), weights);
    return new TinyLM(config, values);
  }

  /** The dropout rate the config asks for (a schedule's base rate). */
  get baseDropout(): number {
    return this.config.dropout;
  }

  get blockSize(): number {
    return this.config.blockSize;
  }

  /** The registry's description of this model (lib/models/models.ts). */
  get spec(): BytesSpec {
    return { kind: "bytes", model: { ...this.config } };
  }

  get byteScorer(): ScoringModel {
    return this;
  }

  generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
    return sample(this, prompt, options);
  }

  param(name: string): Variable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`no parameter named "${name}"`);
    return v;
  }

  variables(): Variable[] {
    return this.params.map((p) => p.variable);
  }

  parameterCount(): number {
    return this.params.reduce((n, p) => n + p.variable.size, 0);
  }

  /** ids int32 [B, T] with T <= blockSize -> logits [B, T, V] (and attention when traced). */
  forward(ids: Tensor2D, options: ForwardOptions = {}): ForwardResult {
    this.assertLive();
    const c = this.config;
    const [B, T] = ids.shape;
    if (T > c.blockSize) throw new Error(`sequence of ${T} tokens is longer than the context (blockSize ${c.blockSize})`);
    const H = c.nHead;
    const Hkv = c.nKvHead;
    const D = c.dModel / H;
    const rate = options.dropout ?? c.dropout;
    const rng = options.training && rate > 0 ? options.rng : undefined;
    const drop = (site: DropoutSite) => (rng && c.dropoutSites.includes(site) ? rate : 0);
    const cos = T === c.blockSize ? this.cos : tf.slice(this.cos, [0, 0], [T, D]);
    const sin = T === c.blockSize ? this.sin : tf.slice(this.sin, [0, 0], [T, D]);
    const mask = T === c.blockSize ? this.mask : tf.slice(this.mask, [0, 0], [T, T]);
    const attention: Tensor4D[] = [];

    const embed = this.param("embed") as unknown as Tensor2D;
    let x = dropout(embeddingLookup(embed, tf.reshape(ids, [B * T]) as Tensor1D), drop("embed"), rng); // [N, C]
    const heads = (t: Tensor2D, h: number) => tf.transpose(tf.reshape(t, [B, T, h, D]), [0, 2, 1, 3]) as Tensor4D; // [B, h, T, D]
    let penultimate = x;
    for (const blk of this.blocks) {
      penultimate = x;
      const proj = (t: Tensor2D, m: BlockMatrix) => {
        const lora = blk.lora[m];
        return lora ? loraLinear(t, blk.matrices[m]!, lora.a, lora.b) : linear(t, blk.matrices[m]!);
      };
      const h = rmsNorm(x, blk.attnNorm, c.normEps);
      const q = applyRotary(heads(proj(h, "attn.wq"), H), cos, sin);
      const k = applyRotary(heads(proj(h, "attn.wk"), Hkv), cos, sin);
      const v = heads(proj(h, "attn.wv"), Hkv);
      const { out, probs } = causalAttention(q, k, v, mask, drop("attn-probs"), rng);
      if (options.trace) attention.push(probs);
      const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * T, c.dModel]) as Tensor2D; // [N, C]
      x = tf.add(x, dropout(proj(merged, "attn.wo"), drop("attn-out"), rng));
      const m = rmsNorm(x, blk.mlpNorm, c.normEps);
      x = tf.add(x, dropout(this.mlp(m, blk, proj), drop("mlp-out"), rng));
    }
    const final = rmsNorm(x, this.param("finalNorm") as unknown as Tensor1D, c.normEps);
    const head = (c.tieEmbeddings ? embed : this.param("head")) as unknown as Tensor2D;
    const logits = tf.reshape(linearTransposed(final, head), [B, T, c.vocabSize]) as Tensor3D;
    return { logits, ...(options.trace ? { trace: { attention } } : {}), ...(options.hidden ? { hidden: { penultimate, final } } : {}) };
  }

  /** The block's MLP on m [N, C]: SwiGLU (three matrices) or GELU (two), with LoRA corrections when the layer has them. */
  private mlp(m: Tensor2D, blk: BlockVariables, proj: (t: Tensor2D, w: BlockMatrix) => Tensor2D): Tensor2D {
    const w = blk.matrices;
    const corrected = blk.lora["mlp.w1"] || blk.lora["mlp.w2"] || blk.lora["mlp.w3"];
    if (this.config.ffnType === "gelu") return corrected ? proj(gelu(proj(m, "mlp.w1")), "mlp.w2") : geluMlp(m, w["mlp.w1"]!, w["mlp.w2"]!);
    if (!corrected) return swiglu(m, w["mlp.w1"]!, w["mlp.w3"]!, w["mlp.w2"]!);
    const gate = proj(m, "mlp.w1");
    return proj(siluMul(gate, proj(m, "mlp.w3")), "mlp.w2");
  }

  /** Mean cross-entropy in nats of y given x, both int32 [B, T]. */
  loss(x: Tensor2D, y: Tensor2D, options: ForwardOptions = {}): Scalar {
    return tf.tidy(() => tf.neg(tf.mean(this.tokenLogProbs(x, y, options))) as Scalar);
  }

  /** log p(y[b, t] | x[b, 0..t]) in nats, [B, T]. */
  tokenLogProbs(x: Tensor2D, y: Tensor2D, options: ForwardOptions = {}): Tensor2D {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const { logits } = this.forward(x, options);
      const lp = targetLogProbs(tf.reshape(logits, [B * T, this.config.vocabSize]) as Tensor2D, tf.reshape(y, [B * T]) as Tensor1D);
      return tf.reshape(lp, [B, T]) as Tensor2D;
    });
  }

  /** Copies of every weight, keyed by parameter name (for checkpoints and tests). */
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

  get isDisposed(): boolean {
    return this.disposed;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("this model was disposed; create or load a new one");
  }
}
