// Horizontal bar charts with long model names: at a laptop's width the names sit in
// the left margin; on a phone there is no room for that margin (it would leave the bars
// a negative width), so each name is written above its bar and the bars use the whole
// width.
import * as Plot from "@observablehq/plot";

export interface BarLabelLayout {
  height: number;
  marginLeft: number;
  marginRight: number;
  /** Options for the chart's y (band) scale. */
  y: { axis?: null; padding?: number };
  /** The names written above the bars when they do not fit at the left (else none). */
  marks: Plot.Markish[];
}

/** Pixels a name takes at Plot's 10 px sans-serif, roughly. */
const textWidth = (s: string) => 6 * s.length;

export function barLabelLayout(
  width: number,
  names: readonly string[],
  { rowHeight = 40, extra = 60, marginRight = 60 }: { rowHeight?: number; extra?: number; marginRight?: number } = {}
): BarLabelLayout {
  const widest = Math.max(0, ...names.map(textWidth)) + 12;
  // The names fit at the left when they leave the bars at least half the width.
  if (widest <= (width - marginRight) / 2) {
    return { height: rowHeight * names.length + extra, marginLeft: widest, marginRight, y: {}, marks: [] };
  }
  return {
    height: (rowHeight + 16) * names.length + extra,
    marginLeft: 8,
    marginRight: Math.min(marginRight, 48),
    y: { axis: null, padding: 0.45 },
    // Above the bar (half the band, 55% of the row, plus 3 px), with a halo so the rule at zero does not cross it.
    marks: [Plot.text(names, { y: (d: string) => d, frameAnchor: "left", textAnchor: "start", lineAnchor: "bottom", dy: -((rowHeight + 16) * 0.55) / 2 - 3, text: (d: string) => d, fill: "currentColor", stroke: "var(--theme-background-alt, white)", strokeWidth: 3, paintOrder: "stroke" })]
  };
}
