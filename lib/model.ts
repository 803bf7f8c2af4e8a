// A decoder-only byte-level transformer as the STLM paper's code builds it:
// pre-norm RMSNorm, rotary positions, causal multi-head attention (grouped-query
// optional), SwiGLU MLP, dropout, no biases, embedding tied to the output head.
import type { Scalar, Tensor1D, Tensor2D, Tensor3D, Tensor4D, Variable } from "@tensorflow/tfjs";
import { tf } from "./tf.js";
import { validateModelConfig, type ModelConfig } from "./config.js";
import { Rng } from "./rng.js";
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
  swiglu,
  targetLogProbs
} from "./layers.js";

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
}

export interface ForwardTrace {
  /** Attention probabilities, one [B, nHead, T, T] tensor per layer. */
  attention: Tensor4D[];
}

export interface ForwardResult {
  /** [B, T, V] */
  logits: Tensor3D;
  trace?: ForwardTrace;
}

/** The shapes every parameter of a config has, in a fixed order. */
export function parameterShapes(c: ModelConfig): { name: string; shape: number[] }[] {
  const headSize = c.dModel / c.nHead;
  const kvDim = c.nKvHead * headSize;
  const shapes: { name: string; shape: number[] }[] = [{ name: "embed", shape: [c.vocabSize, c.dModel] }];
  for (let l = 0; l < c.nLayer; l++) {
    const p = `blocks.${l}`;
    shapes.push(
      { name: `${p}.attnNorm`, shape: [c.dModel] },
      { name: `${p}.attn.wq`, shape: [c.dModel, c.dModel] },
      { name: `${p}.attn.wk`, shape: [c.dModel, kvDim] },
      { name: `${p}.attn.wv`, shape: [c.dModel, kvDim] },
      { name: `${p}.attn.wo`, shape: [c.dModel, c.dModel] },
      { name: `${p}.mlpNorm`, shape: [c.dModel] },
      { name: `${p}.mlp.w1`, shape: [c.dModel, c.ffnHidden] },
      { name: `${p}.mlp.w3`, shape: [c.dModel, c.ffnHidden] },
      { name: `${p}.mlp.w2`, shape: [c.ffnHidden, c.dModel] }
    );
  }
  shapes.push({ name: "finalNorm", shape: [c.dModel] });
  if (!c.tieEmbeddings) shapes.push({ name: "head", shape: [c.vocabSize, c.dModel] });
  return shapes;
}

export class WeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightsError";
  }
}

export class TinyLM {
  readonly config: ModelConfig;
  readonly params: readonly Param[];
  private readonly byName: Map<string, Variable>;
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
    const headSize = c.dModel / c.nHead;
    const { cos, sin } = rotaryTables(c.blockSize, headSize, c.ropeTheta);
    this.cos = tf.tensor2d(cos, [c.blockSize, headSize / 2]);
    this.sin = tf.tensor2d(sin, [c.blockSize, headSize / 2]);
    this.mask = tf.tensor2d(causalMask(c.blockSize), [c.blockSize, c.blockSize]);
  }

  /** A freshly initialised model: N(0, 0.02) matrices, residual projections scaled by 1/sqrt(2L), unit norms. */
  static create(config: ModelConfig, seed = 1): TinyLM {
    validateModelConfig(config);
    const rng = new Rng(seed);
    const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of parameterShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      if (shape.length === 1) data.fill(1);
      else {
        const std = name.endsWith(".wo") || name.endsWith(".w2") ? residualStd : 0.02;
        for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
      }
      values.set(name, data);
    }
    return new TinyLM(config, values);
  }

  /** A model with the given weights; every tensor must be present with its config's shape. */
  static fromWeights(config: ModelConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): TinyLM {
    validateModelConfig(config);
    const values = new Map<string, Float32Array>();
    for (const { name, shape } of parameterShapes(config)) {
      const w = weights.get(name);
      if (!w) throw new WeightsError(`weights lack tensor "${name}" that this config needs (was the checkpoint saved from a different model?)`);
      if (w.shape.join("x") !== shape.join("x")) {
        throw new WeightsError(`tensor "${name}" has shape [${w.shape}] but the config expects [${shape}]: the weights and the config do not match`);
      }
      values.set(name, w.data);
    }
    const expected = new Set(parameterShapes(config).map((s) => s.name));
    const extra = [...weights.keys()].filter((k) => !expected.has(k));
    if (extra.length) throw new WeightsError(`weights hold tensors this config has no place for: ${extra.slice(0, 5).join(", ")}`);
    return new TinyLM(config, values);
  }

  get blockSize(): number {
    return this.config.blockSize;
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
    const rng = options.training && c.dropout > 0 ? options.rng : undefined;
    const cos = T === c.blockSize ? this.cos : tf.slice(this.cos, [0, 0], [T, D / 2]);
    const sin = T === c.blockSize ? this.sin : tf.slice(this.sin, [0, 0], [T, D / 2]);
    const mask = T === c.blockSize ? this.mask : tf.slice(this.mask, [0, 0], [T, T]);
    const attention: Tensor4D[] = [];

    const embed = this.param("embed") as unknown as Tensor2D;
    let x = dropout(embeddingLookup(embed, tf.reshape(ids, [B * T]) as Tensor1D), c.dropout, rng); // [N, C]
    const heads = (t: Tensor2D, h: number) => tf.transpose(tf.reshape(t, [B, T, h, D]), [0, 2, 1, 3]) as Tensor4D; // [B, h, T, D]
    for (let l = 0; l < c.nLayer; l++) {
      const p = (n: string) => this.param(`blocks.${l}.${n}`) as unknown as Tensor2D;
      const h = rmsNorm(x, p("attnNorm") as unknown as Tensor1D, c.normEps);
      const q = applyRotary(heads(linear(h, p("attn.wq")), H), cos, sin);
      const k = applyRotary(heads(linear(h, p("attn.wk")), Hkv), cos, sin);
      const v = heads(linear(h, p("attn.wv")), Hkv);
      const { out, probs } = causalAttention(q, k, v, mask);
      if (options.trace) attention.push(probs);
      const merged = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B * T, c.dModel]) as Tensor2D; // [N, C]
      x = tf.add(x, dropout(linear(merged, p("attn.wo")), c.dropout, rng));
      const m = rmsNorm(x, p("mlpNorm") as unknown as Tensor1D, c.normEps);
      x = tf.add(x, dropout(swiglu(m, p("mlp.w1"), p("mlp.w3"), p("mlp.w2")), c.dropout, rng));
    }
    const final = rmsNorm(x, this.param("finalNorm") as unknown as Tensor1D, c.normEps);
    const head = (c.tieEmbeddings ? embed : this.param("head")) as unknown as Tensor2D;
    const logits = tf.reshape(linearTransposed(final, head), [B, T, c.vocabSize]) as Tensor3D;
    return options.trace ? { logits, trace: { attention } } : { logits };
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
  async weights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const p of this.params) out.set(p.name, { shape: p.variable.shape.slice(), data: (await p.variable.data()) as Float32Array });
    return out;
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
