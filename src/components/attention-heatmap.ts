// One attention head's weights as a query x key heatmap over the bytes of a text.
import * as Plot from "@observablehq/plot";
import { accessibleChart } from "./chart-a11y.js";
import { byteLabel } from "./format.js";

export interface AttentionMap {
  /** The input bytes, one per position. */
  tokens: ArrayLike<number>;
  /** Axis labels, one per position, instead of the bytes (e.g. a pooled model's chunks). */
  labels?: readonly string[];
  /** Row-major T x T: row = query position, column = key position; rows sum to 1. */
  weights: Float32Array;
}

export interface AttentionHeatmapOptions {
  width?: number;
  /** Cell size cap in pixels, so short texts do not become giant squares. */
  maxCell?: number;
  title?: string;
}

export function AttentionHeatmap(map: AttentionMap, { width = 640, maxCell = 14, title }: AttentionHeatmapOptions = {}): HTMLElement {
  const T = map.tokens.length;
  if (map.weights.length !== T * T) {
    throw new Error(`attention weights hold ${map.weights.length} values, expected ${T}x${T} for ${T} tokens`);
  }
  const labels = map.labels ? map.labels.map((l, i) => `${i}:${l}`) : Array.from(map.tokens, (b, i) => `${i}:${byteLabel(b)}`);
  const cells: { q: string; k: string; w: number }[] = [];
  for (let q = 0; q < T; q++) {
    for (let k = 0; k <= q; k++) cells.push({ q: labels[q], k: labels[k], w: map.weights[q * T + k] });
  }
  const margin = 44;
  const side = Math.min(width - margin - 10, T * maxCell + margin);
  const tick = (l: string) => l.slice(l.indexOf(":") + 1);
  const chart = Plot.plot({
    width: side + margin + 10,
    height: side + margin,
    marginLeft: margin,
    marginBottom: margin,
    title,
    x: { domain: labels, label: "key (attended to) →", tickFormat: tick, tickRotate: 0 },
    y: { domain: labels, label: "↓ query", tickFormat: tick },
    // The legend is drawn below as SVG: Plot's ramp legend paints a canvas and calls toDataURL on the page's thread,
    // which with a GPU-backed canvas waits on the GPU process (busy with WebGPU training: a 2.5 s task on SwiftShader).
    color: { scheme: "blues", domain: [0, 1] },
    figure: true,
    marks: [
      Plot.cell(cells, {
        x: "k",
        y: "q",
        fill: "w",
        inset: 0,
        tip: { format: { x: true, y: true, fill: ".3f" } }
      })
    ]
  }) as HTMLElement;
  const svg = [...chart.querySelectorAll(":scope > svg")].at(-1);
  svg?.before(rampLegend("attention weight"));
  accessibleChart(chart, `Attention weights${title ? `, ${title}` : ""}, over ${T} ${map.labels ? "positions" : "bytes"}`, strongestKeys(labels, map.weights, T));
  chart.classList.add("stlm-attention");
  chart.dataset.tokens = String(T);
  return chart;
}

/** For each query position, the key it attends to most and with what weight: the heatmap in words. */
export function strongestKeys(labels: readonly string[], weights: ArrayLike<number>, T: number): string {
  const parts: string[] = [];
  for (let q = 0; q < T; q++) {
    let best = 0;
    for (let k = 1; k <= q; k++) if (weights[q * T + k] > weights[q * T + best]) best = k;
    parts.push(`${labels[q]} attends most to ${labels[best]} (${weights[q * T + best].toFixed(2)})`);
  }
  return `Each query position and the key it attends to most: ${parts.join("; ")}.`;
}

/** The colour ramp's legend (0 to 1, Plot's "blues"), as an SVG gradient: no canvas, so no read-back on the page's thread. */
function rampLegend(label: string): SVGSVGElement {
  const scale = Plot.scale({ color: { scheme: "blues", domain: [0, 1] } });
  const ns = "http://www.w3.org/2000/svg";
  const id = `stlm-ramp-${Math.random().toString(36).slice(2)}`;
  const el = (name: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = el("svg", { class: "stlm-attention-ramp", width: 240, height: 44, viewBox: "0 0 240 44", "aria-hidden": "true", style: "display: block; overflow: visible" }) as SVGSVGElement;
  const gradient = el("linearGradient", { id });
  for (let i = 0; i <= 10; i++) gradient.append(el("stop", { offset: `${i * 10}%`, "stop-color": String(scale.apply(i / 10)) }));
  svg.append(el("defs", {}), el("text", { x: 0, y: 10, fill: "currentColor", "font-size": 10 }, label), el("rect", { x: 0, y: 16, width: 240, height: 10, fill: `url(#${id})` }));
  svg.firstChild!.appendChild(gradient);
  for (const v of [0, 0.5, 1]) svg.append(el("text", { x: v * 240, y: 38, fill: "currentColor", "font-size": 10, "text-anchor": v === 0 ? "start" : v === 1 ? "end" : "middle" }, String(v)));
  return svg;
}
