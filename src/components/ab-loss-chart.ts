// Two (or more) training runs side by side, one panel each, on a shared y axis:
// train loss (faint per step, a moving average over it) and validation bits per
// byte (dots), both in bits per byte.
import * as Plot from "@observablehq/plot";
import { accessibleChart, num } from "./chart-a11y.js";
import { trendSmooth } from "./smoothing.js";

export interface ArmCurves {
  label: string;
  /** Train loss in nats per byte. */
  steps: readonly { step: number; loss: number }[];
  evals: readonly { step: number; valBitsPerByte: number }[];
}

export interface ABLossChartOptions {
  width?: number;
  height?: number;
  /** The x axis runs to at least this step, so a live run fills its panels as it goes. */
  totalSteps?: number;
  smoothing?: number;
  /** Top of the y axis in bits per byte; the first steps' spikes above it are clipped. 8 is a uniform guess over 256 bytes. */
  yMax?: number;
}

export function ABLossChart(arms: readonly ArmCurves[], { width = 640, height = 300, totalSteps, smoothing = 10, yMax = 8 }: ABLossChartOptions = {}): HTMLElement {
  const labels = arms.map((a) => a.label);
  const train = arms.flatMap((a) => {
    const bpb = a.steps.map((d) => d.loss / Math.LN2);
    const smooth = trendSmooth(a.steps.map((d) => d.step), bpb, smoothing);
    return a.steps.map((d, i) => ({ arm: a.label, step: d.step, bpb: bpb[i], smooth: smooth[i] }));
  });
  const val = arms.flatMap((a) => a.evals.map((d) => ({ arm: a.label, step: d.step, bpb: d.valBitsPerByte })));
  const maxStep = Math.max(totalSteps ?? 1, ...train.map((d) => d.step));
  const yMin = Math.min(yMax - 0.5, ...train.map((d) => d.bpb), ...val.map((d) => d.bpb));
  // The highest train loss of each arm that the y axis clips, marked at the top edge with its value.
  const clipped = arms.flatMap((a) => {
    const top = train.filter((d) => d.arm === a.label).reduce<(typeof train)[number] | null>((m, d) => (m && m.bpb >= d.bpb ? m : d), null);
    return top && top.bpb > yMax ? [top] : [];
  });
  const chart = Plot.plot({
    width,
    height,
    marginLeft: 48,
    marginTop: 28,
    fx: { domain: labels, label: null, padding: 0.08 },
    x: { label: "step", domain: [0, maxStep], grid: true, ticks: 4 },
    y: { label: "bits per byte", grid: true, domain: [Math.floor(yMin * 4) / 4, yMax] },
    clip: true,
    color: { domain: labels, legend: true },
    marks: [
      Plot.frame({ strokeOpacity: 0.15 }),
      Plot.line(train, { fx: "arm", x: "step", y: "bpb", z: "arm", stroke: "arm", strokeOpacity: 0.2, strokeWidth: 1 }),
      Plot.line(train, { fx: "arm", x: "step", y: "smooth", z: "arm", stroke: "arm", strokeWidth: 2, tip: true }),
      Plot.line(val, { fx: "arm", x: "step", y: "bpb", z: "arm", stroke: "arm", strokeDasharray: "4,3" }),
      Plot.dot(val, { fx: "arm", x: "step", y: "bpb", fill: "arm", stroke: "var(--theme-background)", r: 3.5, tip: true }),
      Plot.text(clipped, { fx: "arm", x: "step", y: () => yMax, text: (d) => `↑ ${d.bpb.toFixed(1)} at step ${d.step}`, textAnchor: "start", dx: 4, dy: 8, fill: "currentColor", fontSize: 10 })
    ]
  }) as HTMLElement;
  accessibleChart(
    chart,
    `Train loss and validation bits per byte against step, one panel per arm: ${labels.join(" and ")}`,
    arms
      .map((a) => {
        const worst = a.steps.reduce<{ step: number; loss: number } | null>((m, d) => (m && m.loss >= d.loss ? m : d), null);
        const clipped = worst && worst.loss / Math.LN2 > yMax ? ` (its highest train loss, ${num(worst.loss / Math.LN2)} bits per byte at step ${worst.step}, is above the chart's ${yMax})` : "";
        const last = a.evals.at(-1);
        return `${a.label}: ${a.steps.length} steps${clipped}; validation ${last ? `${num(last.valBitsPerByte)} bits per byte at step ${last.step}` : "not measured yet"}.`;
      })
      .join(" ")
  );
  chart.classList.add("stlm-ab-chart");
  chart.dataset.steps = JSON.stringify(arms.map((a) => a.steps.length));
  return chart;
}
