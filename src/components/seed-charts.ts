// Charts of runs repeated over seeds, used by the tokenizer-free, dropout and distillation pages:
// a curve per series (mean over seeds, with the min–max band), and a dot chart of a
// final number per series (every seed a dot, the mean a tick, min–max a rule).
// Each chart has an accessible name and a text alternative giving its numbers.
import * as Plot from "@observablehq/plot";
import { accessibleChart } from "./chart-a11y.js";

export interface SeedPoint {
  series: string;
  seed: number;
  step: number;
  value: number;
}

export interface Summary {
  mean: number;
  sd: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(xs: readonly number[]): Summary {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

/** "2.431 ± 0.012" (mean ± sample s.d., n seeds). */
export const meanSd = (s: Summary, digits = 3) => `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`;

function bandRows(points: readonly SeedPoint[]) {
  const groups = new Map<string, number[]>();
  for (const p of points) {
    const k = `${p.series}\u0000${p.step}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(p.value);
  }
  return [...groups].map(([k, xs]) => {
    const [series, step] = k.split("\u0000");
    const s = summarize(xs);
    return { series, step: Number(step), ...s };
  });
}

export interface BandChartOptions {
  width?: number;
  height?: number;
  title: string;
  yLabel: string;
  /** Series in legend order; colors follow it. */
  series: readonly string[];
  /** Series drawn dashed (e.g. training-text curves beside validation ones). */
  dashed?: (series: string) => boolean;
  yDomain?: [number, number];
  xLabel?: string;
  /** Faceted into panels by this function of the series name (e.g. the regime). */
  facet?: (series: string) => string;
  /** The colour's key for a series (default: the series itself); e.g. an arm's validation and training curves share one colour. */
  colorKey?: (series: string) => string;
}

/** Mean over seeds as a line, min–max as a band, per series. */
export function BandChart(points: readonly SeedPoint[], { width = 640, height = 300, title, yLabel, series, dashed = () => false, yDomain, xLabel = "step", facet, colorKey = (s) => s }: BandChartOptions): HTMLElement {
  const rows = bandRows(points).map((r) => ({ ...r, dash: dashed(r.series) ? "4,3" : null, panel: facet ? facet(r.series) : "", key: colorKey(r.series) }));
  const keys = [...new Set(series.map(colorKey))];
  const last = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!last.has(r.series) || last.get(r.series)!.step < r.step) last.set(r.series, r);
  const description = `${title}. Mean over seeds (min–max in brackets) at the last step: ${[...last.values()].map((r) => `${r.series} ${r.mean.toFixed(3)} (${r.min.toFixed(3)}–${r.max.toFixed(3)}, ${r.n} seeds, step ${r.step})`).join("; ")}.`;
  const chart = Plot.plot({
    width,
    height,
    marginLeft: 50,
    x: { label: xLabel, grid: true, ticks: Math.max(2, Math.floor(width / 120)) },
    y: { label: yLabel, grid: true, ...(yDomain ? { domain: yDomain } : {}) },
    ...(facet ? { fx: { label: null } } : {}),
    color: { domain: keys, legend: true },
    clip: true,
    marks: [
      Plot.areaY(rows, { x: "step", y1: "min", y2: "max", fill: "key", fillOpacity: 0.15, z: "series", ...(facet ? { fx: "panel" } : {}) }),
      ...[false, true].map((d) =>
        Plot.line(
          rows.filter((r) => (r.dash !== null) === d),
          { x: "step", y: "mean", stroke: "key", z: "series", strokeWidth: 2, ...(d ? { strokeDasharray: "4,3" } : {}), ...(facet ? { fx: "panel" } : {}) }
        )
      ),
      Plot.dot(rows, Plot.pointerX({ x: "step", y: "mean", stroke: "key", r: 3, ...(facet ? { fx: "panel" } : {}) })),
      Plot.tip(rows, Plot.pointerX({ x: "step", y: "mean", title: (r) => `${r.series}\nstep ${r.step}: ${r.mean.toFixed(3)} (${r.min.toFixed(3)}–${r.max.toFixed(3)}, ${r.n} seeds)`, ...(facet ? { fx: "panel" } : {}) }))
    ]
  }) as HTMLElement;
  accessibleChart(chart, title, description);
  chart.classList.add("stlm-band-chart");
  return chart;
}

export interface DotRow {
  series: string;
  seed: number;
  value: number;
}

/** One final number per seed and series: seeds as dots, the mean as a tick, min–max as a rule. */
export function SpreadChart(
  rows: readonly DotRow[],
  { width = 640, title, xLabel, series, reference, referenceLabel }: { width?: number; title: string; xLabel: string; series: readonly string[]; reference?: number; referenceLabel?: string }
): HTMLElement {
  const stats = series.map((s) => ({ series: s, ...summarize(rows.filter((r) => r.series === s).map((r) => r.value)) })).filter((s) => s.n > 0);
  const chart = Plot.plot({
    width,
    height: 40 + 30 * stats.length,
    marginLeft: Math.min(220, Math.max(120, width * 0.34)),
    x: { label: xLabel, grid: true, ticks: Math.max(2, Math.floor(width / 140)) },
    y: { label: null, domain: stats.map((s) => s.series) },
    color: { domain: series as string[] },
    marks: [
      reference !== undefined ? Plot.ruleX([reference], { stroke: "var(--theme-foreground-muted)", strokeDasharray: "4 3" }) : null,
      reference !== undefined && referenceLabel ? Plot.text([reference], { x: (d: number) => d, frameAnchor: "top", dy: -2, text: () => referenceLabel, textAnchor: "start", dx: 4 }) : null,
      Plot.ruleY(stats, { y: "series", x1: "min", x2: "max", stroke: "series", strokeWidth: 2 }),
      Plot.tickX(stats, { y: "series", x: "mean", stroke: "series", strokeWidth: 3 }),
      Plot.dot(rows, { y: "series", x: "value", stroke: "series", r: 3.5, tip: true, title: (r: DotRow) => `${r.series}, seed ${r.seed}: ${r.value.toFixed(4)}` })
    ]
  }) as HTMLElement;
  accessibleChart(chart, title, `${title}: ${stats.map((s) => `${s.series} ${meanSd(s)} (min ${s.min.toFixed(3)}, max ${s.max.toFixed(3)}, ${s.n} seeds)`).join("; ")}.`);
  chart.classList.add("stlm-spread-chart");
  return chart;
}
