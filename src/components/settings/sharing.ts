// The sharing page's settings, as its URL query carries them (url-settings.ts).
import { PRESETS, LEDGER_PRESETS, GPT2_VOCAB_SIZE, anyPreset, type ModelConfig } from "../../lib/config.js";
import { SHARING_EXPERIMENTS } from "../../lib/experiments/sharing.js";
import type { PageSettings } from "../url-settings.js";

/** The presets the ledger offers: the trainable ones and the token-vocabulary ledger presets. */
export const TOKEN_PRESETS = [...Object.keys(PRESETS), ...Object.keys(LEDGER_PRESETS).filter((n) => !n.endsWith("-bytes"))];

/** Interior sharing's choices for a model: -1 (off), or k: layers k … nLayer−1−k share one block. */
export function interiorMargins(nLayer: number): number[] {
  return [-1, ...Array.from({ length: Math.max(0, Math.floor((nLayer - 2) / 2) + 1) }, (_, k) => k)];
}

/** The vocabulary sizes offered for a preset: its own, bytes, the paper's sizes and GPT-2's. */
export function vocabChoices(base: Pick<ModelConfig, "vocabSize">): number[] {
  return [...new Set([base.vocabSize, 258, 9984, 10000, 20032, GPT2_VOCAB_SIZE])].sort((a, b) => a - b);
}

export const LORA_RANKS = [0, 2, 4, 8, 16, 64];

const base = (s: Record<string, unknown>) => anyPreset(s.preset as string).model;

export const SHARING_SETTINGS: PageSettings = [
  { key: "preset", kind: "choice", values: TOKEN_PRESETS, default: "stlm-50m-paper" },
  // The switches start from the preset's own config whenever the preset changes.
  { key: "tie", kind: "flag", default: (s) => base(s).tieEmbeddings, dependsOn: ["preset"] },
  { key: "shareMlp", kind: "flag", default: (s) => base(s).shareFfn, dependsOn: ["preset"] },
  { key: "shareAttnOut", kind: "flag", default: (s) => base(s).shareAttnOut, dependsOn: ["preset"] },
  { key: "interior", kind: "choice", values: (s) => interiorMargins(base(s).nLayer), default: -1, dependsOn: ["preset"] },
  { key: "lora", kind: "choice", values: LORA_RANKS, default: 0, dependsOn: ["preset"] },
  { key: "vocab", kind: "choice", values: (s) => vocabChoices(base(s)), default: (s) => base(s).vocabSize, dependsOn: ["preset"] },
  { key: "pooling", kind: "flag", default: false, dependsOn: ["preset"] },
  { key: "count", kind: "choice", values: ["unique", "applied"], default: "unique" },
  { key: "experiment", kind: "choice", values: SHARING_EXPERIMENTS.map((e) => e.id), default: "shared-ffn" },
  { key: "steps", kind: "number", min: 20, max: 2000, integer: true, default: 100 }
];
