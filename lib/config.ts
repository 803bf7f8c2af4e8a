// Model and training configuration: one plain object each, validated, with named
// presets. Field names follow the field's vocabulary (dModel, nLayer, blockSize).
import { BYTE_VOCAB_SIZE } from "./text/tokenizer.js";
import { ConfigError } from "./config-error.js";
import { DEFAULT_DROPOUT_SITES, DROPOUT_SITES, parseDropoutSchedule, type DropoutSite } from "./train/dropout.js";

export interface ModelConfig {
  /** Size of the input vocabulary; 258 for bytes (256 + pad + end-of-text). */
  vocabSize: number;
  dModel: number;
  nLayer: number;
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention); equal to nHead for plain multi-head. */
  nKvHead: number;
  /** Hidden width of the MLP. */
  ffnHidden: number;
  /** "swiglu": (silu(x W1) * x W3) W2, three matrices; "gelu": gelu(x W1) W2, two. */
  ffnType: FfnType;
  /** Context length in tokens. */
  blockSize: number;
  /** Dropout rate (the schedule's base rate: see TrainConfig.dropoutSchedule). */
  dropout: number;
  /** Where dropout acts (lib/train/dropout.ts); the lab's placement when absent. */
  dropoutSites: DropoutSite[];
  /** Output head shares the embedding matrix (one variable, not a copy). */
  tieEmbeddings: boolean;
  /** Every layer uses one MLP (one set of variables), as in MobiLlama. */
  shareFfn: boolean;
  /** Every layer uses one attention output projection. */
  shareAttnOut: boolean;
  /**
   * Interior sharing: when >= 0, layers interiorMargin .. nLayer-1-interiorMargin
   * (0-based) use one block's weights; the first and last interiorMargin layers keep
   * their own. -1 turns it off. shareFfn and shareAttnOut take precedence for
   * the weights they cover.
   */
  interiorMargin: number;
  /**
   * Rank of each interior layer's own low-rank correction W + A B to every matrix it
   * takes from the interior block (B starts at zero); 0: none. Needs interiorMargin >= 0.
   */
  loraRank: number;
  ropeTheta: number;
  normEps: number;
}

export type FfnType = "swiglu" | "gelu";
export const FFN_TYPES: readonly FfnType[] = ["swiglu", "gelu"];

export interface TrainConfig {
  batchSize: number;
  steps: number;
  /** Peak learning rate, reached after warmup, then cosine decay to minLrRatio * lr. */
  learningRate: number;
  warmupSteps: number;
  minLrRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this value; 0 turns clipping off. */
  gradClip: number;
  /** Evaluate validation bits/byte every evalEvery steps (0: only at the end). */
  evalEvery: number;
  /** Bytes of validation text each evaluation reads. */
  evalBytes: number;
  seed: number;
  /** The dropout rate at each step (lib/train/dropout.ts's forms: constant, linear:A:B, triangle:A:B, early:K, late:K). */
  dropoutSchedule: string;
}

export interface Preset {
  name: string;
  description: string;
  model: ModelConfig;
  train: TrainConfig;
}

const baseModel: ModelConfig = {
  vocabSize: BYTE_VOCAB_SIZE,
  dModel: 64,
  nLayer: 4,
  nHead: 4,
  nKvHead: 4,
  ffnHidden: 192,
  ffnType: "swiglu",
  blockSize: 128,
  dropout: 0,
  dropoutSites: [...DEFAULT_DROPOUT_SITES],
  tieEmbeddings: true,
  shareFfn: false,
  shareAttnOut: false,
  interiorMargin: -1,
  loraRank: 0,
  ropeTheta: 10000,
  normEps: 1e-5
};

const baseTrain: TrainConfig = {
  batchSize: 16,
  steps: 500,
  learningRate: 3e-3,
  warmupSteps: 50,
  minLrRatio: 0.1,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  gradClip: 1.0,
  evalEvery: 100,
  evalBytes: 16384,
  seed: 1,
  dropoutSchedule: "constant"
};

export const PRESETS: Record<string, Preset> = {
  nano: {
    name: "nano",
    description: "d_model 64, 4 layers, 4 heads, SwiGLU 192, context 128 (~0.23M parameters): learns visibly in a minute in a browser.",
    model: { ...baseModel },
    train: { ...baseTrain }
  },
  micro: {
    name: "micro",
    description: "d_model 128, 4 layers, 4 heads, SwiGLU 384, context 128 (~0.89M parameters): the benchmark model.",
    model: { ...baseModel, dModel: 128, ffnHidden: 384 },
    train: { ...baseTrain, learningRate: 2e-3 }
  }
};

/**
 * The byte encoder and decoder that replace a token vocabulary in a pooled byte
 * model (the tokenizer-free issue): bytes are embedded (with learned positions inside
 * a chunk of at most chunkSize bytes), run through small bidirectional blocks at
 * byteWidth, normed, mean-pooled and projected to the core's width; the decoder
 * maps a core vector to chunkSize x byteWidth, runs its own small blocks and a norm,
 * and predicts each byte of the next chunk through a byteWidth -> byteVocabSize head.
 * Byte blocks are pre-norm (two RMSNorm gains), full multi-head attention and an MLP,
 * without biases. lib/models/ledger.ts counts this layout; a pooled model that differs should
 * extend this config rather than the ledger guess.
 */
export interface ByteCodecConfig {
  /** 258: 256 byte values, pad and end-of-text. */
  byteVocabSize: number;
  byteWidth: number;
  /** Most bytes in one chunk (the paper's chunk window). */
  chunkSize: number;
  encoderLayers: number;
  decoderLayers: number;
  /** Heads of the byte blocks (plain multi-head attention). */
  byteHeads: number;
  /** Hidden width of the byte blocks' MLP. */
  byteFfnHidden: number;
  byteFfnType: FfnType;
  /** The decoder's byte head is the encoder's byte embedding (one variable). */
  tieByteEmbeddings: boolean;
}

/** The STLM paper-era byte codec: 2 + 2 byte blocks at width 128, chunks of 12 bytes. */
export const PAPER_BYTE_CODEC: ByteCodecConfig = {
  byteVocabSize: BYTE_VOCAB_SIZE,
  byteWidth: 128,
  chunkSize: 12,
  encoderLayers: 2,
  decoderLayers: 2,
  byteHeads: 8,
  byteFfnHidden: 512,
  byteFfnType: "gelu",
  tieByteEmbeddings: false
};

/**
 * A model the parameter ledger, `stlm params` and the sharing page describe but
 * this lab does not train (too big for a browser). `bytes` present: a pooled byte
 * model whose core is `model` minus its vocabulary (model.vocabSize and
 * tieEmbeddings then only describe the token model it is compared with).
 */
export interface LedgerPreset {
  name: string;
  description: string;
  model: ModelConfig;
  bytes?: ByteCodecConfig;
}

/** GPT-2's BPE vocabulary: the baseline every reduction on the sharing page is measured against. */
export const GPT2_VOCAB_SIZE = 50257;

const paperCore: ModelConfig = { ...baseModel, ffnType: "gelu", nHead: 8, nKvHead: 4 };

const tokenPresets: LedgerPreset[] = [
  {
    name: "stlm-50m-paper",
    description: "The STLM paper-era baseline: 10 layers, width 512, SwiGLU 1536, GPT-2 vocabulary (50,257), context 512, 16 query / 4 key-value heads, tied head.",
    model: { ...baseModel, vocabSize: GPT2_VOCAB_SIZE, dModel: 512, nLayer: 10, nHead: 16, nKvHead: 4, ffnHidden: 1536, blockSize: 512 }
  },
  {
    name: "stlm-10m",
    description: "10M target: 18 layers, width 384, GELU 1536, vocabulary 9,984, context 2,048, 8/4 heads, FFN and attention output shared across layers.",
    model: { ...paperCore, vocabSize: 9984, dModel: 384, nLayer: 18, ffnHidden: 1536, blockSize: 2048, shareFfn: true, shareAttnOut: true }
  },
  {
    name: "stlm-50m",
    description: "50M target: 12 layers, width 512, GELU 2,048, vocabulary 10,000, context 1,024, 8/4 heads.",
    model: { ...paperCore, vocabSize: 10000, dModel: 512, nLayer: 12, ffnHidden: 2048, blockSize: 1024 }
  },
  {
    name: "stlm-100m",
    description: "100M target: 33 layers, width 1,024, GELU 4,096, vocabulary 20,032, context 4,096, 8/4 heads, FFN and attention output shared across layers.",
    model: { ...paperCore, vocabSize: 20032, dModel: 1024, nLayer: 33, ffnHidden: 4096, blockSize: 4096, shareFfn: true, shareAttnOut: true }
  }
];

/** The STLM paper's configurations, and their pooled byte-level versions (`-bytes`). */
export const LEDGER_PRESETS: Record<string, LedgerPreset> = Object.fromEntries(
  tokenPresets.flatMap((p) => [
    [p.name, p],
    [
      `${p.name}-bytes`,
      {
        name: `${p.name}-bytes`,
        description: `${p.name}'s core over 12-byte chunks: a byte encoder and decoder (2 + 2 blocks at width 128) in place of the vocabulary.`,
        model: p.model,
        bytes: { ...PAPER_BYTE_CODEC }
      }
    ]
  ])
);

export function validateByteCodecConfig(c: ByteCodecConfig): ByteCodecConfig {
  check("byteVocabSize", c.byteVocabSize, isInt(c.byteVocabSize) && c.byteVocabSize >= 2, "must be an integer >= 2");
  check("byteWidth", c.byteWidth, isInt(c.byteWidth) && c.byteWidth >= 2, "must be an integer >= 2");
  check("chunkSize", c.chunkSize, isInt(c.chunkSize) && c.chunkSize >= 1, "must be an integer >= 1");
  check("encoderLayers", c.encoderLayers, isInt(c.encoderLayers) && c.encoderLayers >= 0, "must be an integer >= 0");
  check("decoderLayers", c.decoderLayers, isInt(c.decoderLayers) && c.decoderLayers >= 0, "must be an integer >= 0");
  check("byteHeads", c.byteHeads, isInt(c.byteHeads) && c.byteHeads >= 1 && c.byteWidth % c.byteHeads === 0, `must be an integer >= 1 that divides byteWidth=${c.byteWidth}`);
  check("byteFfnHidden", c.byteFfnHidden, isInt(c.byteFfnHidden) && c.byteFfnHidden >= 1, "must be an integer >= 1");
  check("byteFfnType", c.byteFfnType, FFN_TYPES.includes(c.byteFfnType), `must be one of ${FFN_TYPES.map((t) => `"${t}"`).join(", ")}`);
  check("tieByteEmbeddings", c.tieByteEmbeddings, typeof c.tieByteEmbeddings === "boolean", "must be true or false");
  return c;
}

/** A preset of either kind by name: a trainable one (PRESETS) or a ledger-only one (LEDGER_PRESETS). */
export function anyPreset(name: string): LedgerPreset {
  const p = PRESETS[name] ?? LEDGER_PRESETS[name];
  if (!p) {
    throw new ConfigError("preset", `unknown preset "${name}"; choose one of: ${[...Object.keys(PRESETS), ...Object.keys(LEDGER_PRESETS)].join(", ")}`);
  }
  const model = validateModelConfig({ ...p.model });
  const codec = (p as LedgerPreset).bytes;
  const bytes = codec ? validateByteCodecConfig({ ...codec }) : undefined;
  return { name: p.name, description: p.description, model, ...(bytes ? { bytes } : {}) };
}

/** A ready-made pair of configs by preset name, with overrides applied and validated. */
export function presetConfig(
  name: string,
  overrides: { model?: Partial<ModelConfig>; train?: Partial<TrainConfig> } = {}
): { model: ModelConfig; train: TrainConfig } {
  const preset = PRESETS[name];
  if (!preset) {
    throw new ConfigError("preset", `unknown preset "${name}"; choose one of: ${Object.keys(PRESETS).join(", ")}`);
  }
  const model = { ...preset.model, ...overrides.model };
  const train = { ...preset.train, ...overrides.train };
  validateModelConfig(model);
  validateTrainConfig(train);
  return { model, train };
}

export { ConfigError };

function check(field: string, value: unknown, ok: boolean, rule: string): void {
  if (!ok) throw new ConfigError(field, `${rule} (got ${JSON.stringify(value)})`);
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * The weight-sharing and MLP settings arrived after the first checkpoints were
 * saved; a config without them means what it meant then (no sharing, SwiGLU).
 */
const LATER_DEFAULTS: Pick<ModelConfig, "ffnType" | "shareFfn" | "shareAttnOut" | "interiorMargin" | "loraRank" | "dropoutSites"> = {
  dropoutSites: DEFAULT_DROPOUT_SITES as DropoutSite[],
  ffnType: "swiglu",
  shareFfn: false,
  shareAttnOut: false,
  interiorMargin: -1,
  loraRank: 0
};

/**
 * Upper bounds on the sizes a config may ask for. They admit every preset the
 * ledger describes (the STLM paper's models) and stop a damaged or hostile file
 * from asking for gigabytes before anything is checked against its data.
 */
export const LIMITS = { vocabSize: 65537, dModel: 8192, nLayer: 256, nHead: 256, ffnHidden: 32768, blockSize: 4096 } as const;

export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}

/** Checks every field and throws a ConfigError naming the first bad one. Fills absent sharing fields with their defaults, in place. */
export function validateModelConfig(c: ModelConfig): ModelConfig {
  if (typeof c !== "object" || c === null || Array.isArray(c)) throw new ConfigError("model", `must be an object of model settings (got ${JSON.stringify(c)})`);
  for (const [k, v] of Object.entries(LATER_DEFAULTS)) if ((c as unknown as Record<string, unknown>)[k] === undefined) (c as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  const known = Object.keys(baseModel);
  for (const k of Object.keys(c)) check(k, k, known.includes(k), `unknown model setting; known ones are ${known.join(", ")}`);
  check("vocabSize", c.vocabSize, isInt(c.vocabSize) && c.vocabSize >= 2 && c.vocabSize <= LIMITS.vocabSize, `must be an integer from 2 to ${LIMITS.vocabSize}`);
  check("dModel", c.dModel, isInt(c.dModel) && c.dModel >= 2 && c.dModel <= LIMITS.dModel, `must be an integer from 2 to ${LIMITS.dModel}`);
  check("nLayer", c.nLayer, isInt(c.nLayer) && c.nLayer >= 1 && c.nLayer <= LIMITS.nLayer, `must be an integer from 1 to ${LIMITS.nLayer}`);
  check("nHead", c.nHead, isInt(c.nHead) && c.nHead >= 1 && c.nHead <= LIMITS.nHead, `must be an integer from 1 to ${LIMITS.nHead}`);
  check("nHead", c.nHead, c.dModel % c.nHead === 0, `must divide dModel=${c.dModel}`);
  check("nHead", c.nHead, (c.dModel / c.nHead) % 2 === 0, `dModel/nHead (the head size) must be even for rotary embeddings`);
  check("nKvHead", c.nKvHead, isInt(c.nKvHead) && c.nKvHead >= 1 && c.nKvHead <= LIMITS.nHead, `must be an integer from 1 to ${LIMITS.nHead}`);
  check("nKvHead", c.nKvHead, c.nHead % c.nKvHead === 0, `must divide nHead=${c.nHead}`);
  check("ffnHidden", c.ffnHidden, isInt(c.ffnHidden) && c.ffnHidden >= 1 && c.ffnHidden <= LIMITS.ffnHidden, `must be an integer from 1 to ${LIMITS.ffnHidden}`);
  check("ffnType", c.ffnType, FFN_TYPES.includes(c.ffnType), `must be one of ${FFN_TYPES.map((t) => `"${t}"`).join(", ")}`);
  check(
    "blockSize",
    c.blockSize,
    isInt(c.blockSize) && c.blockSize >= 2 && c.blockSize <= LIMITS.blockSize,
    `must be an integer from 2 to ${LIMITS.blockSize}` + (isInt(c.blockSize) && c.blockSize > LIMITS.blockSize ? ` (a context of ${c.blockSize} needs a ${c.blockSize} x ${c.blockSize} attention mask alone of ${formatBytes(4 * c.blockSize ** 2)}, and as much again per layer and head while training)` : "")
  );
  check("dropout", c.dropout, isNum(c.dropout) && c.dropout >= 0 && c.dropout < 1, "must be a number in [0, 1)");
  check(
    "dropoutSites",
    c.dropoutSites,
    Array.isArray(c.dropoutSites) && c.dropoutSites.every((s) => DROPOUT_SITES.includes(s)) && new Set(c.dropoutSites).size === c.dropoutSites.length,
    `must be a list of distinct sites from ${DROPOUT_SITES.map((s) => `"${s}"`).join(", ")}`
  );
  check("tieEmbeddings", c.tieEmbeddings, typeof c.tieEmbeddings === "boolean", "must be true or false");
  check("shareFfn", c.shareFfn, typeof c.shareFfn === "boolean", "must be true or false");
  check("shareAttnOut", c.shareAttnOut, typeof c.shareAttnOut === "boolean", "must be true or false");
  check("interiorMargin", c.interiorMargin, isInt(c.interiorMargin) && c.interiorMargin >= -1, "must be an integer >= 0 (layers kept unshared at each end), or -1 for no interior sharing");
  check(
    "interiorMargin",
    c.interiorMargin,
    c.interiorMargin < 0 || c.nLayer - 2 * c.interiorMargin >= 2,
    `leaves ${c.nLayer - 2 * Math.max(0, c.interiorMargin)} interior layer(s) of nLayer=${c.nLayer}; sharing needs at least 2 (use at most ${Math.floor((c.nLayer - 2) / 2)}, or -1 for none)`
  );
  check("loraRank", c.loraRank, isInt(c.loraRank) && c.loraRank >= 0, "must be an integer >= 0 (0: no low-rank corrections)");
  check("loraRank", c.loraRank, c.loraRank === 0 || c.interiorMargin >= 0, "corrects the layers of interior sharing, so it needs interiorMargin >= 0");
  check("ropeTheta", c.ropeTheta, isNum(c.ropeTheta) && c.ropeTheta > 0, "must be a positive number");
  check("normEps", c.normEps, isNum(c.normEps) && c.normEps > 0, "must be a positive number");
  return c;
}

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  if (typeof c !== "object" || c === null || Array.isArray(c)) throw new ConfigError("train", `must be an object of training settings (got ${JSON.stringify(c)})`);
  // Older checkpoints and run folders predate the dropout schedule: a constant rate is what they used.
  if ((c as Partial<TrainConfig>).dropoutSchedule === undefined) c.dropoutSchedule = "constant";
  const known = Object.keys(baseTrain);
  for (const k of Object.keys(c)) check(k, k, known.includes(k), `unknown training setting; known ones are ${known.join(", ")}`);
  check("batchSize", c.batchSize, isInt(c.batchSize) && c.batchSize >= 1 && c.batchSize <= 4096, "must be an integer from 1 to 4096");
  check("steps", c.steps, isInt(c.steps) && c.steps >= 1 && c.steps <= 10_000_000, "must be an integer from 1 to 10,000,000");
  check("learningRate", c.learningRate, isNum(c.learningRate) && c.learningRate > 0 && c.learningRate < 1, "must be a number in (0, 1); 1e-3 to 3e-3 suits tiny models");
  check("warmupSteps", c.warmupSteps, isInt(c.warmupSteps) && c.warmupSteps >= 0, "must be an integer >= 0");
  check("minLrRatio", c.minLrRatio, isNum(c.minLrRatio) && c.minLrRatio >= 0 && c.minLrRatio <= 1, "must be a number in [0, 1]");
  check("weightDecay", c.weightDecay, isNum(c.weightDecay) && c.weightDecay >= 0, "must be a number >= 0");
  check("beta1", c.beta1, isNum(c.beta1) && c.beta1 >= 0 && c.beta1 < 1, "must be a number in [0, 1)");
  check("beta2", c.beta2, isNum(c.beta2) && c.beta2 >= 0 && c.beta2 < 1, "must be a number in [0, 1)");
  check("eps", c.eps, isNum(c.eps) && c.eps > 0, "must be a positive number");
  check("gradClip", c.gradClip, isNum(c.gradClip) && c.gradClip >= 0, "must be a number >= 0 (0 turns clipping off)");
  check("evalEvery", c.evalEvery, isInt(c.evalEvery) && c.evalEvery >= 0, "must be an integer >= 0");
  check("evalBytes", c.evalBytes, isInt(c.evalBytes) && c.evalBytes >= 2 && c.evalBytes <= 2 ** 30, "must be an integer from 2 to 2^30");
  check("seed", c.seed, isInt(c.seed) && c.seed >= 0 && c.seed < 2 ** 32, "must be an integer in [0, 2^32)");
  parseDropoutSchedule(c.dropoutSchedule, 0, c.steps); // throws, naming the allowed forms
  return c;
}
