// Checkpoints in safetensors (lib/train/safetensors.ts), the container PyTorch and
// Hugging Face tools read, so a lab checkpoint opens in Python with
// `safetensors.torch.load_file`. One path for every model kind:
//
//   tensors   the weights, named as the model names its parameters, and when the
//             run can be resumed the AdamW moments as "adam.m.<name>" / "adam.v.<name>"
//   metadata  (strings) format = "stlm-checkpoint", stlm.version = "2",
//             stlm.model (the ModelSpec, JSON), stlm.train (the TrainConfig),
//             stlm.trainer (step, RNG states, optimizer step, training time),
//             stlm.meta (the run's facts: preset, corpus, backend, dates),
//             stlm.sha256 (over the whole file with this value zeroed: the
//             header and the data, so no field changes unnoticed)
//
// Reading checks, before allocating anything the file does not itself hold: the
// container's layout, the hash, every config value against the lab's limits, the
// exact set of tensors and shapes the spec needs, and that every float is finite.
// Each refusal names the field and says what to do. Old checkpoint.stlm files
// still load, read-only, through lib/train/checkpoint-legacy.ts and the same checks.
import { ConfigError, validateTrainConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { CheckpointError } from "./checkpoint-error.js";
import { decodeLegacyCheckpoint, isLegacyCheckpoint, LEGACY_CHECKPOINT_FILE } from "./checkpoint-legacy.js";
import { TinyLM } from "../models/model.js";
import { checkBuildable, modelFromWeights, specParameterShapes, validateSpec, type LabModel, type ModelSpec, type TensorMap } from "../models/models.js";
import { decodeSafetensors, encodeSafetensors, firstNonFinite, SafetensorsError, type SafetensorsTensor } from "./safetensors.js";
import { sha256 } from "./sha256.js";
import type { TrainerState } from "./trainer.js";

export { CheckpointError, LEGACY_CHECKPOINT_FILE };
export const CHECKPOINT_VERSION = 2;
export const CHECKPOINT_FILE = "checkpoint.safetensors";
const FORMAT = "stlm-checkpoint";
const HASH_KEY = "stlm.sha256";
const ZERO_HASH = "0".repeat(64);

export interface Checkpoint {
  spec: ModelSpec;
  trainConfig: TrainConfig;
  weights: TensorMap;
  /** Absent in a weights-only checkpoint (one that can be sampled and evaluated, not resumed). */
  trainer?: TrainerState;
  /** Free-form facts about the run: preset, corpus, date, backend. */
  meta: Record<string, unknown>;
  /** Set when the file was read from an older format (read-only: the next save writes the current one). */
  note?: string;
}

export function encodeCheckpoint(ckpt: Omit<Checkpoint, "note">): Uint8Array {
  const tensors: SafetensorsTensor[] = [];
  for (const [name, t] of ckpt.weights) tensors.push({ name, shape: t.shape, data: t.data });
  const t = ckpt.trainer;
  if (t) {
    for (const [name, m] of t.optimizer.m) tensors.push({ name: `adam.m.${name}`, shape: m.shape, data: m.data });
    for (const [name, v] of t.optimizer.v) tensors.push({ name: `adam.v.${name}`, shape: v.shape, data: v.data });
  }
  const metadata: Record<string, string> = {
    format: FORMAT,
    "stlm.version": String(CHECKPOINT_VERSION),
    "stlm.model": JSON.stringify(ckpt.spec),
    "stlm.train": JSON.stringify(ckpt.trainConfig),
    ...(t ? { "stlm.trainer": JSON.stringify({ step: t.step, dataRng: t.dataRng, dropoutRng: t.dropoutRng, optimizerStep: t.optimizer.step, elapsedMs: t.elapsedMs ?? 0 }) } : {}),
    "stlm.meta": JSON.stringify(ckpt.meta ?? {}),
    [HASH_KEY]: ZERO_HASH
  };
  const bytes = encodeSafetensors(tensors, metadata);
  const at = findOnce(bytes.subarray(0, headerEnd(bytes)), ZERO_HASH);
  const hash = sha256(bytes);
  bytes.set(new TextEncoder().encode(hash), at);
  return bytes;
}

/** Reads and checks a checkpoint of either format; `what` names it in messages (a file name). */
export function decodeCheckpoint(bytes: Uint8Array, what = "the checkpoint"): Checkpoint {
  if (isLegacyCheckpoint(bytes)) {
    const c = decodeLegacyCheckpoint(bytes, what);
    const trainer = c.trainer ? { step: c.trainer.step, dataRng: c.trainer.dataRng, dropoutRng: c.trainer.dropoutRng, optimizerStep: c.trainer.optimizerStep, elapsedMs: 0 } : null;
    const checked = checkContents(what, c.spec, c.trainConfig, trainer, c.weights, c.trainer?.m, c.trainer?.v);
    return { ...checked, meta: c.meta, note: `${what} is in the lab's old checkpoint format (${LEGACY_CHECKPOINT_FILE}); it is read as is, and the next save writes ${CHECKPOINT_FILE}.` };
  }
  if (bytes.length >= 9 && bytes[8] !== 0x7b /* "{" */) {
    throw new CheckpointError(`${what} is not a lab checkpoint (neither safetensors nor the old ${LEGACY_CHECKPOINT_FILE} format). Pass the ${CHECKPOINT_FILE} file or the run folder that holds it.`);
  }
  let file;
  try {
    file = decodeSafetensors(bytes, { what });
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError((e as Error).message);
    throw e;
  }
  const meta = file.metadata;
  if (meta.get("format") !== FORMAT) {
    throw new CheckpointError(`${what} is a safetensors file but not a lab checkpoint (its metadata has no format "${FORMAT}"). Pass a ${CHECKPOINT_FILE} written by \`stlm train\` or a lab page, or the run folder that holds it.`);
  }
  const version = meta.get("stlm.version");
  if (version !== String(CHECKPOINT_VERSION)) throw new CheckpointError(`${what} has checkpoint version ${JSON.stringify(version)}; this lab reads version ${CHECKPOINT_VERSION}. A newer lab wrote it: update the lab.`);
  // The hash covers the header and the data: checked before any value is believed.
  const stored = meta.get(HASH_KEY) ?? "";
  if (!/^[0-9a-f]{64}$/.test(stored)) throw new CheckpointError(`${what} has no valid integrity hash (${HASH_KEY}); it was not written by the lab or was edited.`);
  const header = file.headerBytes;
  const at = findOnce(header, stored, what);
  const zeroed = header.slice();
  zeroed.set(new TextEncoder().encode(ZERO_HASH), at);
  const actual = sha256([bytes.subarray(0, 8), zeroed, bytes.subarray(file.dataStart)]);
  if (actual !== stored) {
    throw new CheckpointError(`${what} is corrupted: its contents do not match the SHA-256 stored with it (a changed byte in the header or the data). Use an earlier checkpoint or train again.`);
  }
  const spec = parseField<ModelSpec>(what, meta, "stlm.model");
  const train = parseField<TrainConfig>(what, meta, "stlm.train");
  const trainer = meta.has("stlm.trainer") ? parseField<RawTrainer>(what, meta, "stlm.trainer") : null;
  const runMeta = parseField<Record<string, unknown>>(what, meta, "stlm.meta");
  // Shapes are checked against the spec before a single float is copied out.
  const names = checkTensorSet(what, spec, train, trainer, new Map([...file.tensors].map(([n, t]) => [n, t.shape])));
  const group = (prefix: string) => {
    const out: TensorMap = new Map();
    for (const [name, shape] of names) if (prefix === "" ? !name.startsWith("adam.") : name.startsWith(prefix)) out.set(name.slice(prefix.length), { shape, data: file.tensorData(name) });
    return out;
  };
  const checked = checkContents(what, spec, train, trainer, group(""), trainer ? group("adam.m.") : undefined, trainer ? group("adam.v.") : undefined);
  return { ...checked, meta: typeof runMeta === "object" && runMeta !== null && !Array.isArray(runMeta) ? runMeta : {} };
}

interface RawTrainer {
  step: number;
  dataRng: number[];
  dropoutRng: number[];
  optimizerStep: number;
  elapsedMs: number;
}

function parseField<T>(what: string, meta: Map<string, string>, key: string): T {
  const text = meta.get(key);
  if (text === undefined) throw new CheckpointError(`${what} lacks its "${key}" metadata; it was not written by this lab or was edited.`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CheckpointError(`${what} has a damaged "${key}" metadata field (${(e as Error).message}).`);
  }
}

/** Validates spec, train config and trainer state; returns the names and shapes of every tensor the file must hold. */
function checkTensorSet(what: string, specIn: ModelSpec, trainIn: TrainConfig, trainer: RawTrainer | null, present: Map<string, number[]>): Map<string, number[]> {
  const spec = checkConfigs(what, specIn, trainIn, trainer).spec;
  const expected = new Map<string, number[]>();
  for (const { name, shape } of specParameterShapes(spec)) {
    expected.set(name, shape);
    if (trainer) {
      expected.set(`adam.m.${name}`, shape);
      expected.set(`adam.v.${name}`, shape);
    }
  }
  for (const [name, shape] of expected) {
    const got = present.get(name);
    if (!got) throw new CheckpointError(`${what} lacks tensor "${name}" that its ${spec.kind} model needs; the file is damaged, or its model settings were edited.`);
    if (got.join("x") !== shape.join("x")) throw new CheckpointError(`${what}: tensor "${name}" has shape [${got}] but its model settings need [${shape}]; the weights and the settings do not match.`);
  }
  for (const name of present.keys()) {
    if (!expected.has(name)) throw new CheckpointError(`${what} holds tensor "${name.slice(0, 80)}" that its ${spec.kind} model has no place for; the file is damaged or was edited.`);
  }
  return expected;
}

function checkConfigs(what: string, spec: ModelSpec, train: TrainConfig, trainer: RawTrainer | null): { spec: ModelSpec; train: TrainConfig } {
  let s: ModelSpec, t: TrainConfig;
  try {
    s = validateSpec(spec);
    checkBuildable(s);
    t = validateTrainConfig({ ...(train as object) } as TrainConfig);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof TypeError || e instanceof RangeError) throw new CheckpointError(`${what} holds settings this lab cannot use: ${(e as Error).message}`);
    throw e;
  }
  if (trainer !== null) {
    const bad = (field: string, rule: string, got: unknown) => {
      throw new CheckpointError(`${what}: trainer state "${field}" ${rule} (got ${JSON.stringify(got)?.slice(0, 60)}); the file is damaged or was edited.`);
    };
    if (typeof trainer !== "object" || Array.isArray(trainer)) bad("stlm.trainer", "must be an object", trainer);
    if (!(Number.isSafeInteger(trainer.step) && trainer.step >= 0 && trainer.step <= t.steps)) bad("step", `must be a whole number from 0 to the run's ${t.steps} steps`, trainer.step);
    if (trainer.optimizerStep !== trainer.step) bad("optimizerStep", `must equal the step (${trainer.step})`, trainer.optimizerStep);
    for (const k of ["dataRng", "dropoutRng"] as const) {
      const r = trainer[k];
      if (!(Array.isArray(r) && r.length === 4 && r.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32))) bad(k, "must be 4 unsigned 32-bit words", r);
    }
    if (!(typeof trainer.elapsedMs === "number" && Number.isFinite(trainer.elapsedMs) && trainer.elapsedMs >= 0)) bad("elapsedMs", "must be a number >= 0", trainer.elapsedMs);
  }
  return { spec: s, train: t };
}

function checkContents(
  what: string,
  spec: ModelSpec,
  train: TrainConfig,
  trainer: RawTrainer | null,
  weights: TensorMap,
  m: TensorMap | undefined,
  v: TensorMap | undefined
): Omit<Checkpoint, "meta" | "note"> {
  const checked = checkConfigs(what, spec, train, trainer);
  const all = new Map<string, number[]>();
  for (const [n, t] of weights) all.set(n, t.shape);
  if (trainer) {
    for (const [n, t] of m ?? new Map()) all.set(`adam.m.${n}`, t.shape);
    for (const [n, t] of v ?? new Map()) all.set(`adam.v.${n}`, t.shape);
  }
  checkTensorSet(what, checked.spec, checked.train, trainer, all);
  const finite = (map: TensorMap | undefined, prefix: string, why: string) => {
    for (const [name, t] of map ?? new Map()) {
      const i = firstNonFinite(t.data);
      if (i >= 0) throw new CheckpointError(`${what}: tensor "${prefix}${name}" holds ${t.data[i]} at element ${i}; ${why}`);
    }
  };
  finite(weights, "", "the run had diverged when it was saved (or the file was edited): use an earlier checkpoint, or retrain with a lower learning rate.");
  finite(m, "adam.m.", "its optimizer state is unusable: use an earlier checkpoint.");
  finite(v, "adam.v.", "its optimizer state is unusable: use an earlier checkpoint.");
  return {
    spec: checked.spec,
    trainConfig: checked.train,
    weights,
    trainer: trainer
      ? { step: trainer.step, dataRng: trainer.dataRng, dropoutRng: trainer.dropoutRng, elapsedMs: trainer.elapsedMs, optimizer: { step: trainer.optimizerStep, m: m!, v: v! } }
      : undefined
  };
}

/** The model a checkpoint holds, of any kind, through the registry. */
export function labModelFromCheckpoint(ckpt: Checkpoint): LabModel {
  try {
    return modelFromWeights(ckpt.spec, ckpt.weights);
  } catch (e) {
    throw new CheckpointError(`the checkpoint does not fit its own config: ${(e as Error).message}`);
  }
}

/** The byte model a checkpoint holds; another kind is refused, naming it. */
export function modelFromCheckpoint(ckpt: Checkpoint): TinyLM {
  if (ckpt.spec.kind !== "bytes") throw new CheckpointError(`this checkpoint holds a ${ckpt.spec.kind} model, not a plain byte model; open it where that kind is trained (the tokenizer-free page, or \`stlm sample\` / \`stlm eval\`).`);
  try {
    return TinyLM.fromWeights(ckpt.spec.model, ckpt.weights);
  } catch (e) {
    throw new CheckpointError(`the checkpoint does not fit its own config: ${(e as Error).message}`);
  }
}

function headerEnd(bytes: Uint8Array): number {
  return 8 + Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
}

/** The offset of the one occurrence of an ASCII string in `bytes`; none or two is an error. */
function findOnce(bytes: Uint8Array, text: string, what = "the checkpoint"): number {
  const needle = new TextEncoder().encode(text);
  let found = -1;
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    if (found >= 0) throw new CheckpointError(`${what}'s header holds its integrity hash twice; it was edited.`);
    found = i;
  }
  if (found < 0) throw new CheckpointError(`${what}'s header does not hold its integrity hash where expected; it was edited.`);
  return found;
}
