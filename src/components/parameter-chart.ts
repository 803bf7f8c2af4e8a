// Where a model's parameters are: the embedding table against the transformer
// blocks, from the parameter shapes a config implies.
import * as Plot from "@observablehq/plot";
import { formatCount } from "./format.js";
import { accessibleChart } from "./chart-a11y.js";
import { barLabelLayout } from "./bar-labels.js";

export interface ParameterGroup {
  model: string;
  part: string;
  count: number;
}

export interface ParameterChartOptions {
  width?: number;
}

export function ParameterChart(groups: readonly ParameterGroup[], { width = 640 }: ParameterChartOptions = {}): HTMLElement {
  const models = [...new Set(groups.map((g) => g.model))];
  const layout = barLabelLayout(width, models, { rowHeight: 36, extra: 60, marginRight: 56 });
  const totals = models.map((m) => groups.filter((g) => g.model === m).reduce((s, g) => s + g.count, 0));
  const chart = Plot.plot({
    width,
    height: layout.height,
    marginLeft: layout.marginLeft,
    marginRight: layout.marginRight,
    x: { label: "parameters", grid: true, tickFormat: "~s", ticks: Math.max(2, Math.floor(width / 110)) },
    y: { domain: models, label: null, ...layout.y },
    color: { legend: true, domain: ["embedding (tied: also the output head)", "output head (untied)", "transformer blocks", "norms"] },
    marks: [
      ...layout.marks,
      Plot.barX(groups, Plot.stackX({ x: "count", y: "model", fill: "part", tip: { format: { x: ",d" } } })),
      Plot.text(
        models.map((m) => ({ model: m, total: groups.filter((g) => g.model === m).reduce((s, g) => s + g.count, 0) })),
        { x: "total", y: "model", text: (d) => formatCount(d.total), textAnchor: "start", dx: 4 }
      ),
      Plot.ruleX([0])
    ]
  }) as HTMLElement;
  return accessibleChart(
    chart,
    `Parameters by part, one bar per model: ${models.join(", ")}`,
    models.map((m, i) => `${m}: ${totals[i].toLocaleString("en-US")} (${groups.filter((g) => g.model === m).map((g) => `${g.part} ${g.count.toLocaleString("en-US")}`).join(", ")}).`).join(" ")
  );
}

/** Sums parameter shapes (as lib/models/model.ts's parameterShapes lists them) into chart groups. */
export function parameterGroups(model: string, shapes: readonly { name: string; shape: readonly number[] }[]): ParameterGroup[] {
  const sums = new Map<string, number>();
  for (const { name, shape } of shapes) {
    const part =
      name === "embed" ? "embedding (tied: also the output head)" : name === "head" ? "output head (untied)" : shape.length === 1 ? "norms" : "transformer blocks";
    sums.set(part, (sums.get(part) ?? 0) + shape.reduce((a, b) => a * b, 1));
  }
  return [...sums].map(([part, count]) => ({ model, part, count }));
}
