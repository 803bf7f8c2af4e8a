// One binary checkpoint format for Node files, browser downloads and IndexedDB:
//
//   "STLMCKPT" | uint32 version | uint32 header length | header (UTF-8 JSON)
//   | zero padding to a multiple of 4 | float32 tensor data (little-endian)
//
// The header holds the model and training configs, the step, the RNG states,
// a manifest of tensors (name, group, shape, offset) and a checksum of the data,
// so a truncated, corrupted or mismatched file is refused with a message that
// says which.
import { validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from "./config.js";
import { TinyLM } from "./model.js";
import { modelFromWeights, validateSpec, type LabModel, type ModelSpec } from "./models.js";
import type { TrainerState } from "./trainer.js";

const MAGIC = "STLMCKPT";
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_FILE = "checkpoint.stlm";

type TensorMap = Map<string, { shape: number[]; data: Float32Array }>;

export interface Checkpoint {
  modelConfig: ModelConfig;
  trainConfig: TrainConfig;
  weights: TensorMap;
  /** Absent in a weights-only checkpoint (one that can be sampled and evaluated, not resumed). */
  trainer?: TrainerState;
  /** Free-form facts about the run: corpus, date, backend. */
  meta: Record<string, unknown>;
}

interface ManifestEntry {
  name: string;
  group: "weights" | "adam.m" | "adam.v";
  shape: number[];
  /** Offset into the data section, in float32 elements. */
  offset: number;
}

interface Header {
  format: "stlm-checkpoint";
  version: number;
  modelConfig: ModelConfig;
  trainConfig: TrainConfig;
  step: number;
  trainer: { step: number; dataRng: number[]; dropoutRng: number[]; optimizerStep: number } | null;
  tensors: ManifestEntry[];
  dataFloats: number;
  checksum: number;
  meta: Record<string, unknown>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** FNV-1a over the bytes: cheap, and enough to tell a damaged file from a good one. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const entries: ManifestEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (group: ManifestEntry["group"], map: TensorMap) => {
    for (const [name, t] of map) {
      entries.push({ name, group, shape: t.shape, offset });
      chunks.push(t.data);
      offset += t.data.length;
    }
  };
  add("weights", ckpt.weights);
  if (ckpt.trainer) {
    add("adam.m", ckpt.trainer.optimizer.m);
    add("adam.v", ckpt.trainer.optimizer.v);
  }
  const data = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  const dataBytes = new Uint8Array(data.buffer);
  const t = ckpt.trainer;
  const header: Header = {
    format: "stlm-checkpoint",
    version: CHECKPOINT_VERSION,
    modelConfig: ckpt.modelConfig,
    trainConfig: ckpt.trainConfig,
    step: t?.step ?? 0,
    trainer: t ? { step: t.step, dataRng: t.dataRng, dropoutRng: t.dropoutRng, optimizerStep: t.optimizer.step } : null,
    tensors: entries,
    dataFloats: offset,
    checksum: fnv1a(dataBytes),
    meta: ckpt.meta
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const prefix = 8 + 4 + 4 + headerBytes.length;
  const padded = Math.ceil(prefix / 4) * 4;
  const out = new Uint8Array(padded + dataBytes.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  out.set(headerBytes, 16);
  out.set(dataBytes, padded);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, what = "the checkpoint"): Checkpoint {
  if (bytes.length < 16) throw new CheckpointError(`${what} is ${bytes.length} bytes, too short to be a checkpoint: the file is empty or was cut short.`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC) throw new CheckpointError(`${what} is not an stlm checkpoint (it does not start with "${MAGIC}"). Pass the checkpoint.stlm file or the run folder that holds it.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw new CheckpointError(`${what} has format version ${version}; this lab reads version ${CHECKPOINT_VERSION}.`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) {
    throw new CheckpointError(`${what} is truncated: its header needs ${headerLength} bytes but only ${bytes.length - 16} follow. The file was cut short (an interrupted copy or download?); use an earlier checkpoint or train again.`);
  }
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + headerLength)));
  } catch (e) {
    throw new CheckpointError(`${what} has a damaged header (${(e as Error).message}).`);
  }
  const dataStart = Math.ceil((16 + headerLength) / 4) * 4;
  const expectedBytes = dataStart + header.dataFloats * 4;
  if (bytes.length < expectedBytes) {
    throw new CheckpointError(
      `${what} is truncated: it should be ${expectedBytes} bytes but is ${bytes.length} (${expectedBytes - bytes.length} missing). ` +
        `The file was cut short (an interrupted copy or download?); use an earlier checkpoint or train again.`
    );
  }
  if (bytes.length > expectedBytes) throw new CheckpointError(`${what} has ${bytes.length - expectedBytes} unexpected bytes after its data: it is damaged or not one file.`);
  const dataBytes = bytes.slice(dataStart, expectedBytes);
  if (fnv1a(dataBytes) !== header.checksum) throw new CheckpointError(`${what} is corrupted: its tensor data does not match the checksum stored with it.`);
  let modelConfig: ModelConfig, trainConfig: TrainConfig;
  try {
    modelConfig = validateModelConfig(header.modelConfig);
    trainConfig = validateTrainConfig(header.trainConfig);
  } catch (e) {
    throw new CheckpointError(`${what} holds a config this lab cannot use: ${(e as Error).message}`);
  }
  const data = new Float32Array(dataBytes.buffer);
  const groups: Record<ManifestEntry["group"], TensorMap> = { weights: new Map(), "adam.m": new Map(), "adam.v": new Map() };
  for (const e of header.tensors) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > data.length) throw new CheckpointError(`${what}: tensor "${e.name}" runs past the end of the data; the file is damaged.`);
    groups[e.group].set(e.name, { shape: e.shape, data: data.slice(e.offset, e.offset + n) });
  }
  const t = header.trainer;
  return {
    modelConfig,
    trainConfig,
    weights: groups.weights,
    trainer: t
      ? { step: t.step, dataRng: t.dataRng, dropoutRng: t.dropoutRng, optimizer: { step: t.optimizerStep, m: groups["adam.m"], v: groups["adam.v"] } }
      : undefined,
    meta: header.meta ?? {}
  };
}

/** The header fields that describe a spec: the core transformer's config, and the full spec in meta for other kinds. */
export function coreCheckpointFields(spec: ModelSpec): { modelConfig: ModelConfig; meta: Record<string, unknown> } {
  if (spec.kind === "bytes") return { modelConfig: spec.model, meta: {} };
  return { modelConfig: spec.kind === "pooled" ? spec.core : spec.model, meta: { tokenizerFree: spec } };
}

/** The spec of the model a checkpoint holds, of any kind (a pooled or BPE-token model's rides in meta.tokenizerFree). */
export function checkpointSpec(ckpt: Checkpoint): ModelSpec {
  const tf = ckpt.meta.tokenizerFree as ModelSpec | undefined;
  return tf ?? { kind: "bytes", model: ckpt.modelConfig };
}

/** The model a checkpoint holds, of any kind, through the registry; a weights/config mismatch is refused with the tensor that differs. */
export function labModelFromCheckpoint(ckpt: Checkpoint): LabModel {
  try {
    return modelFromWeights(validateSpec(checkpointSpec(ckpt)), ckpt.weights);
  } catch (e) {
    throw new CheckpointError(`the checkpoint does not fit its own config: ${(e as Error).message}`);
  }
}

/** The byte model a checkpoint holds; a weights/config mismatch is refused with the tensor that differs. */
export function modelFromCheckpoint(ckpt: Checkpoint): TinyLM {
  try {
    return TinyLM.fromWeights(ckpt.modelConfig, ckpt.weights);
  } catch (e) {
    throw new CheckpointError(`the checkpoint does not fit its own config: ${(e as Error).message}`);
  }
}
