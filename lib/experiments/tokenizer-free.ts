// Presets for the tokenizer-free comparison: plain bytes, pooled bytes under
// each boundary strategy, and BPE tokens, all near 1M parameters, and the one
// function that builds any of them with its batch source and byte scorer.
//
// Checkpoints use lib/train/checkpoint.ts's format unchanged: the header's model
// config is the core transformer's (a valid ModelConfig) and the full
// tokenizer-free config (strategy, widths, the BPE's merges) rides in
// meta.tokenizerFree, which tokenizerFreeFromCheckpoint reads back.
import { presetConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { trainBpe, type Bpe } from "../text/bpe.js";
import { createModel, modelFromWeights, trainingBatches, type LabModel, type ModelSpec, type TensorMap } from "../models/models.js";
import { PooledLM, pooledConfig } from "../models/pooled.js";
import { tokenModelConfig } from "../models/tokenmodel.js";
import { localStackConfig } from "../models/localstack.js";
import { trainEntropyModel, type EntropyModel } from "../text/entropy.js";
import type { ScoringModel } from "../eval/eval.js";
import type { BatchSource } from "../train/trainer.js";
import type { Checkpoint } from "../train/checkpoint.js";

export type ComparisonKind = "bytes" | "stride" | "word" | "bpe" | "learned" | "bpe-tokens" | LocalStackKind;
/** The local-stack models (lib/models/localstack.ts), by boundary strategy. */
export type LocalStackKind = "local-stride" | "local-word" | "local-entropy";
export const LOCAL_STACK_KINDS: readonly LocalStackKind[] = ["local-stride", "local-word", "local-entropy"];

export interface TokenizerFreePreset {
  name: string;
  kind: ComparisonKind;
  label: string;
  description: string;
  train: TrainConfig;
  /** Pooled presets: the decoder reads earlier bytes of the chunk it writes (not in the paper). */
  causalDecoder?: boolean;
}

/** Vocabulary of the BPE that lib/ trains for the BPE-pooled and BPE-token models. */
export const BPE_VOCAB = 1024;

const micro = presetConfig("micro");
const baseTrain: TrainConfig = { ...micro.train, evalBytes: 8192 };

/** Batch sizes chosen so every model reads about 2,048 bytes per step (a token is ~3 bytes). */
export const TOKENIZER_FREE_PRESETS: Record<string, TokenizerFreePreset> = {
  "bytes-micro": { name: "bytes-micro", kind: "bytes", label: "plain bytes", description: "the micro byte model: d_model 128, 4 layers, context 128 bytes (~0.89M)", train: { ...baseTrain, batchSize: 16 } },
  "pooled-stride4": { name: "pooled-stride4", kind: "stride", label: "stride-4 pooled", description: "bytes pooled 4 at a time; 512-byte context = 128 chunks; byte encoder/decoder width 128, 1 block each; core d_model 128 x 2 layers (~0.87M)", train: { ...baseTrain, batchSize: 4, learningRate: 1e-3 } }, // both stride presets: data/runs/tokenizer-free/lr-sweep-austen.json (4e-3 collapses the pooled vectors)
  "pooled-stride4-causal": { name: "pooled-stride4-causal", kind: "stride", label: "stride-4 pooled, causal decoder", description: "as pooled-stride4, but each byte is decoded seeing every byte before it: the previous byte (across the chunk boundary for a chunk's first byte) and the earlier bytes of its chunk (not in the paper) (~0.87M)", train: { ...baseTrain, batchSize: 4, learningRate: 1e-3 }, causalDecoder: true },
  "pooled-word": { name: "pooled-word", kind: "word", label: "word pooled", description: "chunks at word boundaries (at most 12 bytes); 512-byte context (~1.0M)", train: { ...baseTrain, batchSize: 4 } },
  "pooled-bpe": { name: "pooled-bpe", kind: "bpe", label: "BPE pooled", description: `chunks at the tokens of a ${BPE_VOCAB}-token BPE trained on the corpus (at most 12 bytes); 512-byte context (~1.0M)`, train: { ...baseTrain, batchSize: 4 } },
  "pooled-learned": { name: "pooled-learned", kind: "learned", label: "learned pooled", description: "a boundary predictor trained jointly: chunks of 3-16 bytes, rate pulled toward 0.25; 512-byte context (~1.07M)", train: { ...baseTrain, batchSize: 4 } },
  "local-stride4": { name: "local-stride4", kind: "local-stride", label: "local stack, stride 4", description: "SpaceByte-style: 1 causal byte layer (window 64) -> 2-layer core over every 4th byte's state -> 1 byte layer; width 128; 128-byte context (~0.92M)", train: { ...baseTrain, batchSize: 16 } },
  "local-word": { name: "local-word", kind: "local-word", label: "local stack, words", description: "as local-stride4, chunks at SpaceByte's word starts (a letter or digit after a space or punctuation; at most 12 bytes) (~0.92M)", train: { ...baseTrain, batchSize: 16 } },
  "local-entropy": { name: "local-entropy", kind: "local-entropy", label: "local stack, entropy", description: "as local-stride4, chunks start where a byte trigram's next-byte entropy is high (BLT; about 4 bytes a chunk; at most 12) (~0.92M)", train: { ...baseTrain, batchSize: 16 } },
  "bpe-tokens": { name: "bpe-tokens", kind: "bpe-tokens", label: "BPE tokens", description: `the micro transformer over a ${BPE_VOCAB}-token BPE (+ START), tied head, context 128 tokens (~0.98M)`, train: { ...baseTrain, batchSize: 6 } }
};

export const COMPARISON_ORDER: ComparisonKind[] = ["bytes", "bpe-tokens", "stride", "bpe", "learned", "local-stride", "local-word", "local-entropy"];

/** Every kind of model the comparison trains: a ModelSpec of lib/models/models.ts. */
export type TokenizerFreeConfig = ModelSpec;

export interface TokenizerFreeOptions {
  causalDecoder?: boolean;
  /** The entropy model of local-entropy (trainEntropyModel on the training split). */
  entropy?: EntropyModel;
  /** Context of the plain byte model in bytes (default 128, the micro preset's). */
  bytesContext?: number;
  /** Context of the BPE-token model in tokens (default 128). */
  tokenContext?: number;
}

/**
 * The model config of a comparison kind. byteWindow is the pooled models' context
 * (default 512) and the local stacks' (default 128); BPE kinds need the BPE and
 * local-entropy the entropy model, both made from the training split.
 */
export function tokenizerFreeConfig(kind: ComparisonKind, bpe?: Bpe, byteWindow?: number, options: TokenizerFreeOptions = {}): TokenizerFreeConfig {
  const { causalDecoder = false } = options;
  const core: ModelConfig = { ...micro.model, nLayer: 2 };
  if (kind === "bytes") return { kind: "bytes", model: { ...micro.model, blockSize: options.bytesContext ?? micro.model.blockSize } };
  if (kind === "bpe-tokens") {
    if (!bpe) throw new Error("the BPE-token model needs a BPE");
    const { vocabSize: _v, ...model } = micro.model;
    return tokenModelConfig(bpe, { ...model, blockSize: options.tokenContext ?? model.blockSize });
  }
  if (kind === "local-stride" || kind === "local-word" || kind === "local-entropy") {
    const strategy = kind === "local-stride" ? "stride" : kind === "local-word" ? "word" : "entropy";
    const { vocabSize: _v, blockSize: _b, ...coreSettings } = core;
    return localStackConfig({
      strategy,
      stride: 4,
      maxChunk: 12,
      byteWindow: byteWindow ?? 128,
      localDim: 128,
      localHeads: 4,
      localFfn: micro.model.ffnHidden,
      localWindow: 64,
      encoderLayers: 1,
      decoderLayers: 1,
      core: coreSettings,
      ...(strategy === "entropy" ? { entropy: options.entropy } : {})
    });
  }
  byteWindow ??= 512;
  return pooledConfig({
    strategy: kind,
    stride: 4,
    byteWindow,
    byteDim: 128,
    byteHeads: 4,
    byteFfn: 256,
    encoderLayers: 1,
    decoderLayers: 1,
    reconstructionWeight: 0,
    causalDecoder,
    core,
    bpe: kind === "bpe" ? bpe : undefined
  });
}

export interface BuiltModel {
  kind: ComparisonKind;
  config: TokenizerFreeConfig;
  model: LabModel;
  data: BatchSource;
  scorer: ScoringModel;
  /** Bytes one trainer position stands for: 1, or the mean bytes per BPE token of the training split. */
  bytesPerPosition: number;
  /** The pooled model, when it is one (for traces and boundary rates). */
  pooled?: PooledLM;
}

/** A model of `config` (through the registry of lib/models/models.ts) with its training batches over `trainBytes` and its byte scorer. */
export function buildModel(config: TokenizerFreeConfig, trainBytes: Uint8Array, seed: number, weights?: TensorMap): BuiltModel {
  const model = weights ? modelFromWeights(config, weights) : createModel(config, seed);
  const { data, bytesPerPosition } = trainingBatches(model, trainBytes);
  const kind: ComparisonKind = config.kind === "pooled" ? config.strategy : config.kind === "local-stack" ? (`local-${config.strategy}` as LocalStackKind) : config.kind;
  return { kind, config, model, data, scorer: model.byteScorer, bytesPerPosition, pooled: model instanceof PooledLM ? model : undefined };
}

/** A preset's model spec for a corpus, training the BPE or the entropy model on its training split when the preset needs one. */
export function presetModelSpec(preset: TokenizerFreePreset, trainBytes: Uint8Array): TokenizerFreeConfig {
  const bpe = preset.kind === "bpe" || preset.kind === "bpe-tokens" ? trainBpe(trainBytes, BPE_VOCAB) : undefined;
  const entropy = preset.kind === "local-entropy" ? trainEntropyModel(trainBytes) : undefined;
  return tokenizerFreeConfig(preset.kind, bpe, undefined, { causalDecoder: preset.causalDecoder, entropy });
}

/** Build a preset's model for a corpus. */
export function buildPreset(preset: TokenizerFreePreset, trainBytes: Uint8Array, seed: number): BuiltModel {
  return buildModel(presetModelSpec(preset, trainBytes), trainBytes, seed);
}

/** One model of the equal-time comparison (scripts/tokenizer-free-compare.ts, data/runs/tokenizer-free/CORPUS-compare.json). */
export interface CompareModel {
  id: string;
  kind: ComparisonKind;
  label: string;
  causalDecoder?: boolean;
}

/** The models compared, with the settings that differ between them. */
export const COMPARE_MODELS: readonly CompareModel[] = [
  { id: "bytes", kind: "bytes", label: "plain bytes" },
  { id: "bpe-tokens", kind: "bpe-tokens", label: "BPE tokens" },
  { id: "paper-stride4", kind: "stride", label: "paper decoder, stride 4" },
  { id: "causal-stride4", kind: "stride", label: "causal decoder, stride 4", causalDecoder: true },
  { id: "local-stride", kind: "local-stride", label: "local stack, stride 4" },
  { id: "local-word", kind: "local-word", label: "local stack, words" },
  { id: "local-entropy", kind: "local-entropy", label: "local stack, entropy" }
];

export function compareModel(id: string): CompareModel {
  const m = COMPARE_MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`unknown comparison model "${id}"; the models are ${COMPARE_MODELS.map((x) => x.id).join(", ")}`);
  return m;
}

/** A compared model's spec at a context of `ctx` bytes (BPE tokens: ctx / 3 tokens, ~3 bytes each). */
export function compareSpec(m: CompareModel, ctx: number, bpe: Bpe | undefined, entropy: EntropyModel | undefined): ModelSpec {
  return tokenizerFreeConfig(m.kind, bpe, ctx, { causalDecoder: m.causalDecoder, entropy, bytesContext: ctx, tokenContext: Math.round(ctx / 3) });
}

/** A compared model's training settings before its budget plans the steps: every model reads about 2,048 bytes a step (16 rows of 128 bytes, 4 of 512). */
export function compareTrain(m: CompareModel, ctx: number): TrainConfig {
  const preset = Object.values(TOKENIZER_FREE_PRESETS).find((p) => p.kind === m.kind)!;
  return { ...preset.train, batchSize: Math.max(1, Math.round(2048 / ctx)), evalEvery: 0, evalBytes: 8192 };
}

/** The Checkpoint fields for a built model (weights, configs; trainer state optional). */
export async function tokenizerFreeCheckpoint(built: BuiltModel, train: TrainConfig, meta: Record<string, unknown>): Promise<Omit<Checkpoint, "trainer">> {
  return { spec: built.config, trainConfig: train, weights: await built.model.weights(), meta };
}

/** The model a tokenizer-free checkpoint holds, or null when the checkpoint is a plain byte model's. */
export function tokenizerFreeFromCheckpoint(ckpt: Checkpoint, trainBytes: Uint8Array = new Uint8Array(0)): BuiltModel | null {
  if (ckpt.spec.kind === "bytes") return null;
  return buildModel(ckpt.spec, trainBytes, 0, ckpt.weights);
}
