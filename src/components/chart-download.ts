// One "Download" affordance for every chart card of a page: a small menu (SVG, PNG)
// added to each `.card` that holds a chart (an <svg> with role="img", as chart-a11y.ts
// marks every chart), kept as cards are drawn and redrawn. The files are the chart as
// the reader sees it: colours the page sets with CSS variables or currentColor are
// written into the file, and the PNG (at twice the screen's pixels) gets the card's
// background, so a dark-mode chart stays readable on its own.
import { downloadBlob, fileSlug } from "./download.js";

const MENU_CLASS = "stlm-chart-download";
const SVG_NS = "http://www.w3.org/2000/svg";

/** The charts of a card: its SVGs marked role="img" that are not inside another chart. */
function cardCharts(card: Element): SVGSVGElement[] {
  return [...card.querySelectorAll<SVGSVGElement>('svg[role="img"], svg[aria-label]')].filter((s) => !s.parentElement?.closest("svg"));
}

/** The chart as a standalone SVG document: CSS-dependent colours and fonts written in. */
export function standaloneSvg(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute("xmlns", SVG_NS);
  clone.setAttribute("xmlns:xlink", "http://www.w3.org/1999/xlink");
  const box = svg.getBoundingClientRect();
  if (!clone.getAttribute("width")) clone.setAttribute("width", String(Math.round(box.width)));
  if (!clone.getAttribute("height")) clone.setAttribute("height", String(Math.round(box.height)));
  const rootStyle = getComputedStyle(svg);
  clone.style.color = rootStyle.color;
  clone.style.fontFamily = rootStyle.fontFamily;
  clone.style.fontSize = rootStyle.fontSize;
  // A colour given as var(--…) or currentColor means nothing outside the page: use what it resolved to.
  const originals = [svg, ...svg.querySelectorAll<SVGElement>("*")];
  const copies = [clone, ...clone.querySelectorAll<SVGElement>("*")];
  originals.forEach((el, i) => {
    const copy = copies[i];
    for (const attr of ["fill", "stroke"] as const) {
      const v = el.getAttribute(attr);
      if (v && /var\(|currentcolor/i.test(v)) copy.setAttribute(attr, getComputedStyle(el)[attr]);
    }
  });
  return new XMLSerializer().serializeToString(clone);
}

/** The card's background as the page shows it (the nearest ancestor with one). */
function backgroundOf(el: Element): string {
  for (let e: Element | null = el; e; e = e.parentElement) {
    const bg = getComputedStyle(e).backgroundColor;
    if (bg && bg !== "transparent" && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
  }
  return "white";
}

/** The chart as PNG bytes, at `scale` times its size, on the card's background. */
export async function chartPng(svg: SVGSVGElement, scale = 2): Promise<Blob> {
  const text = standaloneSvg(svg);
  const { width, height } = svg.getBoundingClientRect();
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = backgroundOf(svg);
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the browser could not draw the chart as PNG"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** A file name for a card's chart: the card's heading, else the chart's accessible name. */
function chartName(card: Element, svg: SVGSVGElement, i: number, n: number): string {
  const title = card.querySelector("h2, h3")?.textContent ?? svg.getAttribute("aria-label") ?? "chart";
  return `${fileSlug(title).slice(0, 60)}${n > 1 ? `-${i + 1}` : ""}`;
}

function addMenu(card: HTMLElement): void {
  const menu = document.createElement("details");
  menu.className = MENU_CLASS;
  const summary = document.createElement("summary");
  summary.textContent = "Download";
  summary.setAttribute("aria-label", "Download this card's chart");
  const status = document.createElement("span");
  status.className = "stlm-status";
  status.setAttribute("role", "status");
  const button = (format: "SVG" | "PNG") => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = format;
    b.onclick = async () => {
      const charts = cardCharts(card);
      if (charts.length === 0) {
        status.textContent = "No chart is drawn in this card yet.";
        return;
      }
      try {
        for (const [i, svg] of charts.entries()) {
          const name = chartName(card, svg, i, charts.length);
          if (format === "SVG") downloadBlob(new Blob([standaloneSvg(svg)], { type: "image/svg+xml" }), `${name}.svg`);
          else downloadBlob(await chartPng(svg), `${name}.png`);
        }
        status.textContent = `Downloaded ${charts.length === 1 ? "the chart" : `${charts.length} charts`} as ${format}.`;
      } catch (e) {
        status.textContent = `Could not make the ${format}: ${(e as Error).message}`;
      }
    };
    return b;
  };
  menu.append(summary, button("SVG"), button("PNG"), status);
  card.append(menu);
}

/** Keeps a Download menu on every chart card under `root`; dispose() stops watching (the menus stay). */
export function installChartDownloads(root: HTMLElement = document.body): { dispose(): void } {
  let queued = false;
  const scan = () => {
    queued = false;
    for (const card of root.querySelectorAll<HTMLElement>(".card")) {
      const has = card.querySelector(`:scope > .${MENU_CLASS}`);
      const charts = cardCharts(card).length > 0;
      if (charts && !has) addMenu(card);
      else if (!charts && has) has.remove();
    }
  };
  const observer = new MutationObserver(() => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(scan);
    }
  });
  observer.observe(root, { childList: true, subtree: true });
  scan();
  return { dispose: () => observer.disconnect() };
}
