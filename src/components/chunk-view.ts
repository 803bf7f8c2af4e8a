// A text's bytes cut into chunks, one row per strategy: coloured spans, each
// showing its bytes on hover, tap or keyboard focus; and a histogram of chunk lengths
// per strategy.
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

/**
 * One chunk's (or byte's) span, made with DOM calls: a text's rows hold thousands, and
 * an htl template per span (parsed at each call) made a task of 300 ms on
 * /tokenizer-free when a run started.
 */
function span(className: string, i: number, detail: string, title: string, text: string, background?: string): HTMLSpanElement {
  const el = document.createElement("span");
  el.className = className;
  el.tabIndex = i === 0 ? 0 : -1;
  el.dataset.detail = detail;
  el.setAttribute("aria-label", detail);
  if (background) el.style.background = background;
  el.title = title;
  el.textContent = text;
  return el;
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

/**
 * Rows of coloured chunks over the same bytes; the first row is the bytes themselves.
 * A chunk's bytes show on hover (its title), and on tap, click or keyboard focus in the
 * line under the rows (read out by screen readers): each row is one tab stop, and the
 * arrow keys, Home and End move between its chunks.
 */
export function ChunkRows(bytes: Uint8Array, rows: readonly ChunkRow[], { showBytes = true }: { showBytes?: boolean } = {}): HTMLElement {
  const detail = html`<p class="stlm-chunk-detail stlm-status" aria-live="polite">Tap a chunk, or Tab to a row and use the arrow keys, to see its bytes here.</p>` as HTMLElement;
  const describe = (label: string, i: number, n: number, s: number, e: number) =>
    `${label}, chunk ${i + 1} of ${n}: byte${e - s > 1 ? `s ${s}–${e - 1}` : ` ${s}`} = ${hex(bytes.subarray(s, e))} “${chunkText(bytes.subarray(s, e))}”`;
  const row = ({ label, spans, note }: ChunkRow) => html`<div class="stlm-chunk-row" data-strategy=${label} data-chunks=${spans.length}>
    <div class="stlm-chunk-label">${label}<br><small>${spans.length} chunks${spans.length ? `, ${(bytes.length / spans.length).toFixed(2)} bytes each` : ""}${note ? html`<br>${note}` : ""}</small></div>
    <div class="stlm-chunk-spans" role="group" aria-label=${`${label}: ${spans.length} chunks`}>${spans.map(([s, e], i) => {
      const b = bytes.subarray(s, e);
      const text = describe(label, i, spans.length, s, e);
      return span("stlm-chunk", i, text, `bytes ${s}-${e - 1}: ${hex(b)}`, chunkText(b), `hsl(${(i * 67) % 360} 70% 88%)`);
    })}</div>
  </div>`;
  const root = html`<div class="stlm-chunk-rows">${showBytes ? (bytes.length <= 400 ? bytesRow(bytes) : "") : ""}${rows.map(row)}${detail}</div>` as HTMLElement;
  const show = (el: Element | null) => {
    const item = el?.closest<HTMLElement>("[data-detail]");
    if (!item || !root.contains(item)) return;
    root.querySelectorAll(".stlm-chunk-current").forEach((c) => c.classList.remove("stlm-chunk-current"));
    item.classList.add("stlm-chunk-current");
    detail.textContent = item.dataset.detail!;
  };
  root.addEventListener("focusin", (e) => show(e.target as Element));
  root.addEventListener("click", (e) => show(e.target as Element));
  root.addEventListener("keydown", (e) => {
    const item = (e.target as Element).closest<HTMLElement>("[data-detail]");
    if (!item) return;
    const items = [...item.parentElement!.querySelectorAll<HTMLElement>("[data-detail]")];
    const i = items.indexOf(item);
    const next = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    const target = items[Math.max(0, Math.min(items.length - 1, next))];
    item.tabIndex = -1; // one tab stop per row: the chunk last visited
    target.tabIndex = 0;
    target.focus();
  });
  return root;
}

function bytesRow(bytes: Uint8Array) {
  const text = (b: number, i: number) => `byte ${i} of ${bytes.length}: 0x${b.toString(16).padStart(2, "0")}${b >= 32 && b < 127 ? ` “${String.fromCharCode(b)}”` : ""}`;
  return html`<div class="stlm-chunk-row" data-strategy="bytes">
    <div class="stlm-chunk-label">UTF-8 bytes<br><small>${bytes.length} bytes</small></div>
    <div class="stlm-chunk-spans stlm-bytes" role="group" aria-label=${`UTF-8 bytes: ${bytes.length}`}>${Array.from(bytes, (b, i) => span("stlm-byte", i, text(b, i), `byte ${i}: 0x${b.toString(16).padStart(2, "0")}`, b.toString(16).padStart(2, "0")))}</div>
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
