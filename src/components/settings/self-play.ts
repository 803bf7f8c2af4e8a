// The self-play page's settings, as its URL query carries them (url-settings.ts).
import type { PageSettings } from "../url-settings.js";

export const SELF_PLAY_SETTINGS: PageSettings = [
  // A shorter run than the precomputed one (15 + 85 iterations), a few minutes in a browser.
  { key: "imitation", kind: "number", min: 1, max: 2000, integer: true, default: 15 },
  { key: "selfplay", kind: "number", min: 0, max: 2000, integer: true, default: 35 },
  { key: "every", kind: "number", min: 1, max: 500, integer: true, default: 10 },
  { key: "seed", kind: "number", min: 0, max: 2 ** 32 - 1, integer: true, default: 1 },
  // Whom the reader plays: the live run's model needs a run first (until then, the precomputed one plays).
  { key: "opponent", kind: "choice", values: ["precomputed", "live"], default: "precomputed" }
];
