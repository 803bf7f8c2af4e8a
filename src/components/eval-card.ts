// The evaluation card: a subset of a stated size (extendable), Evaluate / Extend /
// Cancel, progress, and the model's numbers beside the reference floors. Used by
// the evaluation page and the training page. It talks to an EvalRunner only, so
// it does not know where the model runs.
import { html } from "htl";
import type { MinimalPair, NextSentenceItem } from "../lib/text/data.js";
import type { EvalProgress, EvalReport, EvalSize } from "../lib/eval/evaluation.js";
import { floorOnSubset, lengthOnlyOnSubset, type FloorNumbers, type FloorRecord, type StatedFloor } from "../lib/eval/floors.js";
import type { EvalRunner } from "./eval-runner.js";

import { BYTE_SIZES, ITEM_SIZES } from "./eval-sizes.js";
import { formatInteger } from "./live-table.js";

export interface EvalCardOptions {
  sets: { minimalPairs: readonly MinimalPair[]; nextSentence: readonly NextSentenceItem[] };
  /** Count-model floors (scripts/eval-floors.ts); those counted on the runner's train corpus are shown. */
  floors?: readonly FloorRecord[];
  stated?: StatedFloor;
  /** The subset the card starts at. */
  size?: EvalSize;
  /** `stlm eval`'s committed report for this model, shown beside the card's when the subsets match. */
  reference?: { command: string; report: Pick<EvalReport, "testBitsPerByte" | "minimalPairs" | "nextSentence">; size: EvalReport["size"] };
  /** The checkpoint path to name in the equivalent `stlm eval` command. */
  checkpointHint?: string;
  /** Start evaluating at once. */
  autostart?: boolean;
  /** Called once with the two size controls (a page binds them to its URL state). They fire "input" on every change, Extend's included. */
  onControls?: (controls: { bytes: HTMLSelectElement; items: HTMLSelectElement }) => void;
}

export interface EvalCardElement extends HTMLElement {
  dispose(): void;
}

const kib = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} KiB` : `${formatInteger(n)} bytes`);
const fmt = (x: number | undefined, digits = 3) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));

function sizeSelect<T extends number>(label: string, values: readonly T[], value: number | undefined, describe: (v: T) => string): HTMLSelectElement {
  const select = html`<select aria-label=${label}>
    ${values.map((v) => html`<option value=${String(v)}>${describe(v)}</option>`)}
    <option value="all">all</option>
  </select>` as HTMLSelectElement;
  select.value = value === undefined ? "all" : String(value);
  return select;
}

const readSize = (s: HTMLSelectElement) => (s.value === "all" ? undefined : Number(s.value));

/** The next size up (twice as much, at least the next option), or undefined (everything). */
function grow(value: number | undefined, options: readonly number[]): number | undefined {
  if (value === undefined) return undefined;
  return options.find((o) => o >= 2 * value) ?? undefined;
}

export function EvalCard(runner: EvalRunner | null, options: EvalCardOptions): EvalCardElement {
  const { sets, floors = [], stated, reference, checkpointHint = "CHECKPOINT", autostart = false } = options;
  const bytesSelect = sizeSelect("Bytes of each test split", BYTE_SIZES, options.size?.bytes, (v) => kib(v));
  const itemsSelect = sizeSelect("Items of each evaluation set", ITEM_SIZES, options.size?.items, (v) => `${v} items`);
  const evaluateButton = html`<button type="button">Evaluate</button>` as HTMLButtonElement;
  const extendButton = html`<button type="button" disabled>Extend (twice the subset)</button>` as HTMLButtonElement;
  const cancelButton = html`<button type="button" disabled>Cancel</button>` as HTMLButtonElement;
  const progress = html`<progress max="1" value="0" aria-label="Evaluation progress"></progress>` as HTMLProgressElement;
  const status = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const results = html`<div class="stlm-eval-results"></div>` as HTMLElement;
  const card = html`<div class="card stlm-eval-card" data-state="idle">
    <div class="stlm-buttons">${bytesSelect}${itemsSelect}</div>
    <div class="stlm-buttons">${evaluateButton}${extendButton}${cancelButton}${progress}</div>
    ${status}
    ${results}
  </div>` as EvalCardElement;

  let controller: AbortController | null = null;
  let closed = false;
  const setState = (state: string, message: string, error = false) => {
    card.dataset.state = state;
    status.textContent = message;
    status.classList.toggle("stlm-error", error);
  };

  if (!runner) {
    evaluateButton.disabled = true;
    setState("none", "No model to evaluate yet.");
  } else {
    setState("idle", `Ready to evaluate ${runner.label}. Press Evaluate.`);
  }

  const run = async (size: EvalSize) => {
    if (!runner || controller) return;
    controller = new AbortController();
    evaluateButton.disabled = extendButton.disabled = true;
    cancelButton.disabled = false;
    bytesSelect.disabled = itemsSelect.disabled = true;
    let pending = 0;
    const t0 = performance.now();
    // The worker reports every window scored: the card shows the latest once an animation frame.
    let latest: EvalProgress | null = null;
    let frame = 0;
    const showProgress = () => {
      frame = 0;
      const p = latest;
      if (!p || controller === null) return;
      progress.max = Math.max(1, p.total);
      progress.value = p.done;
      setState("running", `Scoring ${p.metric}: ${formatInteger(p.done)} of ${formatInteger(p.total)} windows of bytes (${size.bytes ? kib(size.bytes) : "all"} of each test split, ${size.items ?? "all"} items of each set).`);
    };
    const onProgress = (p: EvalProgress) => {
      pending = p.total;
      latest = p;
      if (!frame) frame = requestAnimationFrame(showProgress);
    };
    setState("running", "Preparing the evaluation…");
    try {
      const { report, tensors } = await runner.evaluate(size, { onProgress, signal: controller.signal });
      if (closed) return;
      card.dataset.tensorsBefore = String(tensors.before);
      card.dataset.tensorsAfter = String(tensors.after);
      results.replaceChildren(EvalTable(report, { sets, floors: floors.filter((f) => f.train === (runner.trainCorpus ?? "austen")), stated, reference }));
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      setState("done", `Evaluated ${runner.label}: ${formatInteger(pending)} windows of bytes scored in ${seconds} s${pending === 0 ? " (all of them scored before)" : ""}.`);
      card.dataset.size = JSON.stringify({ bytes: size.bytes ?? null, items: size.items ?? null });
    } catch (e) {
      if (closed) return;
      if (controller?.signal.aborted) setState("cancelled", "Cancelled. What was scored before is kept; Evaluate again to go on.");
      else setState("error", e instanceof Error ? e.message : String(e), true);
    } finally {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      controller = null;
      if (!closed) {
        evaluateButton.disabled = false;
        extendButton.disabled = card.dataset.state !== "done" || (readSize(bytesSelect) === undefined && readSize(itemsSelect) === undefined);
        cancelButton.disabled = true;
        bytesSelect.disabled = itemsSelect.disabled = false;
      }
    }
  };

  const chosen = (): EvalSize => ({ bytes: readSize(bytesSelect), items: readSize(itemsSelect) });
  evaluateButton.onclick = () => void run(chosen());
  extendButton.onclick = () => {
    const bytes = grow(readSize(bytesSelect), BYTE_SIZES);
    const items = grow(readSize(itemsSelect), ITEM_SIZES);
    bytesSelect.value = bytes === undefined ? "all" : String(bytes);
    itemsSelect.value = items === undefined ? "all" : String(items);
    for (const s of [bytesSelect, itemsSelect]) s.dispatchEvent(new Event("input", { bubbles: true }));
    showCommand();
    void run(chosen());
  };
  cancelButton.onclick = () => controller?.abort(new Error("cancelled by the reader"));
  card.dispose = () => {
    closed = true;
    controller?.abort(new Error("the page moved on"));
  };
  card.append(
    html`<p class="stlm-status">The same numbers from the command line: <code class="stlm-eval-command"></code></p>` as HTMLElement
  );
  const command = card.querySelector(".stlm-eval-command") as HTMLElement;
  const showCommand = () => {
    const { bytes, items } = chosen();
    command.textContent = `stlm eval --checkpoint ${checkpointHint}${bytes ? ` --max-bytes ${bytes}` : ""}${items ? ` --subset ${items}` : ""} --json`;
  };
  bytesSelect.onchange = itemsSelect.onchange = showCommand;
  showCommand();
  options.onControls?.({ bytes: bytesSelect, items: itemsSelect });
  if (autostart && runner) void run(chosen());
  return card;
}

// ---------------------------------------------------------------------------
// The table of numbers

interface Column {
  label: string;
  title?: string;
  bpb: (corpus: string) => number | undefined;
  mp: (type?: string) => number | undefined;
  nsNorm: () => number | undefined;
  ns: () => number | undefined;
  key: string;
}

function floorColumn(f: FloorRecord, n: FloorNumbers): Column {
  return {
    label: f.label,
    key: f.id,
    bpb: (c) => n.testBitsPerByte[c],
    mp: (t) => (t ? n.minimalPairs.byType[t]?.accuracy : n.minimalPairs.accuracy),
    nsNorm: () => n.nextSentence.accNorm,
    ns: () => n.nextSentence.acc
  };
}

export function EvalTable(
  report: EvalReport,
  { sets, floors = [], stated, reference }: Pick<EvalCardOptions, "sets" | "floors" | "stated" | "reference">
): HTMLElement {
  const { size } = report;
  const lengthOnly = lengthOnlyOnSubset(sets, size);
  const model: Column = {
    label: "this model",
    key: "model",
    bpb: (c) => report.testBitsPerByte[c],
    mp: (t) => (t ? report.minimalPairs.byType[t]?.accuracy : report.minimalPairs.accuracy),
    nsNorm: () => report.nextSentence.accNorm,
    ns: () => report.nextSentence.acc
  };
  const sameSubset = reference && JSON.stringify(reference.size) === JSON.stringify(size);
  const columns: Column[] = [model];
  if (sameSubset) {
    const r = reference.report;
    columns.push({
      label: "stlm eval (Node, committed)",
      key: "cli",
      bpb: (c) => r.testBitsPerByte[c],
      mp: (t) => (t ? r.minimalPairs.byType[t]?.accuracy : r.minimalPairs.accuracy),
      nsNorm: () => r.nextSentence.accNorm,
      ns: () => r.nextSentence.acc
    });
  }
  for (const f of floors) columns.push(floorColumn(f, floorOnSubset(f, sets, size)));
  columns.push({
    label: "knows nothing (every byte 1/256)",
    key: "uniform",
    bpb: () => 8,
    mp: (t) => (t ? lengthOnly.minimalPairs.byType[t]?.accuracy : lengthOnly.minimalPairs.accuracy),
    nsNorm: () => lengthOnly.nextSentence.accNorm,
    ns: () => lengthOnly.nextSentence.acc
  });
  if (stated) {
    columns.push({
      label: `${stated.label}, full sets (stated)`,
      key: "stated",
      bpb: (c) => stated.testBitsPerByte[c],
      mp: (t) => (t ? stated.minimalPairs.byType[t] : stated.minimalPairs.accuracy),
      nsNorm: () => stated.nextSentence.accNorm,
      ns: () => undefined
    });
  }
  const cell = (c: Column, metric: string, v: number | undefined, digits = 3) =>
    html`<td data-column=${c.key} data-metric=${metric} data-value=${v === undefined ? "" : String(v)}>${fmt(v, digits)}</td>`;
  const row = (label: string, metric: string, pick: (c: Column) => number | undefined, chance: string, note = "") =>
    html`<tr><th scope="row">${label}${note ? html`<br><small>${note}</small>` : ""}</th>${columns.map((c) => cell(c, metric, pick(c)))}<td>${chance}</td></tr>`;
  const corpora = Object.keys(report.testBitsPerByte);
  const types = Object.keys(report.minimalPairs.byType).sort();
  const describeBytes = corpora.map((c) => `${c} ${size.bytes[c].toLocaleString("en-US")}`).join(", ");
  const table = html`<div class="stlm-table-scroll"><table class="stlm-eval-table" aria-label="Evaluation results beside the reference floors">
    <thead><tr><th scope="col">metric</th>${columns.map((c) => html`<th scope="col" data-column=${c.key}>${c.label}</th>`)}<th scope="col">chance</th></tr></thead>
    <tbody>
      ${corpora.map((c) => row(`test bits/byte, ${c}`, `bpb:${c}`, (col) => col.bpb(c), "8 (lower is better)"))}
      ${row(`minimal pairs (${report.minimalPairs.n} pairs)`, "mp", (col) => col.mp(), "0.5")}
      ${types.map((t) => row(`  ${t} (${report.minimalPairs.byType[t].n})`, `mp:${t}`, (col) => col.mp(t), "0.5"))}
      ${row(`next sentence acc_norm (${report.nextSentence.n} items)`, "ns-norm", (col) => col.nsNorm(), "0.25", "per-byte log-probability")}
      ${row(`next sentence acc (${report.nextSentence.n} items)`, "ns", (col) => col.ns(), "0.25", "summed log-probability")}
    </tbody>
  </table></div>` as HTMLElement;
  const note = html`<p class="stlm-status">Subset: the first bytes of each test split (${describeBytes}) and the first
    ${size.minimalPairs.toLocaleString("en-US")} minimal pairs and ${size.nextSentence.toLocaleString("en-US")} next-sentence items in the lab's
    seeded order (a shuffle with seed ${size.seed}, lib/eval/subset.ts). The count models' floors are read on the same subset
    (their bits per byte where the subset is a whole number of KiB or a whole split); the stated 7-gram is on the full sets.
    ${sameSubset ? `"stlm eval" is ${reference.command}.` : ""}</p>` as HTMLElement;
  const wrap = html`<div data-report=${JSON.stringify(report)}>${table}${note}</div>` as HTMLElement;
  if (sameSubset) wrap.dataset.maxDifference = String(maxDifference(report, reference.report));
  return wrap;
}

/** The largest absolute difference between two reports' numbers. */
export function maxDifference(a: Pick<EvalReport, "testBitsPerByte" | "minimalPairs" | "nextSentence">, b: typeof a): number {
  let d = 0;
  for (const c of Object.keys(a.testBitsPerByte)) d = Math.max(d, Math.abs(a.testBitsPerByte[c] - b.testBitsPerByte[c]));
  d = Math.max(d, Math.abs(a.minimalPairs.accuracy - b.minimalPairs.accuracy), Math.abs(a.nextSentence.accNorm - b.nextSentence.accNorm), Math.abs(a.nextSentence.acc - b.nextSentence.acc));
  for (const t of Object.keys(a.minimalPairs.byType)) d = Math.max(d, Math.abs(a.minimalPairs.byType[t].accuracy - (b.minimalPairs.byType[t]?.accuracy ?? NaN)));
  return d;
}
