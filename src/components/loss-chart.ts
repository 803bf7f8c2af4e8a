// Training curves: train loss and validation bits per byte against step.
import * as Plot from "@observablehq/plot";
import { accessibleChart, num } from "./chart-a11y.js";
import { trendSmooth } from "./smoothing.js";

export interface RunCurves {
  /** Shown in the legend, e.g. "live run" or "precomputed (stlm train)". */
  label: string;
  /** Train loss: mean cross-entropy in nats per byte, one point per step. */
  steps: readonly { step: number; loss: number }[];
  /** Validation bits per byte, one point per evaluation. */
  evals: readonly { step: number; valBitsPerByte: number }[];
  /** Drawn faint, behind the others. */
  reference?: boolean;
  /** Both its lines in this colour (a run overlaid from the runs table); the page's own run keeps the default pair. */
  color?: string;
}

export interface LossChartOptions {
  width?: number;
  height?: number;
  /** The x axis runs to at least this step, so a live run fills the chart as it goes. */
  totalSteps?: number;
  /** Time constant, in steps, of the smoothed line drawn over the noisy per-step loss (components/smoothing.ts). */
  smoothing?: number;
  /** A vertical rule at this step (e.g. the step a snapshot scrubber shows). */
  cursor?: number;
}

/**
 * Both curves in bits per byte, so they share an axis: train loss is converted from
 * nats (divide by ln 2). The element carries data-steps (the most steps any
 * non-reference run has), data-runs (the labels drawn), data-first-loss and
 * data-last-loss for tests and scripts.
 */
export function LossChart(
  runs: readonly RunCurves[],
  { width = 640, height = 320, totalSteps, smoothing = 10, cursor }: LossChartOptions = {}
): HTMLElement {
  const train = runs.flatMap((r) => {
    const bpb = r.steps.map((d) => d.loss / Math.LN2);
    const smooth = trendSmooth(r.steps.map((d) => d.step), bpb, smoothing);
    return r.steps.map((d, i) => ({ run: r.label, reference: !!r.reference, step: d.step, bpb: bpb[i], smooth: smooth[i] }));
  });
  const val = runs.flatMap((r) => r.evals.map((d) => ({ run: r.label, reference: !!r.reference, step: d.step, bpb: d.valBitsPerByte })));
  // A live run sets the x axis (its planned steps); reference runs are cut to it.
  const own = [...train, ...val].filter((d) => !d.reference);
  const maxStep = Math.max(totalSteps ?? 1, ...(own.length > 0 ? own : [...train, ...val]).map((d) => d.step));
  const inView = (d: { step: number }) => d.step <= maxStep;
  const shownTrain = train.filter(inView);
  const shownVal = val.filter(inView);
  const labels = runs.map((r) => r.label);
  const series = labels.flatMap((l) => [`${l}: train`, `${l}: validation`]);
  const colors = runs.flatMap((r) => (r.reference ? ["#bbb", "#888"] : r.color ? [r.color, r.color] : ["var(--theme-foreground-focus)", "#e7040f"]));
  const chart = Plot.plot({
    width,
    height,
    marginLeft: 48,
    x: { label: "step", domain: [0, maxStep], grid: true },
    y: { label: "bits per byte", grid: true, zero: false, nice: true },
    color: { domain: series, range: colors, legend: true },
    marks: [
      Plot.line(shownTrain, {
        x: "step",
        y: "bpb",
        z: "run",
        stroke: "currentColor",
        strokeOpacity: 0.15,
        strokeWidth: 1
      }),
      Plot.line(shownTrain, { x: "step", y: "smooth", z: "run", stroke: (d) => `${d.run}: train`, strokeWidth: 2, tip: true }),
      Plot.line(shownVal, { x: "step", y: "bpb", z: "run", stroke: (d) => `${d.run}: validation`, strokeWidth: 2, strokeDasharray: "4,3" }),
      Plot.dot(shownVal, { x: "step", y: "bpb", fill: (d) => `${d.run}: validation`, r: 3, tip: true }),
      ...(cursor !== undefined ? [Plot.ruleX([cursor], { stroke: "var(--theme-foreground-muted, #888)", strokeWidth: 1.5, strokeDasharray: "2,2" }), Plot.text([cursor], { x: (d) => d, frameAnchor: "top", dy: -2, text: (d) => `step ${d}`, textAnchor: "start", dx: 4 })] : [])
    ]
  }) as HTMLElement;
  const live = runs.filter((r) => !r.reference);
  const longest = live.reduce<RunCurves | null>((a, r) => (a && a.steps.length >= r.steps.length ? a : r), null);
  chart.dataset.steps = String(longest?.steps.length ?? 0);
  chart.dataset.runs = JSON.stringify(runs.map((r) => r.label));
  const last = longest?.steps.at(-1);
  if (last) chart.dataset.lastLoss = String(last.loss);
  const first = longest?.steps[0];
  if (first) chart.dataset.firstLoss = String(first.loss);
  if (cursor !== undefined) chart.dataset.cursor = String(cursor);
  accessibleChart(
    chart,
    `Training curves in bits per byte against step: ${runs.map((r) => r.label).join(", ")}`,
    runs
      .map((r) => {
        const last = r.steps.filter(inView).at(-1);
        const evals = r.evals.filter(inView);
        return `${r.label}: ${last ? `train loss ${num(last.loss / Math.LN2)} bits per byte at step ${last.step}` : "no steps yet"}; validation bits per byte ${evals.length ? evals.map((e) => `${num(e.valBitsPerByte)} at step ${e.step}`).join(", ") : "not measured yet"}.`;
      })
      .join(" ")
  );
  chart.classList.add("stlm-loss-chart");
  return chart;
}
