// Progress of a live comparison as the training page gives it: where it is, how long
// it has run and about how long is left, from the pace so far. No DOM: the worker's
// runs compute it (progress-line.ts draws it).
import { formatDuration } from "./format.js";

export interface RunProgress {
  /** Steps done (of the slowest arm), or seconds trained for a run that ends on time. */
  done: number;
  total: number;
  unit: "steps" | "s";
  elapsedMs: number;
  /** Estimated time left; absent until the first step gives a pace. */
  etaMs?: number;
}

/** Progress after `done` of `total` units, `elapsedMs` after the start, extrapolating the pace so far. */
export function estimateProgress(done: number, total: number, elapsedMs: number, unit: RunProgress["unit"] = "steps"): RunProgress {
  const p: RunProgress = { done, total, unit, elapsedMs };
  if (done > 0 && total >= done) p.etaMs = (elapsedMs / done) * (total - done);
  return p;
}

/** "step 40 of 100 · 12 s so far · about 18 s left", for a status line. */
export function progressText(p: RunProgress | undefined): string {
  if (!p) return "";
  const where = p.unit === "steps" ? `step ${p.done} of ${p.total}` : `${Math.round(p.done)} of ${p.total} s trained`;
  return `${where} · ${formatDuration(p.elapsedMs)} so far${p.etaMs !== undefined ? ` · about ${formatDuration(p.etaMs)} left` : ""}`;
}
