// Charts of the tokenizer-free page: validation bits/byte of several models
// against step or seconds, parameters by component, the learned boundary rate,
// and a pooled model's attention over chunks. Every line names its series as z: with
// Plot's implicit z (the stroke channel), a live run's first few points make Plot warn
// "implicit z channel has high cardinality" at every redraw.
import * as Plot from "@observablehq/plot";
import { SpreadChart, summarize, type Summary } from "./seed-charts.js";
import { accessibleChart, num } from "./chart-a11y.js";
import { barLabelLayout } from "./bar-labels.js";

export interface ComparisonCurve {
  label: string;
  /** Each evaluation; `elapsedMs` is its training time, which a ticked run may not have kept (drawn against step only). */
  evals: readonly { step: number; elapsedMs?: number; valBitsPerByte: number }[];
  /** A run ticked in the runs table (runs-overlay.ts), drawn dashed beside the live models. */
  ticked?: boolean;
}

/**
 * Validation bits per byte of each model against its step or its training seconds.
 * Against seconds, only the evaluations that kept their training time are drawn.
 */
export function ComparisonChart(runs: readonly ComparisonCurve[], { width = 640, height = 300, x = "seconds" }: { width?: number; height?: number; x?: "step" | "seconds" } = {}): HTMLElement {
  const data = runs.flatMap((r) =>
    r.evals.filter((e) => x === "step" || e.elapsedMs !== undefined).map((e) => ({ model: r.label, ticked: r.ticked === true, step: e.step, seconds: (e.elapsedMs ?? NaN) / 1000, bpb: e.valBitsPerByte }))
  );
  const drawn = runs.filter((r) => data.some((d) => d.model === r.label));
  const chart = Plot.plot({
    width,
    height,
    grid: true,
    color: { legend: true, domain: drawn.map((r) => r.label) },
    x: { label: x === "step" ? "step" : "training seconds" },
    y: { label: "validation bits per byte" },
    marks: [
      Plot.line(data.filter((d) => !d.ticked), { x, y: "bpb", z: "model", stroke: "model", marker: "dot", tip: true }),
      Plot.line(data.filter((d) => d.ticked), { x, y: "bpb", z: "model", stroke: "model", strokeDasharray: "4,3", marker: "circle-stroke", tip: true })
    ]
  }) as HTMLElement;
  chart.dataset.runs = JSON.stringify(drawn.map((r) => r.label));
  return accessibleChart(
    chart,
    `Validation bits per byte of each model against ${x === "step" ? "step" : "training seconds"}`,
    drawn.map((r) => {
      const e = r.evals.at(-1);
      return `${r.label}: ${e ? `${num(e.valBitsPerByte)} at step ${e.step}${e.elapsedMs !== undefined ? `, ${(e.elapsedMs / 1000).toFixed(0)} s` : ""}` : "no evaluation yet"}.`;
    }).join(" ")
  );
}

export interface ParameterCost {
  model: string;
  component: string;
  parameters: number;
}

/** Parameters of each model, stacked by component. */
export function ParameterCostChart(rows: readonly ParameterCost[], { width = 640 }: { width?: number } = {}): HTMLElement {
  const models = [...new Set(rows.map((r) => r.model))];
  const layout = barLabelLayout(width, models, { rowHeight: 40, extra: 60, marginRight: 20 });
  const chart = Plot.plot({
    width,
    height: layout.height,
    marginLeft: layout.marginLeft,
    marginRight: layout.marginRight,
    color: { legend: true },
    x: { label: "parameters", grid: true, tickFormat: "s", ticks: Math.max(2, Math.floor(width / 110)) },
    y: { label: null, domain: models, ...layout.y },
    marks: [...layout.marks, Plot.barX(rows, { x: "parameters", y: "model", fill: "component", tip: true }), Plot.ruleX([0])]
  }) as HTMLElement;
  return accessibleChart(
    chart,
    "Parameters of each model, stacked by component",
    models.map((m) => { const mine = rows.filter((r) => r.model === m); return `${m}: ${mine.reduce((a, r) => a + r.parameters, 0).toLocaleString("en-US")} in all (${[...new Set(mine.map((r) => r.component))].map((c) => `${c} ${mine.filter((r) => r.component === c).reduce((a, r) => a + r.parameters, 0).toLocaleString("en-US")}`).join(", ")}).`; }).join(" ")
  );
}

/** The learned boundary rate (chunks per byte) against step, with the target. */
export function BoundaryRateChart(points: readonly { step: number; rate: number }[], { width = 640, target = 0.25 }: { width?: number; target?: number } = {}): HTMLElement {
  const chart = Plot.plot({
    width,
    height: 220,
    grid: true,
    x: { label: "step" },
    y: { label: "boundaries per byte", domain: [0, 0.5] },
    marks: [Plot.ruleY([target], { stroke: "var(--theme-red)", strokeDasharray: "4 3" }), Plot.line(points, { x: "step", y: "rate", tip: true })]
  }) as HTMLElement;
  const last = points.at(-1);
  return accessibleChart(chart, "Learned boundaries per byte against step, with the target rate", `Target ${target} boundaries per byte; ${last ? `${num(last.rate)} at step ${last.step} (${points.length} points)` : "no points yet"}.`);
}

/**
 * One head's attention over the core's positions, each labelled with the chunk it
 * reads (the first reads the start vector); the row of a position predicts the
 * chunk after the one it reads. Causal: never a later position.
 */
export function ChunkAttention({ labels, weights }: { labels: readonly string[]; weights: readonly (readonly number[])[] }, { width = 640, title }: { width?: number; title?: string } = {}): HTMLElement {
  const n = labels.length;
  const keyed = labels.map((l, i) => `${i}:${l}`);
  const cells: { q: string; k: string; w: number }[] = [];
  for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) cells.push({ q: keyed[q], k: keyed[k], w: weights[q][k] });
  const side = Math.min(width - 120, n * 16 + 120);
  const chart = Plot.plot({
    width: side + 20,
    height: side,
    marginLeft: 110,
    marginBottom: 110,
    title,
    x: { domain: keyed, label: "key: the position read", tickRotate: -60 },
    y: { domain: keyed, label: "query: predicts the chunk after its own" },
    color: { scheme: "blues", domain: [0, 1], legend: true, label: "attention" },
    marks: [Plot.cell(cells, { x: "k", y: "q", fill: "w", tip: true })]
  }) as HTMLElement;
  const most = keyed.map((q, i) => { let best = 0; for (let k = 1; k <= i; k++) if (weights[i][k] > weights[i][best]) best = k; return `${q} attends most to ${keyed[best]} (${weights[i][best].toFixed(2)})`; });
  return accessibleChart(chart, `Attention over ${n} chunk positions${title ? `, ${title}` : ""}`, `Each position and the position it attends to most: ${most.join("; ")}.`);
}

/** One row of the equal-time comparison: a model's final validation bits/byte for one seed. */
export interface SeedResult {
  label: string;
  seed: number;
  valBitsPerByte: number;
}

/** Mean, sample standard deviation, min and max of each model's seeds, in the order given. */
export function seedSummary(results: readonly SeedResult[]): ({ label: string } & Summary)[] {
  const labels = [...new Set(results.map((r) => r.label))];
  return labels.map((label) => ({ label, ...summarize(results.filter((r) => r.label === label).map((r) => r.valBitsPerByte)) }));
}

/** Every seed as a dot, the mean as a tick and the min-max range as a rule, one row per model (components/seed-charts.ts); an optional reference line. */
export function SeedChart(results: readonly SeedResult[], { width = 640, reference, referenceLabel }: { width?: number; reference?: number; referenceLabel?: string } = {}): HTMLElement {
  return SpreadChart(
    results.map((r) => ({ series: r.label, seed: r.seed, value: r.valBitsPerByte })),
    { width, title: "Validation bits per byte of each model, every seed", xLabel: "validation bits per byte (lower is better)", series: [...new Set(results.map((r) => r.label))], reference, referenceLabel }
  );
}

/** Per-slot bits/byte of the paper decoder beside the n-gram ceiling for the same gap: the bytes a prediction cannot see. */
export function SlotChart(rows: readonly { slot: number; what: string; bitsPerByte: number; low?: number; high?: number }[], { width = 640 }: { width?: number } = {}): HTMLElement {
  const chart = Plot.plot({
    width,
    height: 260,
    grid: true,
    color: { legend: true },
    x: { label: "byte of the chunk (bytes of the chunk it cannot see)", tickFormat: (d: number) => `${d}`, ticks: [...new Set(rows.map((r) => r.slot))] },
    y: { label: "bits per byte", zero: true },
    marks: [
      Plot.ruleY([0]),
      Plot.line(rows, { x: "slot", y: "bitsPerByte", z: "what", stroke: "what", marker: "dot", tip: true }),
      Plot.ruleX(rows.filter((r) => r.low !== undefined), { x: "slot", y1: "low", y2: "high", stroke: "what", strokeWidth: 3 })
    ]
  }) as HTMLElement;
  const whats = [...new Set(rows.map((r) => r.what))];
  return accessibleChart(
    chart,
    "Bits per byte at each byte of a chunk, for each decoder and the n-gram that cannot see the bytes before it",
    whats.map((w) => `${w}: ${rows.filter((r) => r.what === w).map((r) => `byte ${r.slot} ${num(r.bitsPerByte)}${r.low !== undefined ? ` (${num(r.low!)}–${num(r.high!)})` : ""}`).join(", ")}.`).join(" ")
  );
}

/** A quantity of pooled models over training, one line per run, coloured by learning rate. */
export function CollapseChart(points: readonly { step: number; value: number; group: string; run: string }[], { width = 640, label = "between-chunk variance", log = true }: { width?: number; label?: string; log?: boolean } = {}): HTMLElement {
  const chart = Plot.plot({
    width,
    height: 240,
    grid: true,
    color: { legend: true },
    x: { label: "step" },
    y: { label, type: log ? "log" : "linear" },
    marks: [Plot.line(points, { x: "step", y: "value", stroke: "group", z: "run", tip: true })]
  }) as HTMLElement;
  const runs = [...new Set(points.map((p) => p.run))];
  return accessibleChart(
    chart,
    `${label[0].toUpperCase()}${label.slice(1)} against step, one line per run`,
    runs.map((r) => { const mine = points.filter((p) => p.run === r); const lo = mine.reduce((m, p) => (p.value < m.value ? p : m)); const last = mine.at(-1)!; return `${r} (${last.group}): lowest ${num(lo.value, 4)} at step ${lo.step}, last ${num(last.value, 4)} at step ${last.step}.`; }).join(" ")
  );
}

/** Next-byte entropy under each byte of a text, the threshold, and the chunk starts it makes. */
export function EntropyChart(bytes: Uint8Array, entropy: ArrayLike<number>, starts: readonly number[], { width = 640, threshold, mode = "global" }: { width?: number; threshold: number; mode?: "global" | "relative" }): HTMLElement {
  const chars = Array.from(bytes, (b) => (b === 32 ? "·" : b < 32 || b > 126 ? "•" : String.fromCharCode(b)));
  const data = Array.from(entropy, (h, i) => ({ i, h, char: chars[i], start: starts.includes(i) }));
  const shown = mode === "global" ? threshold : null;
  const chart = Plot.plot({
    width,
    height: 220,
    marginBottom: 30,
    x: { label: "byte", tickFormat: (i: number) => chars[i] ?? "", ticks: width > 500 ? data.map((d) => d.i) : [] },
    y: { label: "next-byte entropy (bits)", grid: true, domain: [0, 8] },
    marks: [
      shown !== null ? Plot.ruleY([shown], { stroke: "var(--theme-red)", strokeDasharray: "4 3" }) : null,
      Plot.ruleX(data.filter((d) => d.start), { x: "i", stroke: "var(--theme-foreground-faint)" }),
      Plot.lineY(data, { x: "i", y: "h", curve: "step-after" }),
      Plot.dot(data.filter((d) => d.start), { x: "i", y: "h", fill: "var(--theme-red)", r: 2.5, tip: true, title: (d: { i: number; h: number; char: string }) => `a chunk starts at byte ${d.i} (${d.char}): H = ${d.h.toFixed(2)} bits` })
    ]
  }) as HTMLElement;
  return accessibleChart(
    chart,
    `Next-byte entropy under each of ${data.length} bytes, with the chunk starts it makes`,
    `${shown !== null ? `Threshold ${shown.toFixed(2)} bits. ` : ""}Chunk starts: ${data.filter((d) => d.start).map((d) => `byte ${d.i} (${d.char}) ${d.h.toFixed(2)} bits`).join(", ")}.`
  );
}
