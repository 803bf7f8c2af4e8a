// The replay of a precomputed comparison's runs: one SnapshotScrubber with a picker of
// the run it replays (an A/B arm, a model of a comparison). Switching runs keeps the
// slider at the nearest step of the new run's snapshots; the loss chart draws the
// picked run's curve with the cursor, and the other runs' faint behind it when
// `othersAsReference` is set (two A/B arms on one axis). The element carries
// data-run (the picked run's label) for tests.
import { html } from "htl";
import type { Snapshot } from "../lib/train/snapshots.js";
import type { RunCurves } from "./loss-chart.js";
import { SnapshotScrubber, type SnapshotScrubberElement } from "./snapshot-scrubber.js";

export interface ReplayRun {
  label: string;
  snapshots: readonly Snapshot[];
  /** The run's loss curve (nats per byte) and evaluations. */
  curve: Omit<RunCurves, "label" | "reference">;
  totalSteps: number;
  probe: string;
  prompt: string;
}

export interface ReplayPickerElement extends HTMLElement {
  /** The scrubber (its value is the step shown). */
  readonly scrubber: SnapshotScrubberElement;
  /** The picked run's index. */
  readonly value: number;
  dispose(): void;
}

export function ReplayPicker(runs: readonly ReplayRun[], { label = "Run replayed", othersAsReference = false, initial = 0 }: { label?: string; othersAsReference?: boolean; initial?: number } = {}): ReplayPickerElement {
  if (runs.length === 0) throw new Error("ReplayPicker needs at least one run");
  if (runs.some((r) => r.probe !== runs[0].probe || r.prompt !== runs[0].prompt)) throw new Error("ReplayPicker's runs must share one probe text and one prompt");
  let picked = Math.min(Math.max(0, initial), runs.length - 1);
  const curvesOf = (i: number): RunCurves[] => [
    ...(othersAsReference ? runs.filter((_, j) => j !== i).map((r) => ({ label: r.label, ...r.curve, reference: true })) : []),
    { label: runs[i].label, ...runs[i].curve }
  ];
  const first = runs[picked];
  const scrubber = SnapshotScrubber(first.snapshots, { curves: curvesOf(picked), totalSteps: first.totalSteps, probe: first.probe, prompt: first.prompt, step: 0 });
  const select = html`<select aria-label=${label}>${runs.map((r, i) => html`<option value=${i} selected=${i === picked}>${r.label}</option>`)}</select>` as HTMLSelectElement;
  const root = html`<div class="stlm-replay-picker" data-run=${first.label}>
    <div class="stlm-replay-pick"><label>${label} ${select}</label></div>
    ${scrubber}
  </div>` as ReplayPickerElement;
  select.addEventListener("change", () => {
    const step = scrubber.value;
    picked = Number(select.value);
    const r = runs[picked];
    scrubber.update(r.snapshots, curvesOf(picked), r.totalSteps);
    if (Number.isFinite(step)) scrubber.select(step);
    root.dataset.run = r.label;
    root.dispatchEvent(new Event("input", { bubbles: true }));
  });
  Object.defineProperty(root, "scrubber", { value: scrubber });
  Object.defineProperty(root, "value", { get: () => picked });
  root.dispose = () => scrubber.dispose();
  return root;
}
