// Read-only support for the lab's first checkpoint format (checkpoint.stlm,
// version 1), so runs saved before the move to safetensors still load:
//
//   "STLMCKPT" | uint32 version | uint32 header length | header (UTF-8 JSON)
//   | zero padding to a multiple of 4 | float32 tensor data (little-endian)
//
// Its header sat outside its checksum, so everything read here is checked again
// by lib/train/checkpoint.ts (spec, shapes, finite values) exactly as a new file is.
import { CheckpointError } from "./checkpoint-error.js";
import type { ModelConfig, TrainConfig } from "../config.js";
import type { ModelSpec, TensorMap } from "../models/models.js";

export const LEGACY_CHECKPOINT_FILE = "checkpoint.stlm";
const MAGIC = "STLMCKPT";

export function isLegacyCheckpoint(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === MAGIC;
}

interface ManifestEntry {
  name: unknown;
  group: unknown;
  shape: unknown;
  offset: unknown;
}

/** What a version-1 file holds, unchecked beyond its own layout. */
export interface LegacyContents {
  spec: ModelSpec;
  trainConfig: TrainConfig;
  weights: TensorMap;
  trainer: { step: number; dataRng: number[]; dropoutRng: number[]; optimizerStep: number; m: TensorMap; v: TensorMap } | null;
  meta: Record<string, unknown>;
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

/**
 * The contents of a version-1 file. Its layout is checked here (bounded sizes,
 * offsets inside the data, no two tensors sharing floats, the data checksum);
 * what the contents mean is checked by the caller.
 */
export function decodeLegacyCheckpoint(bytes: Uint8Array, what: string): LegacyContents {
  const cut = "The file was cut short (an interrupted copy or download?); use an earlier checkpoint or train again.";
  if (bytes.length < 16) throw new CheckpointError(`${what} is ${bytes.length} bytes, too short to be a checkpoint: the file is empty or was cut short.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== 1) throw new CheckpointError(`${what} has old-format version ${version}; this lab reads version 1 of the old format (and safetensors checkpoints).`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) throw new CheckpointError(`${what} is truncated: its header needs ${headerLength} bytes but only ${bytes.length - 16} follow. ${cut}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + headerLength)));
  } catch (e) {
    throw new CheckpointError(`${what} has a damaged header (${(e as Error).message}).`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new CheckpointError(`${what} has a damaged header (not a JSON object).`);
  const dataFloats = header.dataFloats;
  if (!(Number.isSafeInteger(dataFloats) && (dataFloats as number) >= 0)) throw new CheckpointError(`${what} has a damaged header: dataFloats is ${JSON.stringify(dataFloats)}, not a whole number.`);
  const dataStart = Math.ceil((16 + headerLength) / 4) * 4;
  const expectedBytes = dataStart + (dataFloats as number) * 4;
  if (bytes.length < expectedBytes) throw new CheckpointError(`${what} is truncated: it should be ${expectedBytes} bytes but is ${bytes.length} (${expectedBytes - bytes.length} missing). ${cut}`);
  if (bytes.length > expectedBytes) throw new CheckpointError(`${what} has ${bytes.length - expectedBytes} unexpected bytes after its data: it is damaged or not one file.`);
  const dataBytes = bytes.slice(dataStart, expectedBytes);
  if (fnv1a(dataBytes) !== header.checksum) throw new CheckpointError(`${what} is corrupted: its tensor data does not match the checksum stored with it.`);
  const data = new Float32Array(dataBytes.buffer);
  if (!Array.isArray(header.tensors)) throw new CheckpointError(`${what} has a damaged header: "tensors" is ${JSON.stringify(header.tensors)}, not a list.`);
  const groups = new Map<string, TensorMap>([["weights", new Map()], ["adam.m", new Map()], ["adam.v", new Map()]]);
  const used: [number, number, string][] = [];
  for (const e of header.tensors as ManifestEntry[]) {
    const name = typeof e?.name === "string" ? e.name : null;
    const group = typeof e?.group === "string" ? groups.get(e.group) : undefined;
    if (!name || !group) throw new CheckpointError(`${what} has a damaged header: a tensor entry ${JSON.stringify(e)?.slice(0, 80)} has no valid name and group.`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new CheckpointError(`${what}: tensor "${name}" has shape ${JSON.stringify(shape)}, not a list of whole numbers.`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    const offset = e.offset;
    if (!(Number.isSafeInteger(offset) && (offset as number) >= 0 && Number.isSafeInteger(n) && (offset as number) + n <= data.length)) {
      throw new CheckpointError(`${what}: tensor "${name}" at offset ${JSON.stringify(offset)} with ${n} floats lies outside the data (${data.length} floats); the file is damaged.`);
    }
    used.push([offset as number, (offset as number) + n, name]);
    group.set(name, { shape: shape as number[], data: data.slice(offset as number, (offset as number) + n) });
  }
  used.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < used.length; i++) {
    if (used[i][0] < used[i - 1][1]) throw new CheckpointError(`${what}: tensors "${used[i - 1][2]}" and "${used[i][2]}" share the same floats (overlapping offsets); the file is damaged or was edited.`);
  }
  const tensorFloats = used.reduce((n, [s, e]) => n + e - s, 0);
  if (tensorFloats !== data.length) throw new CheckpointError(`${what}: its tensors cover ${tensorFloats} of the ${data.length} floats of data; the file is damaged or was edited.`);
  const t = header.trainer as { step: number; dataRng: number[]; dropoutRng: number[]; optimizerStep: number } | null | undefined;
  const meta = (typeof header.meta === "object" && header.meta !== null ? header.meta : {}) as Record<string, unknown>;
  const spec = (meta.tokenizerFree as ModelSpec | undefined) ?? { kind: "bytes", model: header.modelConfig as ModelConfig };
  return {
    spec,
    trainConfig: header.trainConfig as TrainConfig,
    weights: groups.get("weights")!,
    trainer: t ? { step: t.step, dataRng: t.dataRng, dropoutRng: t.dropoutRng, optimizerStep: t.optimizerStep, m: groups.get("adam.m")!, v: groups.get("adam.v")! } : null,
    meta
  };
}
