// The benchmark page's settings, as its URL query carries them (url-settings.ts).
import { BACKEND_PREFERENCES } from "../../lib/backend.js";
import { BENCH_PRESETS } from "../../lib/eval/bench.js";
import type { PageSettings } from "../url-settings.js";

export const BENCH_SETTINGS: PageSettings = [
  { key: "backend", kind: "choice", values: BACKEND_PREFERENCES, default: "auto" },
  { key: "preset", kind: "choice", values: BENCH_PRESETS, default: "micro" },
  { key: "steps", kind: "number", min: 1, max: 100, integer: true, default: 8 },
  { key: "profile", kind: "flag", default: false }
];
