// Parameters by component, one stacked bar per model: where a model's parameters
// are, from lib/models/ledger.ts's groups (embedding, head, byte codec, attention, FFN,
// LoRA, norms).
import * as Plot from "@observablehq/plot";
import { formatCount } from "./format.js";
import { accessibleChart } from "./chart-a11y.js";
import { barLabelLayout } from "./bar-labels.js";

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
  const layout = barLabelLayout(width, models, { rowHeight: 40, extra: 70, marginRight: 64 });
  const chart = Plot.plot({
    width,
    height: layout.height,
    marginLeft: layout.marginLeft,
    marginRight: layout.marginRight,
    x: { label: measure === "unique" ? "parameters stored" : "parameters applied per position", grid: true, tickFormat: "~s", ticks: Math.max(2, Math.floor(width / 110)) },
    y: { domain: models, label: null, ...layout.y },
    color: { legend: true, domain, scheme: "tableau10" },
    marks: [
      ...layout.marks,
      Plot.barX(bars.filter((b) => b.parameters > 0), Plot.stackX({ x: "parameters", y: "model", fill: "group", order: [...domain], tip: { format: { x: ",d" } } })),
      Plot.text(totals, { x: "total", y: "model", text: (d) => formatCount(d.total), textAnchor: "start", dx: 4 }),
      Plot.ruleX([0])
    ]
  }) as HTMLElement;
  accessibleChart(
    chart,
    `Parameters by component (${measure === "unique" ? "stored" : "applied per position"}), one bar per model: ${models.join(", ")}`,
    models
      .map((model, i) => `${model}: ${totals[i].total.toLocaleString("en-US")} in all (${bars.filter((b) => b.model === model && b.parameters > 0).map((b) => `${b.group} ${b.parameters.toLocaleString("en-US")}`).join(", ")}).`)
      .join(" ")
  );
  chart.classList.add("stlm-ledger-chart");
  chart.dataset.totals = JSON.stringify(Object.fromEntries(totals.map((t) => [t.model, t.total])));
  return chart;
}

/** One bar's segments from a ledger's byGroup counts. */
export function ledgerBars(model: string, byGroup: Record<string, { unique: number; applied: number }>, measure: "unique" | "applied" = "unique"): LedgerBar[] {
  return Object.entries(byGroup).map(([group, n]) => ({ model, group, parameters: n[measure] }));
}
