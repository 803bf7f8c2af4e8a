// Charts of the tokenizer-free page: validation bits/byte of several models
// against step or seconds, parameters by component, the learned boundary rate,
// and a pooled model's attention over chunks.
import * as Plot from "@observablehq/plot";

export interface ComparisonCurve {
  label: string;
  evals: readonly { step: number; elapsedMs: number; valBitsPerByte: number }[];
}

/** Validation bits per byte of each model against its step or its training seconds. */
export function ComparisonChart(runs: readonly ComparisonCurve[], { width = 640, height = 300, x = "seconds" }: { width?: number; height?: number; x?: "step" | "seconds" } = {}): HTMLElement {
  const data = runs.flatMap((r) => r.evals.map((e) => ({ model: r.label, step: e.step, seconds: e.elapsedMs / 1000, bpb: e.valBitsPerByte })));
  return Plot.plot({
    width,
    height,
    grid: true,
    color: { legend: true, domain: runs.map((r) => r.label) },
    x: { label: x === "step" ? "step" : "training seconds" },
    y: { label: "validation bits per byte" },
    marks: [Plot.line(data, { x, y: "bpb", stroke: "model", marker: "dot", tip: true })]
  }) as HTMLElement;
}

export interface ParameterCost {
  model: string;
  component: string;
  parameters: number;
}

/** Parameters of each model, stacked by component. */
export function ParameterCostChart(rows: readonly ParameterCost[], { width = 640 }: { width?: number } = {}): HTMLElement {
  const models = [...new Set(rows.map((r) => r.model))];
  return Plot.plot({
    width,
    height: 40 * models.length + 60,
    marginLeft: 120,
    color: { legend: true },
    x: { label: "parameters", grid: true, tickFormat: "s" },
    y: { label: null, domain: models },
    marks: [Plot.barX(rows, { x: "parameters", y: "model", fill: "component", tip: true }), Plot.ruleX([0])]
  }) as HTMLElement;
}

/** The learned boundary rate (chunks per byte) against step, with the target. */
export function BoundaryRateChart(points: readonly { step: number; rate: number }[], { width = 640, target = 0.25 }: { width?: number; target?: number } = {}): HTMLElement {
  return Plot.plot({
    width,
    height: 220,
    grid: true,
    x: { label: "step" },
    y: { label: "boundaries per byte", domain: [0, 0.5] },
    marks: [Plot.ruleY([target], { stroke: "#e7040f", strokeDasharray: "4 3" }), Plot.line(points, { x: "step", y: "rate", tip: true })]
  }) as HTMLElement;
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
  return Plot.plot({
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
}
