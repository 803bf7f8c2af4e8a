// Parameters by component, one stacked bar per model: where a model's parameters
// are, from lib/models/ledger.ts's groups (embedding, head, byte codec, attention, FFN,
// LoRA, norms).
import * as Plot from "@observablehq/plot";
import { formatCount } from "./format.js";

export interface LedgerBar {
  /** The bar's label, e.g. "your config" or "GPT-2 vocabulary, untied". */
  model: string;
  group: string;
  parameters: number;
}

export interface LedgerChartOptions {
  width?: number;
  /** Stacking and colour order of the groups. */
  groups?: readonly string[];
  /** Count "unique" (stored) or "applied" (per use) parameters; only labels the axis. */
  measure?: "unique" | "applied";
}

export function LedgerChart(bars: readonly LedgerBar[], { width = 640, groups, measure = "unique" }: LedgerChartOptions = {}): HTMLElement {
  const models = [...new Set(bars.map((b) => b.model))];
  const domain = groups ?? [...new Set(bars.map((b) => b.group))];
  const totals = models.map((model) => ({ model, total: bars.filter((b) => b.model === model).reduce((s, b) => s + b.parameters, 0) }));
  const chart = Plot.plot({
    width,
    height: 40 * models.length + 70,
    marginLeft: Math.min(260, 8 + 7 * Math.max(...models.map((m) => m.length))),
    marginRight: 64,
    x: { label: measure === "unique" ? "parameters stored" : "parameters applied per position", grid: true, tickFormat: "~s" },
    y: { domain: models, label: null },
    color: { legend: true, domain, scheme: "tableau10" },
    marks: [
      Plot.barX(bars.filter((b) => b.parameters > 0), Plot.stackX({ x: "parameters", y: "model", fill: "group", order: [...domain], tip: { format: { x: ",d" } } })),
      Plot.text(totals, { x: "total", y: "model", text: (d) => formatCount(d.total), textAnchor: "start", dx: 4 }),
      Plot.ruleX([0])
    ]
  }) as HTMLElement;
  chart.classList.add("stlm-ledger-chart");
  chart.dataset.totals = JSON.stringify(Object.fromEntries(totals.map((t) => [t.model, t.total])));
  return chart;
}

/** One bar's segments from a ledger's byGroup counts. */
export function ledgerBars(model: string, byGroup: Record<string, { unique: number; applied: number }>, measure: "unique" | "applied" = "unique"): LedgerBar[] {
  return Object.entries(byGroup).map(([group, n]) => ({ model, group, parameters: n[measure] }));
}
