// Resume in the browser: a loaded checkpoint that holds its optimizer state (one
// saved from a run here, or a `stlm train` run folder's checkpoint.safetensors)
// trains on to its planned total with its own settings, as `stlm train --resume`
// does (LiveRun's RunRequest.resume, in the training worker). Once a resumed run has
// finished, "Check against an uninterrupted run" trains the same configuration from
// step 0 in the worker (lab-recheck.ts) and compares the resumed steps with it
// (lib/runs/agreement.ts): on wasm they must be bit for bit identical. "Train to step"
// above the checkpoint's planned total extends the plan (`stlm train --resume DIR
// --extend-to N`): the learning-rate schedule is planned again over the new total.
import { html } from "htl";
import { agreementRule, compareLosses, describeAgreement } from "../lib/runs/agreement.js";
import { decodeSafetensors } from "../lib/train/safetensors.js";
import type { LabWorker, RemoteEngine, RemoteRun } from "./lab-client.js";
import type { RecheckRequest, RecheckSnapshot } from "./lab-recheck.js";
import type { RunRequest, RunSnapshot } from "./live-run.js";
import { NumberInput } from "./number-input.js";

export interface ResumeOptions {
  /** The page's run request as its controls say now (the corpus is taken from it; the rest is the checkpoint's). */
  request: () => RunRequest;
  backend: { name: string };
}

export interface ResumeElement extends HTMLElement {
  dispose(): void;
}

/** The trainer step a checkpoint file's metadata holds, or null for a weights-only one (read from the header alone). */
export function checkpointTrainerStep(bytes: Uint8Array): number | null {
  try {
    const trainer = decodeSafetensors(bytes).metadata.get("stlm.trainer");
    return trainer ? (JSON.parse(trainer) as { step: number }).step : null;
  } catch {
    return null;
  }
}

/** What "Save in this browser" / "Download" kept, in words. */
export function savedStateNote(bytes: Uint8Array): string {
  const step = checkpointTrainerStep(bytes);
  return step === null
    ? "weights only: this model came from a weights-only checkpoint, so there is no optimizer state to keep; it can be sampled and evaluated, not resumed"
    : `with the optimizer and random-number state at step ${step}, so it can be resumed`;
}

const IDLE: RecheckSnapshot = { status: "idle", target: 0, steps: [] };

export function ResumeCard(live: RemoteRun, lab: LabWorker, options: ResumeOptions): ResumeElement {
  const status = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const resume = html`<button type="button" disabled>Resume training</button>` as HTMLButtonElement;
  // The total to train to: the checkpoint's planned steps (a plain resume), or more (an extension).
  const target = NumberInput({ label: "Train to step", value: 1, min: 1, max: 1_000_000, integer: true, step: 10 });
  const check = html`<button type="button" disabled>Check against an uninterrupted run</button>` as HTMLButtonElement;
  const result = html`<p class="stlm-resume-result" aria-live="polite"></p>` as HTMLElement;
  const root = html`<div class="card stlm-resume" data-state="none">
    <h2>Resume a checkpoint</h2>
    <div class="stlm-buttons">${target}${resume}${check}</div>
    ${status}${result}
  </div>` as ResumeElement;
  let engine: RemoteEngine<RecheckSnapshot, RecheckRequest> | null = null;
  let checked: RunSnapshot | null = null;
  let shownFor = -1;

  const render = (s: RunSnapshot) => {
    const r = s.resumable;
    // A checkpoint just loaded: the box offers its planned total, or twice that for a finished one.
    if (s.status === "loaded" && r && shownFor !== s.modelVersion) {
      shownFor = s.modelVersion;
      target.value = r.step < r.steps ? r.steps : 2 * r.steps;
    }
    const to = target.value;
    const fits = r !== undefined && to !== undefined && to > r.step && to >= r.steps;
    resume.disabled = !(s.status === "loaded" && fits);
    target.style.display = s.status === "loaded" && r ? "" : "none";
    const resumedDone = s.resumedFrom !== undefined && s.status === "done";
    // An extended plan has no uninterrupted twin: its first steps followed the shorter plan's schedule.
    const extended = (s.extensions?.length ?? 0) > 0;
    check.disabled = !resumedDone || extended || (engine !== null && ["preparing", "running"].includes(engine.state.status));
    root.dataset.state = s.status === "loaded" ? (r ? (r.step < r.steps ? "resumable" : "finished") : "weights-only") : s.resumedFrom !== undefined ? `resumed-${s.status}` : "none";
    if (s.status === "loaded") {
      const corpusNote = r?.corpus ? `; Corpus must say ${r.corpus}` : "";
      const extend = (n: number) =>
        `Resume training trains it on to step ${n}: the plan is extended from ${r!.steps} to ${n} steps, as \`stlm train --resume DIR --extend-to ${n}\` does, so from step ${r!.step} on the learning rate follows the warm-up and cosine schedule planned over ${n} steps (it rises from where the ${r!.steps}-step schedule had brought it)${corpusNote}.`;
      status.textContent = !r
        ? `${s.label} is a weights-only checkpoint: it holds no optimizer state, so it can be sampled and evaluated but not resumed.`
        : to === undefined
          ? `${s.label} stopped at step ${r.step} of ${r.steps}: say under "Train to step" how far to train it.`
          : !fits
            ? `${s.label} stopped at step ${r.step} of ${r.steps}: "Train to step" must be at least its planned ${r.steps}${r.step >= r.steps ? ", and above it, since it finished them" : ""} (a plan can be extended, not shortened).`
            : r.step >= r.steps
              ? `${s.label} finished all ${r.steps} of its planned steps. ${extend(to)}`
              : to > r.steps
                ? `${s.label} stopped at step ${r.step} of ${r.steps}${r.corpus ? `, trained on ${r.corpus}` : ""}. ${extend(to)}`
                : `${s.label} stopped at step ${r.step} of ${r.steps}${r.corpus ? `, trained on ${r.corpus}` : ""}. Resume training continues it with its optimizer and random-number state and its own settings (not the ones above) to step ${r.steps}, as \`stlm train --resume\` does${corpusNote}; a larger "Train to step" extends the plan.`;
    } else if (s.resumedFrom !== undefined) {
      status.textContent = `${s.label}: ${s.status === "done" ? `continued from step ${s.resumedFrom} to ${s.steps.at(-1)?.step}` : s.status === "error" ? s.message ?? "failed" : `${s.status}, step ${s.steps.at(-1)?.step ?? s.resumedFrom}`}.${
        extended && s.status === "done" ? ` Its plan was extended, so no uninterrupted run trains the same steps to check it against (the first steps followed the shorter plan's learning rate); \`stlm train --resume DIR --extend-to N\` trains the same numbers.` : ""
      }`;
    } else {
      status.textContent = "Load a checkpoint saved with its optimizer state (Save in this browser, or a run folder's checkpoint.safetensors) to resume it here.";
    }
    if (checked && checked.runNumber !== s.runNumber) {
      checked = null;
      result.textContent = "";
      delete root.dataset.verdict;
    }
  };

  const showCheck = (c: RecheckSnapshot) => {
    if (!checked) return;
    if (c.status === "error") {
      result.textContent = `The check could not run: ${c.message}`;
      root.dataset.verdict = "error";
      return;
    }
    const rule = agreementRule({ backend: options.backend.name, labVersion: "this page" }, { backend: c.backend ?? options.backend.name, labVersion: "this page" });
    const a = compareLosses(checked.steps, c.steps, rule);
    const final = c.status === "done" || c.status === "stopped";
    result.textContent = `${final ? "" : `Training the uninterrupted run: step ${c.steps.at(-1)?.step ?? 0} of ${c.target}. `}${a.verdict === "incomplete" ? "" : `The resumed steps against the uninterrupted run: ${describeAgreement(a)}`}`;
    Object.assign(root.dataset, { verdict: final ? a.verdict : "running", exact: String(a.exact), compared: String(a.compared) });
    check.disabled = !final;
  };

  target.addEventListener("input", () => render(live.state));
  resume.onclick = () => {
    const r = live.state.resumable;
    const to = target.value;
    if (!r || to === undefined) return;
    resume.disabled = true;
    live.start({ ...options.request(), resume: true, ...(to > r.steps ? { extendTo: to } : {}) }).catch((e: Error) => (status.textContent = e.message));
  };
  check.onclick = async () => {
    const s = live.state;
    if (!s.model || !s.train) return;
    checked = s;
    check.disabled = true;
    engine ??= lab.engine<RecheckSnapshot, RecheckRequest>("recheck", IDLE);
    const off = engine.subscribe(showCheck);
    try {
      const req = options.request().corpus;
      const corpus = req.kind === "named" ? { kind: "named" as const, name: req.name, bytes: await req.load() } : req;
      await engine.start({ spec: { kind: "bytes", model: s.model }, train: s.train, corpus, steps: s.train.steps });
    } catch (e) {
      result.textContent = `The check could not run: ${(e as Error).message}`;
    } finally {
      showCheck(engine.state);
      off();
    }
  };

  const off = live.subscribe(render);
  root.dispose = () => {
    off();
    engine?.dispose();
  };
  return root;
}
