// A chart that a live run redraws: one element for the page's life, so a run's
// updates never rebuild the card around it. Framework's resize((width) => …) makes a
// new element (and a new ResizeObserver) each time the cell re-runs, so every update
// of a run removed the old chart, laid out an empty box and drew again from scratch.
// Here updates are coalesced to at most one draw per animation frame (the latest data
// wins), the width comes from one ResizeObserver, and the old chart stays on screen
// until the new one replaces it, so the page's height never jumps.

export interface LiveChartElement<T> extends HTMLElement {
  /** Draw `data` at the next animation frame (a later update in the same frame replaces it). */
  update(data: T): void;
  /** Draw `data` now (inside a frame the page already coalesces, see nextFrame). */
  draw(data: T): void;
  /** Stops observing the width and drops a pending draw. */
  dispose(): void;
}

export function LiveChart<T>(draw: (data: T, width: number) => Element, initial?: T): LiveChartElement<T> {
  const root = document.createElement("div") as unknown as LiveChartElement<T>;
  root.className = "stlm-live-chart";
  let data: T | undefined = initial;
  let width = 0;
  let frame = 0;
  let drawnWidth = -1;
  let drawnData: T | undefined;
  const render = () => {
    frame = 0;
    if (data === undefined || width <= 0) return;
    if (data === drawnData && width === drawnWidth) return;
    drawnData = data;
    drawnWidth = width;
    // A reader reading the chart from the keyboard keeps the focus on the new one.
    const focused = root.contains(document.activeElement);
    root.replaceChildren(draw(data, width));
    if (focused) root.querySelector<SVGElement>("svg[tabindex]")?.focus({ preventScroll: true });
    root.dataset.draws = String(Number(root.dataset.draws ?? 0) + 1);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(render);
  };
  const observer = new ResizeObserver((entries) => {
    const w = Math.floor(entries[entries.length - 1].contentRect.width);
    // A chart taken out of the page reports 0: keep what is drawn for when it comes back.
    if (w > 0 && w !== width) {
      width = w;
      schedule();
    }
  });
  observer.observe(root);
  root.update = (next: T) => {
    data = next;
    schedule();
  };
  root.draw = (next: T) => {
    data = next;
    if (frame) cancelAnimationFrame(frame);
    // Before the first layout the width is not known yet: the observer's first call draws.
    if (width <= 0) width = Math.floor(root.getBoundingClientRect().width);
    render();
  };
  root.dispose = () => {
    observer.disconnect();
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
  };
  return root;
}

/**
 * Coalesces page updates to one per animation frame: each call replaces the work
 * still pending, so a burst of run snapshots costs one update of the page.
 */
export function nextFrame(): ((work: () => void) => void) & { cancel(): void } {
  let pending: (() => void) | null = null;
  let frame = 0;
  const run = () => {
    frame = 0;
    const work = pending;
    pending = null;
    work?.();
  };
  const schedule = (work: () => void) => {
    pending = work;
    if (!frame) frame = requestAnimationFrame(run);
  };
  schedule.cancel = () => {
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    pending = null;
  };
  return schedule;
}
