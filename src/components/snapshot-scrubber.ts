// A step slider over a run's training snapshots (lib/train/snapshots.ts): the loss
// curve with a cursor at the chosen step, the probe text's attention for a chosen
// layer and head at that step (over bytes, tokens or, for pooled models, chunks,
// with the chunk boundaries drawn), and what the model wrote from the fixed prompt.
// Plain arrays in; the element keeps its own width (ResizeObserver) so the slider
// keeps its place when the page resizes. `update()` takes a growing list (a live
// run; `follow()` does the same over two animation frames): a slider left at the newest snapshot follows
// the new ones.
import { html } from "htl";
import { dequantiseMap, type Snapshot } from "../lib/train/snapshots.js";
import { AttentionHeatmap } from "./attention-heatmap.js";
import { ChunkRows, chunkText } from "./chunk-view.js";
import { LossChart, type RunCurves } from "./loss-chart.js";

export interface SnapshotScrubberOptions {
  /** The loss curves the cursor is drawn on. */
  curves?: readonly RunCurves[];
  /** The x axis of the loss chart runs to at least this step. */
  totalSteps?: number;
  /** The probe text the attention was traced on. */
  probe: string;
  /** The prompt the samples continue. */
  prompt: string;
  /** The step shown first (the nearest snapshot); default the last. */
  step?: number;
}

export interface SnapshotScrubberElement extends HTMLElement {
  /** The step of the snapshot shown. */
  readonly value: number;
  /** Show the step's nearest snapshot. */
  select(step: number): void;
  /** New snapshots and curves (a live run); a slider at the newest snapshot moves on to the new newest. */
  update(snapshots: readonly Snapshot[], curves?: readonly RunCurves[], totalSteps?: number): void;
  /**
   * The same for a live run's updates, drawn over the next two animation frames (the slider and the loss
   * curve, then the attention map and the sample), so that no frame of a run pays for both charts and the
   * page's own update too: on a machine whose cores the training takes, one such frame took 80-127 ms.
   */
  follow(snapshots: readonly Snapshot[], curves?: readonly RunCurves[], totalSteps?: number): void;
  /** Stops watching the element's size. */
  dispose(): void;
}

const encoder = new TextEncoder();

/** The index of the snapshot nearest `step` (the earlier one on a tie). */
export function nearestSnapshot(snapshots: readonly { step: number }[], step: number): number {
  let best = 0;
  snapshots.forEach((s, i) => {
    if (Math.abs(s.step - step) < Math.abs(snapshots[best].step - step)) best = i;
  });
  return best;
}

export function SnapshotScrubber(initial: readonly Snapshot[], options: SnapshotScrubberOptions): SnapshotScrubberElement {
  let snapshots = initial.slice();
  let curves = options.curves ?? [];
  let totalSteps = options.totalSteps;
  const probeBytes = encoder.encode(options.probe);
  let index = options.step !== undefined && snapshots.length ? nearestSnapshot(snapshots, options.step) : Math.max(0, snapshots.length - 1);
  let layer = 0;
  let head = 0;

  const slider = html`<input type="range" min="0" step="1" aria-label="training step of the snapshot shown">` as HTMLInputElement;
  const stepOut = html`<output class="stlm-scrubber-step" aria-live="polite"></output>` as HTMLOutputElement;
  const layerSelect = html`<select aria-label="layer"></select>` as HTMLSelectElement;
  const headSelect = html`<select aria-label="head"></select>` as HTMLSelectElement;
  const chart = html`<div class="stlm-scrubber-loss"></div>` as HTMLElement;
  const chunks = html`<div class="stlm-scrubber-chunks"></div>` as HTMLElement;
  const map = html`<div class="stlm-scrubber-attention"></div>` as HTMLElement;
  const sample = html`<pre class="stlm-sample stlm-scrubber-sample"></pre>` as HTMLElement;
  const root = html`<div class="stlm-scrubber">
    <div class="stlm-scrubber-controls">
      <label class="stlm-scrubber-slider">Step ${slider}</label> ${stepOut}
      <label>Layer ${layerSelect}</label> <label>Head ${headSelect}</label>
    </div>
    <div class="stlm-scrubber-body">
      ${chart}
      <div class="stlm-scrubber-inside">${chunks}${map}
        <figure class="stlm-sample-figure"><figcaption>Written from the prompt at this step (same seed every time)</figcaption>${sample}</figure>
      </div>
    </div>
  </div>` as SnapshotScrubberElement;

  const options_ = (select: HTMLSelectElement, n: number, value: number) => {
    if (select.options.length !== n) select.replaceChildren(...Array.from({ length: n }, (_, i) => html`<option value=${i}>${i}</option>` as HTMLOptionElement));
    select.value = String(value);
  };

  let width = 0;
  /** Each chart's width: half the element's beside each other when it is wide, else all of it. */
  const layout = () => {
    const w = width || 640;
    return { wide: w >= 720, half: w >= 720 ? Math.floor((w - 24) / 2) : w };
  };
  /** The slider, the step and the loss curve with its cursor; false when there is no snapshot to show. */
  const renderHead = (): boolean => {
    const s = snapshots[index];
    root.dataset.snapshots = String(snapshots.length);
    slider.max = String(Math.max(0, snapshots.length - 1));
    slider.value = String(index);
    slider.disabled = snapshots.length < 2;
    if (!s) {
      stepOut.value = "no snapshots yet";
      root.dataset.step = "";
      chart.replaceChildren();
      map.replaceChildren();
      chunks.replaceChildren();
      sample.replaceChildren();
      return false;
    }
    layer = Math.min(layer, s.layers - 1);
    head = Math.min(head, s.heads - 1);
    options_(layerSelect, s.layers, layer);
    options_(headSelect, s.heads, head);
    root.dataset.step = String(s.step);
    stepOut.value = `step ${s.step}${totalSteps ? ` of ${totalSteps}` : ""}`;
    slider.setAttribute("aria-valuetext", `step ${s.step}`);
    // The width measured here is the one the ResizeObserver will report first, so a card that has just been
    // shown (display: none until a live run's first snapshot) is drawn once, not again on the next frame.
    // (floored as the observer's contentRect is: the element has no padding or border.)
    if (!width && root.isConnected) width = Math.floor(root.getBoundingClientRect().width);
    const { wide, half } = layout();
    chart.replaceChildren(curves.length ? LossChart(curves, { width: half, height: 260, totalSteps, cursor: s.step }) : (html`<p class="stlm-status">No loss curve for this run.</p>` as HTMLElement));
    root.classList.toggle("stlm-scrubber-wide", wide);
    return true;
  };
  /** What the model did at the step: the chunks, the attention map, the sample. */
  const renderInside = () => {
    const s = snapshots[index];
    if (!s) return;
    const { half } = layout();
    const P = s.spans.length;
    const labels = s.spans.map(([a, b]) => (b > a ? chunkText(probeBytes.subarray(a, b)) : "⟨start⟩"));
    chunks.replaceChildren(
      s.chunks ? ChunkRows(probeBytes.subarray(0, s.chunks.at(-1)?.[1] ?? 0), [{ label: `chunks at step ${s.step}`, spans: s.chunks }], { showBytes: false }) : ""
    );
    map.replaceChildren(
      AttentionHeatmap(
        { tokens: s.unit === "byte" ? probeBytes.subarray(0, P) : labels.map(() => 0), labels: s.unit === "byte" ? undefined : labels, weights: dequantiseMap(s.attention[layer][head], P) },
        { width: half, maxCell: s.unit === "byte" ? 9 : 22, title: `step ${s.step}: layer ${layer}, head ${head}${s.unit === "chunk" ? " (the core's attention over chunks)" : s.unit === "token" ? " (over BPE tokens)" : ""}` }
      )
    );
    sample.replaceChildren(html`<span class="prompt">${options.prompt}</span>` as HTMLElement, s.sample);
  };
  /** A live update's frames still to come (follow()). */
  let pending = 0;
  const render = () => {
    cancelAnimationFrame(pending);
    pending = 0;
    if (renderHead()) renderInside();
  };

  slider.addEventListener("input", () => {
    index = Number(slider.value);
    render();
    root.dispatchEvent(new Event("input", { bubbles: true }));
  });
  layerSelect.addEventListener("change", () => ((layer = Number(layerSelect.value)), render()));
  headSelect.addEventListener("change", () => ((head = Number(headSelect.value)), render()));

  let frame = 0;
  const observer = typeof ResizeObserver === "function"
    ? new ResizeObserver((entries) => {
        const w = Math.floor(entries[0].contentRect.width);
        if (w === width || w === 0) return;
        width = w;
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(render);
      })
    : null;
  observer?.observe(root);

  Object.defineProperty(root, "value", { get: () => snapshots[index]?.step ?? NaN });
  root.select = (step: number) => {
    if (!snapshots.length) return;
    index = nearestSnapshot(snapshots, step);
    render();
  };
  const take = (next: readonly Snapshot[], nextCurves?: readonly RunCurves[], nextTotal?: number) => {
    const atEnd = index >= snapshots.length - 1;
    snapshots = next.slice();
    if (nextCurves) curves = nextCurves;
    if (nextTotal !== undefined) totalSteps = nextTotal;
    index = atEnd ? Math.max(0, snapshots.length - 1) : Math.min(index, Math.max(0, snapshots.length - 1));
  };
  root.update = (next, nextCurves, nextTotal) => {
    take(next, nextCurves, nextTotal);
    render();
  };
  root.follow = (next, nextCurves, nextTotal) => {
    take(next, nextCurves, nextTotal);
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      pending = renderHead() ? requestAnimationFrame(() => ((pending = 0), renderInside())) : 0;
    });
  };
  root.dispose = () => {
    cancelAnimationFrame(pending);
    observer?.disconnect();
  };
  render();
  return root;
}
