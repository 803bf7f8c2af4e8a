// The token-level baseline: the same transformer as lib/models/model.ts over the ids
// of a BPE that lib/ trained (embedding over the BPE vocabulary, tied head),
// plus one START id that begins every window of ids. Trained on token windows; scored
// on bytes, like every other model of the lab.
//
// Bits per byte of a token model: the log-probability of each token is given
// to the last byte it covers, so a text's summed nats are the sum over its
// tokens, and dividing by its bytes (not its tokens) converts nats per token to
// bits per byte on the same held-out bytes every model is scored on.
import type { Scalar, Tensor2D } from "@tensorflow/tfjs";
import { tf } from "../tf.js";
import { ConfigError, validateModelConfig, type ModelConfig } from "../config.js";
import { BpeTokenizer, validateBpe, type Bpe } from "../text/bpe.js";
import { lastLogits, promptIds, sampleIds, type SampleOptions } from "../eval/sample.js";
import { TinyLM, type Param } from "./model.js";
import type { Rng } from "../rng.js";
import type { ScoringModel } from "../eval/eval.js";
import { bytesRows } from "./pooled.js";
import { targetLogProbs } from "./layers.js";

export interface TokenModelConfig {
  kind: "bpe-tokens";
  bpe: Bpe;
  /** The transformer; vocabSize is the BPE's plus one (START); blockSize counts tokens. */
  model: ModelConfig;
}

export function tokenModelConfig(bpe: Bpe, model: Omit<ModelConfig, "vocabSize">): TokenModelConfig {
  return { kind: "bpe-tokens", bpe, model: validateModelConfig({ ...model, vocabSize: bpe.vocabSize + 1 }) };
}

/** Checks the BPE and the transformer, whose vocabulary must be the BPE's plus START. */
export function validateTokenModelConfig(c: TokenModelConfig): TokenModelConfig {
  validateBpe(c.bpe);
  validateModelConfig(c.model);
  if (c.model.vocabSize !== c.bpe.vocabSize + 1) {
    throw new ConfigError("model.vocabSize", `must be the BPE's vocabulary + 1 (START) = ${c.bpe.vocabSize + 1} (got ${c.model.vocabSize})`);
  }
  return c;
}

/** Token windows of a tokenized split: x = [START, t_s .. t_{s+T-2}], y = [t_s .. t_{s+T-1}]. */
export class TokenBatchSampler {
  constructor(readonly tokens: Int32Array, readonly start: number) {}

  sample(rng: Rng, batchSize: number, blockSize: number): { x: Int32Array; y: Int32Array } {
    const n = this.tokens.length;
    if (n < blockSize + 1) throw new RangeError(`the text is ${n} tokens, shorter than one window of ${blockSize + 1}; give more text or a smaller blockSize.`);
    const x = new Int32Array(batchSize * blockSize);
    const y = new Int32Array(batchSize * blockSize);
    for (let b = 0; b < batchSize; b++) {
      const s = rng.int(n - blockSize);
      x[b * blockSize] = this.start;
      for (let t = 0; t < blockSize; t++) {
        if (t > 0) x[b * blockSize + t] = this.tokens[s + t - 1];
        y[b * blockSize + t] = this.tokens[s + t];
      }
    }
    return { x, y };
  }
}

export class TokenLM {
  readonly config: TokenModelConfig;
  readonly lm: TinyLM;
  readonly tokenizer: BpeTokenizer;
  /** The id that begins every window of ids. */
  readonly start: number;

  private constructor(config: TokenModelConfig, lm: TinyLM) {
    this.config = config;
    this.lm = lm;
    this.tokenizer = new BpeTokenizer(config.bpe);
    this.start = config.bpe.vocabSize;
  }

  static create(config: TokenModelConfig, seed = 1): TokenLM {
    return new TokenLM(config, TinyLM.create(config.model, seed));
  }

  static fromWeights(config: TokenModelConfig, weights: Map<string, { shape: number[]; data: Float32Array }>): TokenLM {
    return new TokenLM(config, TinyLM.fromWeights(config.model, weights));
  }

  get params(): readonly Param[] {
    return this.lm.params;
  }

  /** The registry's description of this model (lib/models/models.ts). */
  get spec(): TokenModelConfig {
    return structuredClone(this.config);
  }

  get byteScorer(): ScoringModel {
    return this.scorer();
  }

  /**
   * Continue `prompt` by `options.tokens` bytes: tokens are drawn (never START)
   * until they cover that many bytes, and the bytes are cut there.
   */
  async generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array> {
    const start = [this.start, ...this.tokenizer.encode(Uint8Array.from(promptIds(prompt)))];
    let bytes = 0;
    // A window that slid past START gets it back in place of its oldest token, as training windows begin.
    const next = (context: number[]) => lastLogits((x) => this.lm.forward(x).logits, context[0] === this.start ? context : [this.start, ...context.slice(1)]);
    const out = await sampleIds(next, start, this.blockSize, {
      ...options,
      banned: [this.start],
      until: (o) => {
        if (o.length) bytes += this.tokenizer.bytesOf(o[o.length - 1]).length;
        return bytes >= options.tokens;
      }
    });
    return this.tokenizer.decode(out).subarray(0, options.tokens);
  }

  /** Context in tokens (what the trainer samples). */
  /** The dropout rate the config asks for (a schedule's base rate). */
  get baseDropout(): number {
    return this.lm.baseDropout;
  }

  get blockSize(): number {
    return this.lm.blockSize;
  }

  parameterCount(): number {
    return this.lm.parameterCount();
  }

  loss(x: Tensor2D, y: Tensor2D, options: { training: boolean; rng?: Rng; dropout?: number }): Scalar {
    return this.lm.loss(x, y, options);
  }

  /** A split's bytes as token ids. */
  tokenize(bytes: Uint8Array): Int32Array {
    return Int32Array.from(this.tokenizer.encode(bytes));
  }

  /**
   * The model as lib/eval/eval.ts scores it: rows of bytes in, log p per target byte
   * out. A row of blockSize + 1 bytes is at most that many tokens, one of them
   * after START, so it fits the token context: blockSize (bytes) = context - 1.
   */
  scorer(): ScoringModel {
    return { blockSize: this.blockSize - 1, tokenLogProbs: (x, y) => this.byteLogProbs(x, y) };
  }

  /** log p per target byte [B, T]: each token's log p on its last byte; a token that ends on x[b, 0] is context. */
  private byteLogProbs(x: Tensor2D, y: Tensor2D): Tensor2D {
    return tf.tidy(() => {
      const [B, T] = x.shape;
      const rows = bytesRows(x, y);
      const encoded = rows.map((r) => this.tokenizer.encodeWithSpans(r));
      const N = Math.max(1, ...encoded.map((e) => e.ids.length));
      if (N > this.blockSize) throw new Error(`a row of ${N} tokens exceeds the context of ${this.blockSize}`);
      const xs = new Int32Array(B * N).fill(this.start);
      const ys = new Int32Array(B * N);
      const index = new Int32Array(B * T);
      const mask = new Float32Array(B * T);
      encoded.forEach(({ ids, spans }, b) => {
        ids.forEach((id, k) => {
          if (k + 1 < N) xs[b * N + k + 1] = id;
          ys[b * N + k] = id;
          const last = spans[k][1] - 1; // row byte index; row byte i is y[b, i - 1]
          if (last >= 1) {
            index[b * T + last - 1] = b * N + k;
            mask[b * T + last - 1] = 1;
          }
        });
      });
      const { logits } = this.lm.forward(tf.tensor2d(xs, [B, N], "int32"));
      const lp = targetLogProbs(tf.reshape(logits, [B * N, this.lm.config.vocabSize]) as Tensor2D, tf.tensor1d(ys, "int32"));
      return tf.reshape(tf.mul(tf.gather(lp, tf.tensor1d(index, "int32")), tf.tensor1d(mask)), [B, T]) as Tensor2D;
    });
  }

  async weights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    return this.lm.weights();
  }

  dispose(): void {
    this.lm.dispose();
  }
}
