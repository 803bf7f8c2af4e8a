// The objectives page's figures: which head predicts which byte, the comparison
// over seeds (mean and min–max), and a sampled text with its accepted drafts marked.
import { accessibleChart } from "./chart-a11y.js";
import * as Plot from "@observablehq/plot";
import { html } from "htl";
import { byteLabel } from "./format.js";

export interface HeadsDiagramOptions {
  width?: number;
  /** Heads of the multi-byte model drawn (head 1 is next-byte prediction). */
  heads?: number;
  /** Input positions masked in the MNTP rows. */
  masked?: readonly number[];
}

/**
 * Which byte each position is trained to predict: for a window of inputs, head k at
 * position t predicts the byte k ahead (none past the window's end); for MNTP, the
 * masked inputs and the targets they make heavier (the byte before each mask
 * predicts the masked byte).
 */
export function HeadsDiagram(text: Uint8Array, { width = 640, heads = 4, masked = [3, 8] }: HeadsDiagramOptions = {}): HTMLElement {
  const T = text.length - 1; // the window's inputs; the last byte is only a target
  const rows: { row: string; t: number; label: string; kind: string }[] = [];
  for (let t = 0; t < T; t++) rows.push({ row: "input", t, label: byteLabel(text[t]), kind: "input" });
  for (let k = 1; k <= heads; k++) {
    for (let t = 0; t < T; t++) {
      const inside = t + k <= T;
      rows.push({ row: `head ${k}: byte t+${k}`, t, label: inside ? byteLabel(text[t + k]) : "·", kind: inside ? (k === 1 ? "next" : "extra") : "none" });
    }
  }
  for (let t = 0; t < T; t++) rows.push({ row: "mntp input", t, label: masked.includes(t) ? "▮" : byteLabel(text[t]), kind: masked.includes(t) ? "mask" : "input" });
  for (let t = 0; t < T; t++) rows.push({ row: "mntp target", t, label: byteLabel(text[t + 1]), kind: masked.includes(t + 1) ? "masked" : "next" });
  const order = [...new Set(rows.map((r) => r.row))];
  const chart = Plot.plot({
    width,
    height: 34 * order.length + 40,
    marginLeft: 130,
    x: { type: "band", domain: Array.from({ length: T }, (_, t) => t), label: "position t →", tickFormat: (t: number) => String(t), padding: 0.06 },
    y: { type: "band", domain: order, label: null, padding: 0.1 },
    color: { type: "ordinal", domain: ["input", "next", "extra", "none", "mask", "masked"], range: ["#eeeeee", "#9ec1e8", "#f2c36b", "#ffffff", "#555555", "#e07b6a"], legend: true, tickFormat: (k: string) => ({ input: "input byte", next: "next-byte target", extra: "extra head's target", none: "no target (past the window)", mask: "masked input (id 0)", masked: "masked byte's target, weight 1 + w" })[k] ?? k },
    marks: [
      Plot.cell(rows, { x: "t", y: "row", fill: "kind", inset: 1 }),
      Plot.text(rows, { x: "t", y: "row", text: "label", fill: (d: { kind: string }) => (d.kind === "mask" ? "white" : "#222"), fontSize: 13, fontFamily: "var(--monospace)" })
    ]
  }) as HTMLElement;
  accessibleChart(
    chart,
    `Which byte each of ${heads} heads predicts at each of ${T} positions, and the masked inputs and targets of next-token masked prediction`,
    order.map((row) => `${row}: ${rows.filter((r) => r.row === row).map((r) => r.label).join(" ")}`).join("; ") + `. Masked positions: ${masked.join(", ")}.`
  );
  chart.classList.add("stlm-heads-diagram");
  return chart;
}

export interface SummaryRow {
  size: string;
  arm: string;
  label: string;
  budget: "steps" | "time";
  bpb: { mean: number; min: number; max: number };
  seeds: number;
}

/** Validation bits/byte (head 1) per objective: a dot at the mean over seeds and a bar from the lowest to the highest seed; one panel per size and budget. */
export function ObjectivesComparisonChart(rows: readonly SummaryRow[], { width = 640 }: { width?: number } = {}): HTMLElement {
  const budgetLabel = (b: string) => (b === "steps" ? "equal steps" : "equal training time");
  const data = rows.map((r) => ({ ...r, panel: budgetLabel(r.budget), mean: r.bpb.mean, min: r.bpb.min, max: r.bpb.max }));
  const labels = [...new Set(rows.map((r) => r.label))];
  const chart = Plot.plot({
    width,
    height: 90 + 28 * labels.length * new Set(rows.map((r) => r.size)).size,
    marginLeft: 90,
    marginRight: 90,
    x: { label: "validation bits per byte (head 1), lower is better →", grid: true, nice: true },
    y: { domain: labels, label: null },
    fx: { label: null, domain: ["equal steps", "equal training time"] },
    fy: { label: null },
    color: { domain: labels, legend: false },
    marks: [
      Plot.frame({ strokeOpacity: 0.15 }),
      Plot.ruleY(data, { fx: "panel", fy: "size", y: "label", x1: "min", x2: "max", stroke: "label", strokeWidth: 3, strokeOpacity: 0.5 }),
      Plot.dot(data, { fx: "panel", fy: "size", y: "label", x: "mean", fill: "label", r: 5, tip: { format: { fx: false, fy: true } }, title: (d: SummaryRow & { mean: number }) => `${d.size} ${d.label}, ${budgetLabel(d.budget)}: ${d.mean.toFixed(3)} (${d.bpb.min.toFixed(3)}–${d.bpb.max.toFixed(3)}) over ${d.seeds} seeds` })
    ]
  }) as HTMLElement;
  accessibleChart(
    chart,
    "Validation bits per byte of each objective at the nano and micro sizes, at equal steps and at equal training time: mean over seeds with the range from lowest to highest seed",
    rows.map((r) => `${r.size} ${r.label}, ${budgetLabel(r.budget)}: ${r.bpb.mean.toFixed(3)} (${r.bpb.min.toFixed(3)}–${r.bpb.max.toFixed(3)}, ${r.seeds} seeds)`).join("; ") + "."
  );
  chart.classList.add("stlm-objectives-chart");
  return chart;
}

/** A sampled text, the bytes that heads 2..n drafted and head 1 kept marked. `drafted` is one flag per byte. */
export function DraftedText(prompt: string, bytes: Uint8Array, drafted: readonly boolean[]): HTMLElement {
  const decoder = new TextDecoder();
  const spans: HTMLElement[] = [];
  let start = 0;
  for (let i = 1; i <= bytes.length; i++) {
    if (i === bytes.length || drafted[i] !== drafted[start]) {
      const text = decoder.decode(bytes.subarray(start, i));
      spans.push((drafted[start] ? html`<mark class="stlm-drafted">${text}</mark>` : html`<span>${text}</span>`) as HTMLElement);
      start = i;
    }
  }
  const kept = drafted.filter(Boolean).length;
  return html`<div class="stlm-sample stlm-drafted-text" data-drafted=${kept} aria-label=${`${bytes.length} sampled bytes, ${kept} of them drafted by the extra heads and kept`}><span class="prompt">${prompt}</span>${spans}</div>` as HTMLElement;
}
