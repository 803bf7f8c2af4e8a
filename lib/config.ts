// Model and training configuration: one plain object each, validated, with named
// presets. Field names follow the field's vocabulary (dModel, nLayer, blockSize).
import { BYTE_VOCAB_SIZE } from "./tokenizer.js";

export interface ModelConfig {
  /** Size of the input vocabulary; 258 for bytes (256 + pad + end-of-text). */
  vocabSize: number;
  dModel: number;
  nLayer: number;
  /** Query heads. */
  nHead: number;
  /** Key/value heads (grouped-query attention); equal to nHead for plain multi-head. */
  nKvHead: number;
  /** Hidden width of the SwiGLU MLP. */
  ffnHidden: number;
  /** Context length in tokens. */
  blockSize: number;
  dropout: number;
  /** Output head shares the embedding matrix (one variable, not a copy). */
  tieEmbeddings: boolean;
  ropeTheta: number;
  normEps: number;
}

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
  blockSize: 128,
  dropout: 0,
  tieEmbeddings: true,
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
  seed: 1
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

/** An invalid setting, with the field it concerns and what to do. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`Invalid config: ${field}: ${message}`);
    this.name = "ConfigError";
  }
}

function check(field: string, value: unknown, ok: boolean, rule: string): void {
  if (!ok) throw new ConfigError(field, `${rule} (got ${JSON.stringify(value)})`);
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export function validateModelConfig(c: ModelConfig): ModelConfig {
  const known = Object.keys(baseModel);
  for (const k of Object.keys(c)) check(k, k, known.includes(k), `unknown model setting; known ones are ${known.join(", ")}`);
  check("vocabSize", c.vocabSize, isInt(c.vocabSize) && c.vocabSize >= 2, "must be an integer >= 2");
  check("dModel", c.dModel, isInt(c.dModel) && c.dModel >= 2, "must be an integer >= 2");
  check("nLayer", c.nLayer, isInt(c.nLayer) && c.nLayer >= 1, "must be an integer >= 1");
  check("nHead", c.nHead, isInt(c.nHead) && c.nHead >= 1, "must be an integer >= 1");
  check("nHead", c.nHead, c.dModel % c.nHead === 0, `must divide dModel=${c.dModel}`);
  check("nHead", c.nHead, (c.dModel / c.nHead) % 2 === 0, `dModel/nHead (the head size) must be even for rotary embeddings`);
  check("nKvHead", c.nKvHead, isInt(c.nKvHead) && c.nKvHead >= 1, "must be an integer >= 1");
  check("nKvHead", c.nKvHead, c.nHead % c.nKvHead === 0, `must divide nHead=${c.nHead}`);
  check("ffnHidden", c.ffnHidden, isInt(c.ffnHidden) && c.ffnHidden >= 1, "must be an integer >= 1");
  check("blockSize", c.blockSize, isInt(c.blockSize) && c.blockSize >= 2, "must be an integer >= 2");
  check("dropout", c.dropout, isNum(c.dropout) && c.dropout >= 0 && c.dropout < 1, "must be a number in [0, 1)");
  check("tieEmbeddings", c.tieEmbeddings, typeof c.tieEmbeddings === "boolean", "must be true or false");
  check("ropeTheta", c.ropeTheta, isNum(c.ropeTheta) && c.ropeTheta > 0, "must be a positive number");
  check("normEps", c.normEps, isNum(c.normEps) && c.normEps > 0, "must be a positive number");
  return c;
}

export function validateTrainConfig(c: TrainConfig): TrainConfig {
  const known = Object.keys(baseTrain);
  for (const k of Object.keys(c)) check(k, k, known.includes(k), `unknown training setting; known ones are ${known.join(", ")}`);
  check("batchSize", c.batchSize, isInt(c.batchSize) && c.batchSize >= 1, "must be an integer >= 1");
  check("steps", c.steps, isInt(c.steps) && c.steps >= 1, "must be an integer >= 1");
  check("learningRate", c.learningRate, isNum(c.learningRate) && c.learningRate > 0 && c.learningRate < 1, "must be a number in (0, 1); 1e-3 to 3e-3 suits tiny models");
  check("warmupSteps", c.warmupSteps, isInt(c.warmupSteps) && c.warmupSteps >= 0, "must be an integer >= 0");
  check("minLrRatio", c.minLrRatio, isNum(c.minLrRatio) && c.minLrRatio >= 0 && c.minLrRatio <= 1, "must be a number in [0, 1]");
  check("weightDecay", c.weightDecay, isNum(c.weightDecay) && c.weightDecay >= 0, "must be a number >= 0");
  check("beta1", c.beta1, isNum(c.beta1) && c.beta1 >= 0 && c.beta1 < 1, "must be a number in [0, 1)");
  check("beta2", c.beta2, isNum(c.beta2) && c.beta2 >= 0 && c.beta2 < 1, "must be a number in [0, 1)");
  check("eps", c.eps, isNum(c.eps) && c.eps > 0, "must be a positive number");
  check("gradClip", c.gradClip, isNum(c.gradClip) && c.gradClip >= 0, "must be a number >= 0 (0 turns clipping off)");
  check("evalEvery", c.evalEvery, isInt(c.evalEvery) && c.evalEvery >= 0, "must be an integer >= 0");
  check("evalBytes", c.evalBytes, isInt(c.evalBytes) && c.evalBytes >= 2, "must be an integer >= 2");
  check("seed", c.seed, isInt(c.seed) && c.seed >= 0 && c.seed < 2 ** 32, "must be an integer in [0, 2^32)");
  return c;
}
