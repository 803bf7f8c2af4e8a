// "Re-run and check" on a precomputed figure: the figure's run record says what was
// trained (model, every training setting, seed, corpus); the control trains that
// configuration again in the reader's browser, in the training worker
// (lab-recheck.ts), and reports step by step whether the losses agree with the
// figure's (lib/runs/agreement.ts): on wasm or cpu with the same lab version to
// 1e-4 relative at every step, or the first step where the re-run departs and by how
// much; on a GPU backend within the band stated in the card. A long run is checked
// over a prefix of its steps, which the reader can lengthen.
import { html } from "htl";
import { agreementRule, compareLosses, describeAgreement, formatRelative, GPU_BAND_MEASUREMENT, GPU_BANDS, OTHER_BACKEND_BAND, roundingAllowance, SAME_BUILD_TOLERANCE, type Agreement } from "../lib/runs/agreement.js";
import type { RunRecord, RunStepRow } from "../lib/runs/record.js";
import type { FigureRun } from "../lib/runs/rerun.js";
import type { LabWorker, RemoteEngine } from "./lab-client.js";
import type { RecheckRequest, RecheckSnapshot } from "./lab-recheck.js";
import { NumberInput } from "./number-input.js";

/** A figure's run: its label ("tying, tied arm, seed 2"), record, what else it trained on, and the decimals its file kept (lib/runs/rerun.ts). */
export type RecheckFigure = FigureRun;

export interface RecheckOptions {
  /** The figure's runs the reader can check (one for a single-run figure). */
  figures: RecheckFigure[];
  /** A named corpus's file bytes (the page's FileAttachment). */
  corpusBytes: (name: string) => Promise<ArrayBuffer>;
  /** A teacher checkpoint's bytes, by the name a distilled figure's setup gives (the page's FileAttachment). */
  teacherBytes?: (name: string) => Promise<ArrayBuffer>;
  /** The worker's backend (lab-client's setBackend reply). */
  backend: { name: string; description?: string; fma?: boolean | null };
  /** The lab this page was built from (src/data/lab-build.json). */
  build: { version: string; commit: string | null };
  /** Steps checked by default: a prefix of the figure's run. */
  steps?: number;
}

/** The card's element: `dispose()` ends its run in the worker. */
export interface RecheckElement extends HTMLElement {
  dispose(): void;
}

const IDLE: RecheckSnapshot = { status: "idle", target: 0, steps: [] };
const short = (commit: string | null) => (commit ? commit.slice(0, 7) + (commit.endsWith("+dirty") ? "+dirty" : "") : "not recorded");

/** The agreement of a check under way or done: the figure's steps up to the last one re-run. */
export function recheckAgreement(record: RunRecord, rerun: readonly RunStepRow[], backend: string, build: { version: string }, lossDecimals?: number): Agreement {
  const rule = agreementRule({ backend: record.runtime.backend, labVersion: record.lab.version }, { backend, labVersion: build.version });
  return compareLosses(record.metrics.steps, rerun, rule, { lossDecimals });
}

export function RecheckCard(lab: LabWorker, options: RecheckOptions): RecheckElement {
  const { figures, backend, build } = options;
  if (figures.length === 0) throw new Error("RecheckCard needs at least one figure run with a run record");
  const engine: RemoteEngine<RecheckSnapshot, RecheckRequest> = lab.engine<RecheckSnapshot, RecheckRequest>("recheck", IDLE);
  let figure = figures[0];
  const maxSteps = () => Math.max(...figure.record.metrics.steps.map((s) => s.step), 1);

  const select = html`<select aria-label="The figure's run to check">${figures.map((f, i) => html`<option value=${i}>${f.label}</option>`)}</select>` as HTMLSelectElement;
  // The box allows the longest of the runs offered (a check of a shorter one stops at its last step).
  const longest = Math.max(...figures.map((f) => Math.max(...f.record.metrics.steps.map((s) => s.step), 1)));
  const stepsInput = NumberInput({ label: "Check up to step", value: Math.min(options.steps ?? 20, maxSteps()), min: 1, max: longest, integer: true, step: 10 });
  const run = html`<button type="button">Re-run and check</button>` as HTMLButtonElement;
  const stop = html`<button type="button" disabled>Stop the check</button>` as HTMLButtonElement;
  const about = html`<p class="stlm-recheck-about"></p>` as HTMLElement;
  const progress = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const result = html`<p class="stlm-recheck-result" aria-live="polite"></p>` as HTMLElement;
  const facts = html`<ul class="stlm-recheck-facts"></ul>` as HTMLElement;
  const root = html`<div class="card stlm-recheck" data-state="idle">
    <h2>Re-run and check</h2>
    ${about}
    <div class="stlm-buttons">${figures.length > 1 ? select : ""}${stepsInput}${run}${stop}</div>
    ${progress}${result}${facts}
  </div>` as RecheckElement;

  const describeFigure = () => {
    const r = figure.record;
    const t = r.train;
    const rule = agreementRule({ backend: r.runtime.backend, labVersion: r.lab.version }, { backend: backend.name, labVersion: build.version });
    const setup = figure.setup;
    const also = [
      setup?.trainBytes !== undefined ? `on the first ${setup.trainBytes.toLocaleString("en-US")} bytes of the training split` : "",
      setup?.distill ? `distilled from the teacher ${setup.distill.teacher} (${setup.distill.kd.direction} KL, temperature ${setup.distill.kd.temperature})` : ""
    ].filter(Boolean);
    const rounding = roundingAllowance(figure.lossDecimals);
    about.replaceChildren(
      html`<span>Trains <strong>${figure.label}</strong> again here, in the training worker, exactly as its run record says: ${r.preset ?? r.spec.kind} on ${r.data.name}${also.length ? `, ${also.join(", ")}` : ""}, seed ${t.seed}, ${t.steps} steps planned (warm-up ${t.warmupSteps}, learning rate ${t.learningRate}, batch ${t.batchSize}) — the figure's own settings, not the ones above — and compares every step's training loss with the figure's. </span>` as Node,
      html`<span>On wasm or cpu with the same lab version a re-run must match to ${formatRelative(SAME_BUILD_TOLERANCE)} relative at every step${rounding > 0 ? html`, plus ${formatRelative(rounding)}, half a unit of the last of the ${figure.lossDecimals} decimals the figure's file keeps of each loss (its rounding): |re-run − figure| ≤ ${formatRelative(SAME_BUILD_TOLERANCE)} × figure + ${formatRelative(rounding)}` : ""}; a GPU backend sums in another order and precision, so it is held to a band measured for it (twice the largest difference it showed over the training figure's first steps on SwiftShader, <code>${GPU_BAND_MEASUREMENT.file}</code>): ${Object.entries(GPU_BANDS).map(([b, band]) => `${b} ${formatRelative(band)} (measured ${formatRelative((GPU_BAND_MEASUREMENT.backends as Record<string, { largest: number; steps: number }>)[b].largest)} over ${(GPU_BAND_MEASUREMENT.backends as Record<string, { largest: number; steps: number }>)[b].steps} steps)`).join(", ")}${rounding > 0 ? " (plus the same rounding)" : ""}; across lab versions a stated ${formatRelative(OTHER_BACKEND_BAND)}. </span>` as Node,
      html`<span>Here: <strong>${backend.description ?? backend.name}</strong>, so ${rule.why}. The figure logs ${r.metrics.steps.length} of its ${t.steps} steps; the check trains the first steps, up to the step "Check up to step" says (each costs about as much as a step of a live run), and compares those.</span>` as Node
    );
    root.dataset.rule = rule.kind;
  };

  const showFacts = (s: RecheckSnapshot) => {
    const r = figure.record;
    const items: HTMLElement[] = [];
    items.push(html`<li>Figure: lab ${r.lab.version}, commit ${short(r.lab.commit)}, ${r.runtime.backend}${r.runtime.fma === null ? "" : r.runtime.fma ? " with FMA" : " without FMA"}, ${r.runtime.platform}. This page: lab ${build.version}, commit ${short(build.commit)}, ${backend.name}${backend.fma == null ? "" : backend.fma ? " with FMA" : " without FMA"}.</li>` as HTMLElement);
    if (r.lab.commit && build.commit && r.lab.commit !== build.commit) {
      items.push(html`<li>The figure was made at another commit than this page: if the lab's kernels changed between them, the losses differ in their last digits (the check says where).</li>` as HTMLElement);
    }
    if (s.data) {
      const same = r.data.sha256 === null ? null : r.data.sha256 === s.data.sha256;
      items.push(
        html`<li class=${same === false ? "stlm-error" : ""}>Data: ${r.data.name}, ${s.data.bytes.toLocaleString("en-US")} bytes read here, SHA-256 ${s.data.sha256.slice(0, 12)}… ${same === null ? "(the figure did not record its data's hash)" : same ? "— the same bytes as the figure's" : `— NOT the figure's (${r.data.sha256!.slice(0, 12)}…): the check trains on other data`}.</li>` as HTMLElement
      );
    }
    if (s.tensors?.after !== undefined) items.push(html`<li>Tensors in the worker: ${s.tensors.before} before the check, ${s.tensors.after} after it.</li>` as HTMLElement);
    facts.replaceChildren(...items);
  };

  const render = (s: RecheckSnapshot) => {
    const busy = s.status === "preparing" || s.status === "running";
    run.disabled = busy || stepsInput.value === undefined;
    stop.disabled = !busy;
    select.disabled = busy;
    root.dataset.state = s.status;
    if (s.status === "idle") return;
    if (s.status === "error") {
      progress.textContent = "";
      result.className = "stlm-recheck-result stlm-error";
      result.textContent = `The check could not run: ${s.message}`;
      root.dataset.verdict = "error";
      return;
    }
    progress.textContent =
      s.status === "preparing" ? "Reading the corpus and building the model…" : `${s.status === "running" ? "Training" : s.status === "done" ? "Trained" : "Stopped at"} step ${s.steps.at(-1)?.step ?? 0} of ${s.target}${s.backend ? ` on ${s.backend}` : ""}.`;
    const a = recheckAgreement(figure.record, s.steps, s.backend ?? backend.name, build, figure.lossDecimals);
    const final = s.status === "done" || s.status === "stopped";
    result.className = `stlm-recheck-result${a.verdict === "departs" ? " stlm-error" : ""}`;
    result.textContent = a.verdict === "incomplete" ? "" : `${final ? "" : "So far: "}${describeAgreement(a)}`;
    if (final && a.verdict !== "departs" && s.target > (a.lastStep ?? 0)) result.textContent += ` The figure logs no step after ${a.lastStep} within the steps re-run.`;
    if (final && a.verdict !== "incomplete" && a.lastStep !== null && a.lastStep < maxSteps() && a.verdict !== "departs") {
      result.textContent += ` Checked ${a.lastStep} of the figure's ${maxSteps()} steps: raise "Check up to step" to check more.`;
    }
    Object.assign(root.dataset, {
      verdict: final ? a.verdict : "running",
      compared: String(a.compared),
      exact: String(a.exact),
      storedDigits: String(a.equalToStoredDigits),
      largest: a.largest ? String(a.largest.relative) : "",
      departsAt: a.departure ? String(a.departure.step) : ""
    });
    // The re-run's losses, for a measurement script (scripts/recheck-browser.ts --json).
    if (final) root.dataset.losses = JSON.stringify(s.steps.map((r) => [r.step, r.loss]));
    else delete root.dataset.losses;
    showFacts(s);
  };

  select.onchange = () => {
    figure = figures[Number(select.value)];
    describeFigure();
    result.textContent = "";
    facts.replaceChildren();
    delete root.dataset.verdict;
  };
  stepsInput.addEventListener("input", () => render(engine.state));
  run.onclick = async () => {
    const steps = stepsInput.value;
    if (steps === undefined) return;
    const r = figure.record;
    run.disabled = true;
    result.textContent = "";
    facts.replaceChildren();
    try {
      const bytes = await options.corpusBytes(r.data.name);
      const wanted = figure.setup?.distill?.teacher;
      if (wanted && !options.teacherBytes) throw new Error(`this page holds no teacher checkpoint, and the run learned from ${wanted}`);
      const teacher = wanted ? { name: wanted, bytes: await options.teacherBytes!(wanted) } : undefined;
      await engine.start({ spec: r.spec, train: r.train, corpus: { kind: "named", name: r.data.name, bytes }, steps: Math.min(steps, r.train.steps), ...(figure.setup ? { setup: figure.setup } : {}), ...(teacher ? { teacher } : {}) });
    } catch (e) {
      render({ ...engine.state, status: "error", message: (e as Error).message });
    }
  };
  stop.onclick = () => engine.stop();

  describeFigure();
  const off = engine.subscribe(render);
  root.dispose = () => {
    off();
    engine.dispose();
  };
  return root;
}
