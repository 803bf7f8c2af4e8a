// The objectives page's settings, as its URL query carries them (url-settings.ts).
import { OBJECTIVE_ARMS } from "../../lib/experiments/objectives.js";
import type { PageSettings } from "../url-settings.js";

export const OBJECTIVES_SETTINGS: PageSettings = [
  { key: "prompt", kind: "text", maxLength: 500, default: "It is a truth universally acknowledged" },
  { key: "temperature", kind: "choice", values: [0, 0.8], default: 0 },
  { key: "bytes", kind: "number", min: 10, max: 1000, integer: true, default: 200 },
  { key: "arm", kind: "choice", values: OBJECTIVE_ARMS.filter((a) => a.id !== "next").map((a) => a.id), default: "mtp2" },
  { key: "steps", kind: "number", min: 10, max: 2000, integer: true, default: 60 }
];
