// The runs library's chart: the runs the reader selected in the runs table, overlaid
// on one chart, one colour per run: smoothed train loss (solid) and validation bits
// per byte (dashed, with dots), both in bits per byte against step. A run of another
// preset or corpus than the first selected run says so in its legend entry.
import * as Plot from "@observablehq/plot";
import { isGameRecord, type RunRecord } from "../lib/runs/record.js";
import type { CurvePoint } from "./selfplay-charts.js";
import { accessibleChart, num } from "./chart-a11y.js";
import { trendSmooth } from "./smoothing.js";

export interface OverlayOptions {
  width?: number;
  height?: number;
  /** Time constant, in steps, of the smoothed train loss. */
  smoothing?: number;
}

/** "nano on austen": the setup two runs must share for their curves to compare. */
export function runSetup(r: RunRecord): string {
  // A game run's setup is its game (and, for the word chain, the corpus its vocabulary comes from).
  if (isGameRecord(r)) return `game ${r.data.name}`;
  return `${r.preset ?? r.spec.kind} on ${r.data.name}`;
}

/** Each run's legend name: its label, and its setup when that differs from the first run's. */
export function overlayLabels(records: readonly RunRecord[]): string[] {
  const base = records[0] ? runSetup(records[0]) : "";
  const seen = new Map<string, number>();
  return records.map((r) => {
    const name = runSetup(r) === base ? r.label : `${r.label} [other setup: ${runSetup(r)}]`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n > 1 ? `${name} #${n}` : name;
  });
}

export function RunsOverlay(records: readonly RunRecord[], { width = 640, height = 320, smoothing = 10 }: OverlayOptions = {}): HTMLElement {
  const labels = overlayLabels(records);
  const train = records.flatMap((r, i) => {
    const bpb = r.metrics.steps.map((d) => d.loss / Math.LN2);
    const smooth = trendSmooth(r.metrics.steps.map((d) => d.step), bpb, smoothing);
    return r.metrics.steps.map((d, j) => ({ run: labels[i], step: d.step, bpb: smooth[j] }));
  });
  const val = records.flatMap((r, i) => r.metrics.evals.map((d) => ({ run: labels[i], step: d.step, bpb: d.valBitsPerByte })));
  const chart = Plot.plot({
    width,
    height,
    marginLeft: 48,
    x: { label: "step", grid: true },
    y: { label: "bits per byte", grid: true, zero: false, nice: true },
    color: { domain: labels, legend: true },
    marks: [
      Plot.line(train, { x: "step", y: "bpb", z: "run", stroke: "run", strokeWidth: 2, tip: true }),
      Plot.line(val, { x: "step", y: "bpb", z: "run", stroke: "run", strokeWidth: 1.5, strokeDasharray: "4,3" }),
      Plot.dot(val, { x: "step", y: "bpb", fill: "run", r: 3, tip: true })
    ]
  }) as HTMLElement;
  chart.dataset.runs = JSON.stringify(labels);
  chart.dataset.points = String(train.length + val.length);
  accessibleChart(
    chart,
    `Selected runs overlaid, bits per byte against step: ${labels.join(", ")}`,
    records
      .map((r, i) => {
        const f = r.final;
        return `${labels[i]}: ${f ? `${f.steps} steps, train loss ${f.trainLoss === null ? "none" : num(f.trainLoss / Math.LN2)} bits per byte, validation ${f.valBitsPerByte === null ? "not measured" : `${num(f.valBitsPerByte)} bits per byte`}` : "no steps"}.`;
      })
      .join(" ")
  );
  chart.classList.add("stlm-runs-overlay");
  return chart;
}

/** Colours for runs overlaid on a page's main chart (Tableau 10, without the page's own run's red). */
export const OVERLAY_COLORS = ["#4e79a7", "#f28e2c", "#76b7b2", "#59a14f", "#edc949", "#af7aa1", "#ff9da7", "#9c755f", "#bab0ab"];

/**
 * The ticked runs of a runs table as curves for a page's main chart (loss-chart.ts):
 * one colour each, labelled "ticked: LABEL", and "[other setup: …]" where a run's preset
 * or corpus is not `baseSetup` (the setup of what the chart already draws).
 */
export function overlayCurves(records: readonly RunRecord[], baseSetup: string): { label: string; steps: RunRecord["metrics"]["steps"]; evals: RunRecord["metrics"]["evals"]; color: string }[] {
  const seen = new Map<string, number>();
  return records.map((r, i) => {
    const name = `ticked: ${r.label}${baseSetup && runSetup(r) !== baseSetup ? ` [other setup: ${runSetup(r)}]` : ""}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return { label: n > 1 ? `${name} #${n}` : name, steps: r.metrics.steps, evals: r.metrics.evals, color: OVERLAY_COLORS[i % OVERLAY_COLORS.length] };
  });
}

/**
 * The ticked game runs of a runs table as series for a self-play chart (selfplay-charts.ts):
 * each run's share of games lost against `opponent` at each evaluation, named "ticked:
 * LABEL, losses". A run of another game than `baseSetup` (runSetup's words) has no games
 * against `opponent`: it is drawn against its own first opponent and its name says
 * "[other setup: …, vs OPPONENT]".
 */
export function overlayGamePoints(records: readonly RunRecord[], baseSetup: string, opponent: string): { series: string[]; points: CurvePoint[] } {
  const series: string[] = [];
  const points: CurvePoint[] = [];
  for (const r of records) {
    if (!isGameRecord(r)) continue;
    const own = r.game.evals.some((e) => e.opponent === opponent) ? opponent : (r.game.evals[0]?.opponent ?? opponent);
    const other = runSetup(r) !== baseSetup || own !== opponent;
    let name = `ticked: ${r.label}, losses${other ? ` [other setup: ${runSetup(r)}, vs ${own}]` : ""}`;
    for (let n = 2; series.includes(name); n++) name = `${name.replace(/ #\d+$/, "")} #${n}`;
    series.push(name);
    for (const e of r.game.evals) if (e.opponent === own) points.push({ iteration: e.iteration, seed: r.train.seed, series: name, value: e.stats.loss });
  }
  return { series, points };
}

/** The ticked runs as validation series for a page's band chart (seed-charts.ts BandChart): each run's validation bits per byte at its evaluations, named as overlayCurves names them. */
export function overlayValidationPoints(records: readonly RunRecord[], baseSetup: string): { series: string[]; points: { series: string; seed: number; step: number; value: number }[] } {
  const curves = overlayCurves(records, baseSetup);
  return { series: curves.map((c) => c.label), points: curves.flatMap((c, i) => c.evals.map((e) => ({ series: c.label, seed: records[i].train.seed, step: e.step, value: e.valBitsPerByte }))) };
}

/**
 * The ticked runs that have evaluations as a comparison chart's dashed curves
 * (tokenizer-free-charts.ts ComparisonChart): named as overlayCurves names them, and
 * "[other setup: corpus NAME]" where a run did not read `corpus`. A run without
 * evaluations (a game run) has nothing to draw there and is left out.
 */
export function overlayComparisonCurves(records: readonly RunRecord[], corpus: string): { label: string; evals: RunRecord["metrics"]["evals"]; ticked: true }[] {
  const withEvals = records.filter((r) => r.metrics.evals.length > 0);
  return overlayCurves(withEvals, "").map((c, i) => ({
    label: withEvals[i].data.name === corpus ? c.label : `${c.label} [other setup: corpus ${withEvals[i].data.name}]`,
    evals: c.evals,
    ticked: true as const
  }));
}
