// The training page's settings, as its URL query carries them (url-settings.ts).
import { PRESETS } from "../../lib/config.js";
import { BACKEND_PREFERENCES } from "../../lib/backend.js";
import { CORPUS_NAMES } from "../../lib/text/data.js";
import type { PageSettings } from "../url-settings.js";

/** The corpus choice that reads the reader's own text (its text is never put in a link). */
export const OWN_TEXT = "your own text";

export const TRAIN_SETTINGS: PageSettings = [
  { key: "backend", kind: "choice", values: BACKEND_PREFERENCES, default: "auto" },
  { key: "preset", kind: "choice", values: Object.keys(PRESETS), default: "nano" },
  { key: "corpus", kind: "choice", values: [...CORPUS_NAMES, OWN_TEXT], default: "austen" },
  { key: "steps", kind: "number", min: 1, max: 20000, integer: true, default: 300 },
  // A new preset brings its own learning rate, and leaves steps and seed as they are.
  { key: "lr", kind: "number", min: 0, max: 1, minExclusive: true, maxExclusive: true, default: (s) => PRESETS[s.preset as string].train.learningRate, dependsOn: ["preset"] },
  { key: "seed", kind: "number", min: 0, max: 2 ** 32 - 1, integer: true, default: 1 },
  // Writing with the current model, and the text whose attention is drawn.
  { key: "prompt", kind: "text", maxLength: 500, default: "It is a truth universally acknowledged" },
  { key: "temperature", kind: "number", min: 0, max: 2, default: 0.8 },
  { key: "attention", kind: "text", maxLength: 500, default: "It is a truth universally acknowledged" },
  // The attention map's layer and head: the box itself says when the model has fewer.
  { key: "layer", kind: "number", min: 0, max: 63, integer: true, default: 0 },
  { key: "head", kind: "number", min: 0, max: 63, integer: true, default: 0 },
  // The replay's step (the nearest snapshot is shown).
  { key: "replay", kind: "number", min: 0, max: 20000, integer: true, default: 0 }
];
