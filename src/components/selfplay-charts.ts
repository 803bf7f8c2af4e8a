// Self-play curves: a rate (or a length) per iteration, one line per series,
// the mean over seeds drawn as a line inside the band of their min-max. A
// dashed rule marks where imitation ends and self-play begins.
import * as Plot from "@observablehq/plot";
import { accessibleChart } from "./chart-a11y.js";

export interface CurvePoint {
  iteration: number;
  seed: number;
  /** "win", "draw", "loss", "illegal moves", ... */
  series: string;
  value: number;
}

export interface SelfPlayChartOptions {
  width?: number;
  height?: number;
  yLabel?: string;
  /** In the data's units ([0, 1] for a rate shown as percent); undefined: fit the data. */
  yDomain?: [number, number];
  percent?: boolean;
  /** The iteration where imitation ends. */
  imitationEnd?: number;
  /** The x axis runs to at least this iteration, so a live run fills its chart as it goes. */
  totalIterations?: number;
  /** The series in their order (fixes the colours). */
  series?: readonly string[];
  ariaLabel?: string;
}

/** Mean, min and max over seeds of each (series, iteration). */
export function summarise(points: readonly CurvePoint[]): { iteration: number; series: string; mean: number; min: number; max: number; seeds: number }[] {
  const groups = new Map<string, CurvePoint[]>();
  for (const p of points) {
    const k = `${p.series}\u0000${p.iteration}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(p);
  }
  return [...groups.values()]
    .map((g) => {
      const v = g.map((p) => p.value);
      return { iteration: g[0].iteration, series: g[0].series, mean: v.reduce((a, b) => a + b, 0) / v.length, min: Math.min(...v), max: Math.max(...v), seeds: v.length };
    })
    .sort((a, b) => a.iteration - b.iteration);
}

export function SelfPlayChart(points: readonly CurvePoint[], { width = 640, height = 240, yLabel = "rate", yDomain, percent = true, imitationEnd, totalIterations, series, ariaLabel }: SelfPlayChartOptions = {}): HTMLElement {
  const rows = summarise(points);
  const names = series ?? [...new Set(points.map((p) => p.series))];
  const maxIt = Math.max(1, totalIterations ?? 1, ...rows.map((r) => r.iteration));
  const chart = Plot.plot({
    width,
    height,
    marginLeft: 48,
    x: { label: "iteration", domain: [0, maxIt], grid: true },
    // Plot's percent option scales the values by 100, and the domain applies after it.
    y: { label: percent ? `${yLabel} (%)` : yLabel, grid: true, domain: yDomain && percent ? [100 * yDomain[0], 100 * yDomain[1]] : yDomain, percent, nice: true },
    clip: true,
    color: { domain: names, legend: true },
    marks: [
      ...(imitationEnd !== undefined ? [Plot.ruleX([imitationEnd], { stroke: "currentColor", strokeOpacity: 0.4, strokeDasharray: "4,3" }), Plot.text([imitationEnd], { x: (d: number) => d, frameAnchor: "top", dx: 4, textAnchor: "start", text: () => "self-play →", fillOpacity: 0.6 })] : []),
      Plot.areaY(rows, { x: "iteration", y1: "min", y2: "max", z: "series", fill: "series", fillOpacity: 0.15, curve: "linear" }),
      Plot.line(rows, { x: "iteration", y: "mean", z: "series", stroke: "series", strokeWidth: 2 }),
      Plot.dot(rows, { x: "iteration", y: "mean", fill: "series", r: 2.5, tip: { format: { fill: true, x: true, y: (v: number) => (percent ? `${(100 * v).toFixed(1)}%` : v.toFixed(2)) } }, title: (d: { series: string; mean: number; min: number; max: number; seeds: number; iteration: number }) => `${d.series} at iteration ${d.iteration}: ${percent ? (100 * d.mean).toFixed(1) + "%" : d.mean.toFixed(2)} (${d.seeds > 1 ? `min ${percent ? (100 * d.min).toFixed(1) + "%" : d.min.toFixed(2)}, max ${percent ? (100 * d.max).toFixed(1) + "%" : d.max.toFixed(2)}, ${d.seeds} seeds` : "1 seed"})` })
    ]
  }) as HTMLElement;
  const fmt = (v: number) => (percent ? `${(100 * v).toFixed(1)}%` : v.toFixed(2));
  const lastOf = names.map((s) => rows.filter((r) => r.series === s).at(-1)).filter((r) => r !== undefined);
  accessibleChart(
    chart,
    ariaLabel ?? `${yLabel} against iteration`,
    lastOf.length
      ? `Mean over seeds at the last iteration drawn: ${lastOf.map((r) => `${r.series} ${fmt(r.mean)} at iteration ${r.iteration} (${r.seeds > 1 ? `min ${fmt(r.min)}, max ${fmt(r.max)}, ${r.seeds} seeds` : "1 seed"})`).join("; ")}.`
      : "No points yet."
  );
  chart.classList.add("stlm-selfplay-chart");
  chart.dataset.points = String(rows.length);
  chart.dataset.series = JSON.stringify(names);
  return chart;
}
