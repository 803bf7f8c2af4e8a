// A text's bytes cut into chunks, one row per strategy: coloured spans, each
// showing its bytes on hover; and a histogram of chunk lengths per strategy.
import * as Plot from "@observablehq/plot";
import { html } from "htl";
import { accessibleChart } from "./chart-a11y.js";

type Span = readonly [number, number];

export interface ChunkRow {
  label: string;
  spans: readonly Span[];
  /** Said under the label, e.g. "untrained predictor". */
  note?: string;
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** A chunk as readable text: whole UTF-8 as text (spaces and newlines made visible), else hex bytes. */
export function chunkText(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes).replace(/ /g, "·").replace(/\n/g, "⏎").replace(/\t/g, "⇥");
  } catch {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
  }
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

/** Rows of coloured chunks over the same bytes; the first row is the bytes themselves. */
export function ChunkRows(bytes: Uint8Array, rows: readonly ChunkRow[], { showBytes = true }: { showBytes?: boolean } = {}): HTMLElement {
  const row = ({ label, spans, note }: ChunkRow) => html`<div class="stlm-chunk-row" data-strategy=${label} data-chunks=${spans.length}>
    <div class="stlm-chunk-label">${label}<br><small>${spans.length} chunks${spans.length ? `, ${(bytes.length / spans.length).toFixed(2)} bytes each` : ""}${note ? html`<br>${note}` : ""}</small></div>
    <div class="stlm-chunk-spans">${spans.map(([s, e], i) => {
      const b = bytes.subarray(s, e);
      return html`<span class="stlm-chunk" style=${`background: hsl(${(i * 67) % 360} 70% 88%)`} title=${`bytes ${s}-${e - 1}: ${hex(b)}`}>${chunkText(b)}</span>`;
    })}</div>
  </div>`;
  const byteRow: ChunkRow = { label: "bytes", spans: Array.from(bytes, (_, i) => [i, i + 1] as Span) };
  return html`<div class="stlm-chunk-rows">${showBytes ? byteRow.spans.length <= 400 ? bytesRow(bytes) : "" : ""}${rows.map(row)}</div>` as HTMLElement;
}

function bytesRow(bytes: Uint8Array) {
  return html`<div class="stlm-chunk-row" data-strategy="bytes">
    <div class="stlm-chunk-label">UTF-8 bytes<br><small>${bytes.length} bytes</small></div>
    <div class="stlm-chunk-spans stlm-bytes">${Array.from(bytes, (b, i) => html`<span class="stlm-byte" title=${`byte ${i}: 0x${b.toString(16).padStart(2, "0")}`}>${b.toString(16).padStart(2, "0")}</span>`)}</div>
  </div>`;
}

/** Chunk lengths in bytes, one facet per strategy. */
export function ChunkLengthHistogram(rows: readonly ChunkRow[], { width = 640, maxLen = 16 }: { width?: number; maxLen?: number } = {}): HTMLElement {
  const data = rows.flatMap(({ label, spans }) => spans.map(([s, e]) => ({ strategy: label, length: e - s })));
  const chart = Plot.plot({
    width,
    height: 70 * rows.length + 40,
    marginLeft: 90,
    x: { label: "bytes per chunk", domain: Array.from({ length: maxLen }, (_, i) => i + 1) },
    y: { label: null, axis: null },
    fy: { label: null, domain: rows.map((r) => r.label) },
    marks: [Plot.barY(data, Plot.groupX({ y: "proportion-facet" }, { x: "length", fy: "strategy", fill: "var(--theme-foreground-focus)", tip: true })), Plot.ruleY([0])]
  }) as HTMLElement;
  return accessibleChart(
    chart,
    "Share of chunks of each length in bytes, one panel per strategy",
    rows
      .map(({ label, spans }) => {
        const counts = new Map<number, number>();
        for (const [s, e] of spans) counts.set(e - s, (counts.get(e - s) ?? 0) + 1);
        const mean = spans.reduce((a, [s, e]) => a + e - s, 0) / Math.max(1, spans.length);
        return `${label}: ${spans.length} chunks, ${mean.toFixed(2)} bytes each on average; ${[...counts].sort((a, b) => a[0] - b[0]).map(([len, c]) => `${len} bytes ${((100 * c) / spans.length).toFixed(0)}%`).join(", ")}.`;
      })
      .join(" ")
  );
}
