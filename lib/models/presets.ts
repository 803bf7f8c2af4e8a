// Every named preset the lab trains, of every model kind: the plain byte models
// of lib/config.ts (nano, micro) and the tokenizer-free comparison's presets
// (lib/experiments/tokenizer-free.ts). `stlm train --preset`, the bench and the pages look
// presets up here, so a name means the same model everywhere.
import { ConfigError, PRESETS, validateTrainConfig, type TrainConfig } from "../config.js";
import { validateSpec, type ModelSpec } from "./models.js";
import { TOKENIZER_FREE_PRESETS, presetModelSpec } from "../experiments/tokenizer-free.js";

export interface ModelPreset {
  name: string;
  description: string;
  train: TrainConfig;
  /** The preset's spec; some need the training split (the BPE of the BPE presets is trained on it). */
  spec(trainBytes: Uint8Array): ModelSpec;
}

const ALL: ModelPreset[] = [
  ...Object.values(PRESETS).map((p): ModelPreset => ({
    name: p.name,
    description: p.description,
    train: p.train,
    spec: () => ({ kind: "bytes", model: { ...p.model } })
  })),
  ...Object.values(TOKENIZER_FREE_PRESETS)
    // bytes-micro is the micro preset under the comparison's name: listed once, as micro.
    .filter((p) => !(p.name in PRESETS) && p.name !== "bytes-micro")
    .map((p): ModelPreset => ({
      name: p.name,
      description: p.description,
      train: p.train,
      spec: (trainBytes) => presetModelSpec(p, trainBytes)
    }))
];

export const PRESET_NAMES: readonly string[] = ALL.map((p) => p.name);

export function modelPreset(name: string): ModelPreset {
  const p = ALL.find((q) => q.name === name);
  if (!p) throw new ConfigError("preset", `unknown preset "${name}"; choose one of: ${PRESET_NAMES.join(", ")}`);
  return p;
}

/** One line per preset, for --help. */
export function presetHelp(indent = "  "): string {
  return ALL.map((p) => `${indent}${p.name.padEnd(22)} ${p.description}`).join("\n");
}

/** A preset's training config with overrides applied and validated, without building its spec (no BPE or entropy model trained). */
export function presetTrainConfig(name: string, trainOverrides: Partial<TrainConfig> = {}): TrainConfig {
  return validateTrainConfig({ ...modelPreset(name).train, ...trainOverrides });
}

/** A preset's spec and training config, with training overrides applied and both validated. */
export function presetSpec(name: string, trainBytes: Uint8Array, trainOverrides: Partial<TrainConfig> = {}): { spec: ModelSpec; train: TrainConfig } {
  const p = modelPreset(name);
  const train = validateTrainConfig({ ...p.train, ...trainOverrides });
  return { spec: validateSpec(p.spec(trainBytes)), train };
}
