// Every chart carries an accessible name and a text alternative: the chart's SVG gets
// role="img", an aria-label (what it shows) and a <desc> (the numbers it shows), so a
// screen reader reads the figure and anyone can find its numbers without the picture.
// Works on a Plot figure (a <figure> around a legend and the chart's <svg>) or a bare <svg>.
// A chart is also a tab stop, read one point at a time with the arrow keys (numbersOnFocus).

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
 * The chart is one tab stop, read from the keyboard one point at a time: on focus a line
 * under it says how many points there are; the arrow keys move to the next or previous
 * point (Home and End to the first and last), where the chart's own hover tip (Plot's
 * pointer) shows, and the line under the chart says that point's numbers. The line is an
 * aria-live region, so a screen reader announces each point; the chart's <desc> (all its
 * numbers, read with its name) stays the text alternative. A chart without hover tips
 * steps through its <desc>'s items instead.
 */
function numbersOnFocus(svg: SVGSVGElement): void {
  svg.setAttribute("tabindex", "0");
  if (svg.dataset.numbersOnFocus) return;
  svg.dataset.numbersOnFocus = "true";
  const caption = document.createElement("p");
  caption.className = "stlm-status stlm-chart-numbers";
  caption.setAttribute("aria-live", "polite");
  let points: { x: number; y: number }[] = [];
  let items: string[] = [];
  let at = -1;
  let frame = 0;
  const say = (text: string) => {
    caption.textContent = text;
    caption.dataset.point = String(at);
  };
  const show = (i: number) => {
    const n = points.length || items.length;
    if (n === 0) return;
    at = Math.max(0, Math.min(n - 1, i));
    if (!points.length) {
      say(`${at + 1} of ${n}: ${items[at]}`);
      return;
    }
    const { x, y } = points[at];
    svg.dispatchEvent(new PointerEvent("pointermove", { clientX: x, clientY: y, pointerType: "mouse", bubbles: true }));
    // Plot draws a faceted chart's tip at the next frame; read it then.
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const tip = tipText(svg);
      if (tip) say(`${at + 1} of ${n}: ${tip}`);
      else {
        // No hover tips on this chart: its described items, one at a time.
        points = [];
        show(Math.min(at, items.length - 1));
      }
    });
  };
  svg.addEventListener("focus", () => {
    points = pointPositions(svg);
    items = descItems(svg);
    at = -1;
    const n = points.length || items.length;
    say(n > 1 ? `${n} points: the arrow keys read them one at a time (Home, End: the first, the last).` : (items[0] ?? ""));
    if (caption.previousElementSibling !== svg) svg.after(caption);
    caption.hidden = false;
  });
  svg.addEventListener("keydown", (e) => {
    const n = points.length || items.length;
    const to = e.key === "ArrowRight" || e.key === "ArrowDown" ? at + 1 : e.key === "ArrowLeft" || e.key === "ArrowUp" ? (at < 0 ? n - 1 : at - 1) : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : null;
    if (to === null || n === 0) return;
    e.preventDefault();
    show(to);
  });
  svg.addEventListener("blur", () => {
    cancelAnimationFrame(frame);
    if (at >= 0 && points.length) svg.dispatchEvent(new PointerEvent("pointerleave", { pointerType: "mouse" }));
    caption.hidden = true;
  });
}

/** Where the chart's points are on the screen, left to right: dots, bars and cells, and the vertices of its lines. */
function pointPositions(svg: SVGSVGElement): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const marks = [...svg.querySelectorAll<SVGGElement>(":scope g[aria-label]")].filter((g) => !/tip|axis|grid|legend|rule|text|frame|area/.test(g.getAttribute("aria-label") ?? ""));
  for (const g of marks) {
    for (const el of g.querySelectorAll<SVGGraphicsElement>(":scope > circle, :scope > rect, :scope > path, :scope > g > circle, :scope > g > rect, :scope > g > path")) {
      if (el.closest('g[aria-label="tip"]')) continue;
      // A line (a path placed where it is drawn): its vertices. A dot's symbol is a path moved into place: its centre.
      if (el instanceof SVGPathElement && !el.hasAttribute("transform")) {
        // Plot writes a line as "Mx,yLx,y…".
        const d = el.getAttribute("d") ?? "";
        if (!/^M[\d.,\-eL ]+$/.test(d)) continue;
        const m = el.getScreenCTM();
        if (!m) continue;
        for (const [, x, y] of d.matchAll(/([\-\d.e]+),([\-\d.e]+)/g)) {
          const p = new DOMPoint(Number(x), Number(y)).matrixTransform(m);
          out.push({ x: p.x, y: p.y });
        }
        continue;
      }
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      out.push({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
    }
  }
  out.sort((a, b) => a.x - b.x || a.y - b.y);
  return out.filter((p, i) => i === 0 || Math.abs(p.x - out[i - 1].x) > 0.5 || Math.abs(p.y - out[i - 1].y) > 0.5);
}

/** The hover tip Plot shows now, as one line. */
function tipText(svg: SVGSVGElement): string {
  const tip = svg.querySelector('g[aria-label="tip"] text');
  if (!tip) return "";
  const lines = [...tip.querySelectorAll("tspan")].map((t) => t.textContent?.trim() ?? "").filter(Boolean);
  return (lines.length ? lines.join(", ") : tip.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** The <desc>'s items: its sentences, and the parts of each between semicolons. */
function descItems(svg: SVGSVGElement): string[] {
  const text = svg.querySelector(":scope > desc")?.textContent ?? "";
  return text.split(/(?<=\.)\s+(?=[A-Z])|;\s+/).map((t) => t.trim()).filter(Boolean);
}

/** A number as a description writes it: 3 significant decimals, no exponent for the lab's ranges. */
export function num(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return "–";
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
}
