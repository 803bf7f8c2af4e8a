// The tokenizer-free page's settings, as its URL query carries them (url-settings.ts).
import { COMPARISON_ORDER } from "../../lib/experiments/tokenizer-free.js";
import type { PageSettings } from "../url-settings.js";

export const TOKENIZER_FREE_TEXT = "It is a truth universally acknowledged, that a single man in possession of a good fortune — naïve or not — must be in want of a wife.";

export const TOKENIZER_FREE_SETTINGS: PageSettings = [
  { key: "text", kind: "text", maxLength: 2000, default: TOKENIZER_FREE_TEXT },
  // One of the precomputed runs' budgets (the page checks it against its data; 90 s is the longest today).
  { key: "budget", kind: "number", min: 1, max: 3600, integer: true, default: 90 },
  { key: "models", kind: "list", values: COMPARISON_ORDER, default: ["bytes", "local-word"] },
  { key: "seconds", kind: "number", min: 10, max: 600, integer: true, default: 60 },
  { key: "pooled", kind: "choice", values: ["stride", "bpe", "learned"], default: "stride" }
];
