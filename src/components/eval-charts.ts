// Charts of the evaluation page: next-sentence accuracy by scorer and scoring rule.
import * as Plot from "@observablehq/plot";
import { accessibleChart } from "./chart-a11y.js";

export interface NextSentenceInvestigation {
  dataset: { items: number };
  scorers: ({ label: string } & Record<string, { accuracy: number } | string | number | object>)[];
}

const RULES: [string, string][] = [
  ["acc", "acc (summed)"],
  ["accNorm", "acc_norm (per byte)"],
  ["accNormNoContext", "acc_norm, context withheld"],
  ["accPmi", "context gain (PMI)"]
];

/** One row per scorer, a dot per rule, chance (0.25) with its two-standard-deviation band. */
export function NextSentenceChart(ns: NextSentenceInvestigation, { width = 640 }: { width?: number } = {}): SVGSVGElement | HTMLElement {
  const rows = ns.scorers.flatMap((s) => RULES.map(([key, rule]) => ({ scorer: s.label, rule, accuracy: (s[key] as { accuracy: number }).accuracy })));
  const sd2 = 2 * Math.sqrt((0.25 * 0.75) / ns.dataset.items);
  const narrow = width < 560;
  const chart = Plot.plot({
    width,
    height: 60 + ns.scorers.length * 36,
    marginLeft: narrow ? 10 : 190,
    x: { domain: [0.1, 0.32], label: "accuracy on all next-sentence items →", grid: true },
    y: { label: null, axis: narrow ? null : "left" },
    color: { legend: true, domain: RULES.map(([, r]) => r) },
    symbol: { domain: RULES.map(([, r]) => r) },
    marks: [
      Plot.rectX([0], { x1: 0.25 - sd2, x2: 0.25 + sd2, fill: "currentColor", fillOpacity: 0.08 }),
      Plot.ruleX([0.25], { stroke: "currentColor", strokeDasharray: "4 3" }),
      Plot.dot(rows, { x: "accuracy", y: "scorer", stroke: "rule", symbol: "rule", r: 5, strokeWidth: 2, tip: true }),
      ...(narrow ? [Plot.text(ns.scorers, { x: 0.1, y: "label", text: "label", textAnchor: "start", dy: -12 })] : [])
    ]
  });
  const description = rows.map((r) => `${r.scorer}, ${r.rule}: ${r.accuracy.toFixed(3)}`).join("; ");
  return accessibleChart(chart, `Next-sentence accuracy of each scorer under four scoring rules, against chance 0.25 (shaded: two standard deviations at n = ${ns.dataset.items})`, description);
}
