// The distillation page's settings, as its URL query carries them (url-settings.ts).
import type { PageSettings } from "../url-settings.js";

export const DISTILLATION_SETTINGS: PageSettings = [
  { key: "text", kind: "text", maxLength: 600, default: "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife." },
  { key: "kl", kind: "choice", values: ["forward", "reverse"], default: "forward" },
  { key: "temperature", kind: "number", min: 0.1, max: 10, default: 1 },
  { key: "alphaStart", kind: "number", min: 0, max: 1, default: 0.5 },
  { key: "alphaEnd", kind: "number", min: 0, max: 1, default: 0.5 },
  { key: "steps", kind: "number", min: 10, max: 2000, integer: true, default: 200 },
  { key: "seed", kind: "number", min: 0, max: 4294967295, integer: true, default: 1 }
];
