// Run records (lib/runs/record.ts) drawn with the lab's seed charts: runs grouped into
// series (by default the settings that differ between them, seed aside), curves of
// validation bits/byte and of training loss, and each run's final numbers. A report
// page hands these functions the records its data loader read; nothing here knows
// where a run came from (the CLI, a page, an import).
import type { RunRecord } from "../lib/runs/record.js";
import type { DotRow, SeedPoint } from "./seed-charts.js";

/** A record's settings flattened to "path" → JSON value: preset, data, model spec and training config. */
function flatSettings(r: RunRecord): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (v: unknown, path: string) => {
    if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else out.set(path, JSON.stringify(v));
  };
  walk({ preset: r.preset, data: r.data.name, spec: r.spec, train: r.train }, "");
  return out;
}

/** A series name for each record: the settings that differ between the records, seed aside ("learningRate 0.003"); the label when none do. */
export function seriesBySettings(records: readonly RunRecord[]): Map<RunRecord, string> {
  const flat = records.map(flatSettings);
  const paths = new Set(flat.flatMap((f) => [...f.keys()]));
  const varying = [...paths].filter((p) => p !== "train.seed" && new Set(flat.map((f) => f.get(p))).size > 1);
  return new Map(records.map((r, i) => [r, varying.length ? varying.map((p) => `${p.split(".").at(-1)} ${flat[i].get(p) ?? "–"}`).join(", ") : r.label]));
}

/** Validation bits/byte at each evaluation, one point per run, for BandChart. */
export function validationPoints(records: readonly RunRecord[], series = seriesBySettings(records)): SeedPoint[] {
  return records.flatMap((r) => r.metrics.evals.map((e) => ({ series: series.get(r)!, seed: r.train.seed, step: e.step, value: e.valBitsPerByte })));
}

/** Training loss in bits (the record's loss is in nats) averaged over windows of `window` steps, for BandChart. */
export function trainingPoints(records: readonly RunRecord[], { window = 10, series = seriesBySettings(records), suffix = " (train)" } = {}): SeedPoint[] {
  const points: SeedPoint[] = [];
  for (const r of records) {
    const steps = r.metrics.steps;
    for (let i = window; i <= steps.length; i += window) {
      const w = steps.slice(i - window, i);
      points.push({ series: `${series.get(r)}${suffix}`, seed: r.train.seed, step: w[w.length - 1].step, value: w.reduce((t, d) => t + d.loss, 0) / w.length / Math.LN2 });
    }
  }
  return points;
}

/** Each run's last validation bits/byte, for SpreadChart. */
export function finalValidationRows(records: readonly RunRecord[], series = seriesBySettings(records)): DotRow[] {
  return records.filter((r) => r.final?.valBitsPerByte != null).map((r) => ({ series: series.get(r)!, seed: r.train.seed, value: r.final!.valBitsPerByte! }));
}
