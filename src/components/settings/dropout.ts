// The dropout page's settings, as its URL query carries them (url-settings.ts).
import { DROPOUT_ARMS, DROPOUT_REGIMES } from "../../lib/experiments/dropout.js";
import type { PageSettings } from "../url-settings.js";

const ARMS = DROPOUT_ARMS.map((a) => a.id);

export const DROPOUT_SETTINGS: PageSettings = [
  { key: "regime", kind: "choice", values: Object.keys(DROPOUT_REGIMES), default: "overfit" },
  { key: "armA", kind: "choice", values: ARMS, default: "none" },
  { key: "armB", kind: "choice", values: ARMS, default: "constant" },
  { key: "steps", kind: "number", min: 10, max: 2000, integer: true, default: 200 },
  { key: "seed", kind: "number", min: 0, max: 4294967295, integer: true, default: 1 }
];
