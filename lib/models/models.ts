// The registry of model kinds: the one place that knows which model classes the
// lab trains. Everything else (the CLI's train / eval / sample, checkpoints, the
// benchmark, the pages) holds a ModelSpec and a LabModel and asks this module to
// build, load, validate or feed them. A new kind of model arrives as one entry
// of MODEL_KINDS, and gets training, resume, Ctrl-C, sampling, evaluation and
// checkpoint checks from the shared paths.
import { formatBytes, validateModelConfig, ConfigError, type ModelConfig } from "../config.js";
import { BatchSampler } from "../text/data.js";
import type { Bpe } from "../text/bpe.js";
import type { ScoringModel } from "../eval/eval.js";
import { TinyLM, parameterShapes } from "./model.js";
import { ObjectiveLM, objectiveParameterShapes, validateObjective, type Objective } from "./objectives.js";
import { LocalStackLM, localStackParameterShapes, validateLocalStackConfig, type LocalStackConfig } from "./localstack.js";
import { PooledLM, pooledParameterShapes, validatePooledConfig, type PooledConfig } from "./pooled.js";
import type { SampleOptions } from "../eval/sample.js";
import { TokenBatchSampler, TokenLM, validateTokenModelConfig, type TokenModelConfig } from "./tokenmodel.js";
import type { BatchSource, TrainableModel } from "../train/trainer.js";
import { byteSpans, flattenMaps, transformerAttention, type ProbeTrace } from "./probe.js";
import type { Span } from "../text/boundaries.js";

export type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

/** A plain byte-level transformer (lib/models/model.ts). */
export interface BytesSpec {
  kind: "bytes";
  model: ModelConfig;
  /** A training objective other than next-byte prediction (lib/models/objectives.ts); absent: next-byte. */
  objective?: Objective;
}

/** Everything needed to build a model of any kind; plain JSON, stored in checkpoints and run records. */
export type ModelSpec = BytesSpec | PooledConfig | TokenModelConfig | LocalStackConfig;
export type ModelKindName = ModelSpec["kind"];

/** What every model the lab trains offers, whatever its kind. */
export interface LabModel extends TrainableModel {
  readonly spec: ModelSpec;
  /** The model as lib/eval/eval.ts scores it: rows of bytes in, log p per target byte out. */
  readonly byteScorer: ScoringModel;
  parameterCount(): number;
  weights(): Promise<TensorMap>;
  /** Continue `prompt` by `options.tokens` bytes. */
  generate(prompt: Uint8Array, options: SampleOptions): Promise<Uint8Array>;
  dispose(): void;
}

interface ModelKind<S extends ModelSpec> {
  kind: S["kind"];
  /** A short name for messages and tables. */
  label: string;
  /** Checks every field; throws a ConfigError naming the first bad one. Returns the spec (defaults filled in). */
  validate(spec: S): S;
  /** Every weight's name, shape and the component it belongs to (for the ledger and the pages' cost charts), in the order the model creates them. */
  parameterShapes(spec: S): { name: string; shape: number[]; component: string }[];
  create(spec: S, seed: number): LabModel;
  /** Weights must match parameterShapes exactly; a mismatch throws naming the tensor. */
  fromWeights(spec: S, weights: TensorMap): LabModel;
  /** Training batches over a split, and the bytes one trainer position stands for. */
  batches(model: LabModel, trainBytes: Uint8Array): { data: BatchSource; bytesPerPosition: number };
  /** The BPE the model reads text through, if any. */
  bpe(spec: S): Bpe | undefined;
  /** Attention over one text (its first context's worth): lib/models/probe.ts. */
  probe(model: LabModel, bytes: Uint8Array): Promise<ProbeTrace>;
}

const bytesKind: ModelKind<BytesSpec> = {
  kind: "bytes",
  label: "byte model",
  validate: (s) => {
    const model = validateModelConfig({ ...s.model });
    return s.objective === undefined ? { kind: "bytes", model } : { kind: "bytes", model, objective: validateObjective(s.objective, model) };
  },
  parameterShapes: (s) => [
    ...parameterShapes(s.model).map((p) => ({ ...p, component: p.name === "embed" || p.name === "head" ? "byte embedding + head (tied)" : "core" })),
    ...objectiveParameterShapes(s.model, s.objective).map((p) => ({ ...p, component: "extra prediction heads" }))
  ],
  create: (s, seed) => (s.objective ? ObjectiveLM.create(s.model, s.objective, seed) : TinyLM.create(s.model, seed)),
  fromWeights: (s, w) => (s.objective ? ObjectiveLM.fromWeights(s.model, s.objective, w) : TinyLM.fromWeights(s.model, w)),
  batches: (_m, bytes) => ({ data: new BatchSampler(bytes), bytesPerPosition: 1 }),
  bpe: () => undefined,
  probe: async (m, bytes) => {
    const lm = m instanceof ObjectiveLM ? m.trunk : (m as unknown as TinyLM);
    const ids = Array.from(bytes.subarray(0, lm.blockSize));
    const { nLayer, nHead } = lm.config;
    return { unit: "byte", spans: byteSpans(ids.length), layers: nLayer, heads: nHead, attention: await transformerAttention(lm, ids) };
  }
};

const pooledKind: ModelKind<PooledConfig> = {
  kind: "pooled",
  label: "pooled byte model",
  validate: (s) => validatePooledConfig(structuredClone(s)),
  parameterShapes: (s) => pooledParameterShapes(s),
  create: (s, seed) => PooledLM.create(s, seed),
  fromWeights: (s, w) => PooledLM.fromWeights(s, w),
  batches: (_m, bytes) => ({ data: new BatchSampler(bytes), bytesPerPosition: 1 }),
  bpe: (s) => s.bpe,
  probe: async (m, bytes) => {
    const model = m as unknown as PooledLM;
    const { spans, boundaryProbs, attention } = await model.trace(bytes);
    const { nLayer, nHead } = model.config.core;
    // The core reads a start vector, then each chunk but the last, and predicts the chunk after.
    const reads: Span[] = spans.length ? [[0, 0], ...spans.slice(0, -1)] : [];
    return { unit: "chunk", spans: reads, chunks: spans, layers: nLayer, heads: nHead, attention: flattenMaps(attention), ...(boundaryProbs ? { boundaryProbs } : {}) };
  }
};

const tokenKind: ModelKind<TokenModelConfig> = {
  kind: "bpe-tokens",
  label: "BPE-token model",
  validate: (s) => validateTokenModelConfig(structuredClone(s)),
  parameterShapes: (s) => parameterShapes(s.model).map((p) => ({ ...p, component: p.name === "embed" || p.name === "head" ? "token embedding + head (tied)" : "core" })),
  create: (s, seed) => TokenLM.create(s, seed),
  fromWeights: (s, w) => TokenLM.fromWeights(s, w),
  batches: (m, bytes) => {
    const model = m as TokenLM;
    const tokens = model.tokenize(bytes);
    return { data: new TokenBatchSampler(tokens, model.start), bytesPerPosition: bytes.length / Math.max(1, tokens.length) };
  },
  bpe: (s) => s.bpe,
  probe: async (m, bytes) => {
    const model = m as TokenLM;
    // A window of ids starts with START, as every training window does.
    const ids = [model.start, ...model.tokenizer.encode(bytes)].slice(0, model.blockSize);
    const spans: Span[] = [[0, 0]];
    for (const id of ids.slice(1)) {
      const at = spans[spans.length - 1][1];
      spans.push([at, at + model.tokenizer.bytesOf(id).length]);
    }
    const { nLayer, nHead } = model.lm.config;
    return { unit: "token", spans, layers: nLayer, heads: nHead, attention: await transformerAttention(model.lm, ids) };
  }
};

const localStackKind: ModelKind<LocalStackConfig> = {
  kind: "local-stack",
  label: "local-stack byte model",
  validate: (s) => validateLocalStackConfig(structuredClone(s)),
  parameterShapes: (s) => localStackParameterShapes(s),
  create: (s, seed) => LocalStackLM.create(s, seed),
  fromWeights: (s, w) => LocalStackLM.fromWeights(s, w),
  batches: (_m, bytes) => ({ data: new BatchSampler(bytes), bytesPerPosition: 1 }),
  bpe: () => undefined,
  probe: async (m, bytes) => {
    const model = m as unknown as LocalStackLM;
    const { spans, attention } = await model.trace(bytes);
    const { nLayer, nHead } = model.config.core;
    // Each core position reads its chunk's last byte state.
    return { unit: "chunk", spans, chunks: spans, layers: nLayer, heads: nHead, attention: flattenMaps(attention) };
  }
};

export const MODEL_KINDS: { [K in ModelKindName]: ModelKind<Extract<ModelSpec, { kind: K }>> } = {
  bytes: bytesKind,
  pooled: pooledKind,
  "bpe-tokens": tokenKind,
  "local-stack": localStackKind
};

function kindOf<S extends ModelSpec>(spec: S): ModelKind<S> {
  const k = (MODEL_KINDS as Record<string, ModelKind<ModelSpec>>)[(spec as { kind?: unknown })?.kind as string];
  if (!k || !Object.hasOwn(MODEL_KINDS, spec.kind)) {
    throw new ConfigError("kind", `unknown model kind ${JSON.stringify((spec as { kind?: unknown })?.kind)}; this lab builds ${Object.keys(MODEL_KINDS).join(", ")}`);
  }
  return k as unknown as ModelKind<S>;
}

/** A spec checked field by field (a ConfigError names the first bad one), with defaults filled in. */
export function validateSpec(spec: ModelSpec): ModelSpec {
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new ConfigError("model", `must be an object with a "kind" (got ${JSON.stringify(spec)})`);
  return kindOf(spec).validate(spec);
}

/** Every weight of a spec's model: name, shape and component. */
export function specParameterShapes(spec: ModelSpec): { name: string; shape: number[]; component: string }[] {
  return kindOf(spec).parameterShapes(spec);
}

export function specBpe(spec: ModelSpec): Bpe | undefined {
  return kindOf(spec).bpe(spec);
}

export function kindLabel(spec: ModelSpec): string {
  return kindOf(spec).label;
}

/** The most memory a model the lab builds may need: the wasm heap's limit. */
export const MAX_MODEL_BYTES = 4 * 2 ** 30;

/**
 * Bytes a model of this spec needs to train, roughly: weights, gradients and two
 * AdamW moments (4 floats a parameter), plus one row's attention maps.
 */
export function estimateTrainingBytes(spec: ModelSpec): number {
  const params = specParameterShapes(spec).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const core = spec.kind === "pooled" || spec.kind === "local-stack" ? spec.core : spec.model;
  return 16 * params + 4 * core.blockSize ** 2 * (core.nLayer * core.nHead + 1);
}

/** Refuses a spec whose model would not fit in memory, stating the estimate. */
export function checkBuildable(spec: ModelSpec): void {
  const bytes = estimateTrainingBytes(spec);
  if (bytes > MAX_MODEL_BYTES) {
    throw new ConfigError("model", `this ${kindOf(spec).label} would need about ${formatBytes(bytes)} of memory to train (weights, gradients, optimizer state, attention maps), more than the ${formatBytes(MAX_MODEL_BYTES)} the lab can use; choose a smaller model`);
  }
}

export function createModel(spec: ModelSpec, seed: number): LabModel {
  checkBuildable(validateSpec(spec));
  return kindOf(spec).create(spec, seed);
}

export function modelFromWeights(spec: ModelSpec, weights: TensorMap): LabModel {
  checkBuildable(validateSpec(spec));
  return kindOf(spec).fromWeights(spec, weights);
}

/** The model's attention over one text (bytes, tokens or chunks, by kind), in plain arrays. */
export function probeTrace(model: LabModel, bytes: Uint8Array): Promise<ProbeTrace> {
  return kindOf(model.spec).probe(model, bytes);
}

export function trainingBatches(model: LabModel, trainBytes: Uint8Array): { data: BatchSource; bytesPerPosition: number } {
  return kindOf(model.spec).batches(model, trainBytes);
}
