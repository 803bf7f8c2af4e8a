// Every chart carries an accessible name and a text alternative: the chart's SVG gets
// role="img", an aria-label (what it shows) and a <desc> (the numbers it shows), so a
// screen reader reads the figure and anyone can find its numbers without the picture.
// Works on a Plot figure (a <figure> around a legend and the chart's <svg>) or a bare <svg>.
// A chart is also a tab stop whose numbers show as text while it has the focus.

/** The chart's own <svg>: the node itself, or the figure's SVG that is not a legend. */
export function chartSvg(node: Element): SVGSVGElement | null {
  if (node instanceof SVGSVGElement) return node;
  const svgs = [...node.querySelectorAll<SVGSVGElement>(":scope > svg")];
  return svgs.find((s) => !/-ramp\b/.test(s.getAttribute("class") ?? "")) ?? null;
}

/** Sets the chart's aria-label and writes `description` into its <desc>; returns the node. */
export function accessibleChart<T extends Element>(node: T, label: string, description: string): T {
  const svg = chartSvg(node);
  if (!svg) return node;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.removeAttribute("aria-description");
  let desc = svg.querySelector(":scope > desc");
  if (!desc) {
    desc = document.createElementNS("http://www.w3.org/2000/svg", "desc");
    svg.prepend(desc);
  }
  desc.textContent = description;
  numbersOnFocus(svg);
  return node;
}

/**
 * The chart is one tab stop, and on keyboard focus its numbers (the <desc>) show as text
 * under it: what a pointer reads from the chart's hover tips (a tap shows those too, as a
 * pointer event), a keyboard reads here. Screen readers read the <desc> with the name, so
 * the line is hidden from them.
 */
function numbersOnFocus(svg: SVGSVGElement): void {
  svg.setAttribute("tabindex", "0");
  if (svg.dataset.numbersOnFocus) return;
  svg.dataset.numbersOnFocus = "true";
  const caption = document.createElement("p");
  caption.className = "stlm-status stlm-chart-numbers";
  caption.setAttribute("aria-hidden", "true");
  svg.addEventListener("focus", () => {
    caption.textContent = svg.querySelector(":scope > desc")?.textContent ?? "";
    if (caption.previousElementSibling !== svg) svg.after(caption);
    caption.hidden = false;
  });
  svg.addEventListener("blur", () => {
    caption.hidden = true;
  });
}

/** A number as a description writes it: 3 significant decimals, no exponent for the lab's ranges. */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "–";
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
}
