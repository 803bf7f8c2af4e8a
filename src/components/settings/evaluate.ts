// The evaluation page's settings, as its URL query carries them (url-settings.ts).
import { BACKEND_PREFERENCES } from "../../lib/backend.js";
import { DEFAULT_EVAL_SIZE } from "../../lib/eval/evaluation.js";
import { BYTE_SIZES, ITEM_SIZES } from "../eval-sizes.js";
import type { PageSettings } from "../url-settings.js";

/** Which model the page evaluates: the precomputed checkpoint, one saved in this browser, or a file. */
export const EVAL_MODELS = ["precomputed", "saved", "file"] as const;

export const EVALUATE_SETTINGS: PageSettings = [
  { key: "backend", kind: "choice", values: BACKEND_PREFERENCES, default: "auto" },
  { key: "model", kind: "choice", values: EVAL_MODELS, default: "precomputed" },
  { key: "bytes", kind: "choice", values: [...BYTE_SIZES.map(String), "all"], default: String(DEFAULT_EVAL_SIZE.bytes) },
  { key: "items", kind: "choice", values: [...ITEM_SIZES.map(String), "all"], default: String(DEFAULT_EVAL_SIZE.items) }
];
