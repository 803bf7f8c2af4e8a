// Run / Pause / Stop buttons for a LiveRun, enabled by its status; Run (and Restart)
// also waits until every numeric setting the run reads is valid.
import { html } from "htl";
import type { RunHandle, RunStatus } from "./live-run.js";
import { disableWhileInvalid, type NumberInputElement } from "./number-input.js";

export interface RunControlsOptions {
  /**
   * Builds the request and starts the run. A thrown error, or a rejection of the
   * promise it returns, is shown beside the buttons.
   */
  onRun: () => Promise<unknown> | void;
  /** The numeric settings onRun reads: Run stays disabled, saying which to fix, while one is invalid. */
  settings?: readonly NumberInputElement[];
}

/** The element has dispose(), which drops its subscription to the run. */
export function RunControls(run: Pick<RunHandle, "subscribe" | "pause" | "resume" | "stop"> & { readonly pausesAtOnce?: boolean }, { onRun, settings = [] }: RunControlsOptions): HTMLElement & { dispose(): void } {
  const runButton = html`<button class="stlm-run" type="button">Run</button>` as HTMLButtonElement;
  const pauseButton = html`<button class="stlm-pause" type="button">Pause</button>` as HTMLButtonElement;
  const stopButton = html`<button class="stlm-stop" type="button">Stop</button>` as HTMLButtonElement;
  const message = html`<span class="stlm-error" role="alert"></span>` as HTMLElement;
  const note = html`<span class="stlm-status stlm-settings-note" hidden></span>` as HTMLElement;
  // What a press of Pause does: where the page is cross-origin isolated the worker drops the step under way
  // (lab-protocol.ts's shared flag); elsewhere it cannot hear the press until that step has finished.
  const pausing = html`<span class="stlm-status stlm-pausing" role="status"></span>` as HTMLElement;
  const root = html`<div class="stlm-buttons">${runButton}${pauseButton}${stopButton}${note}${pausing}${message}</div>` as HTMLElement & {
    dispose(): void;
  };
  let status: RunStatus = "idle";
  let msPerStep = NaN;
  let pauseAsked = false;

  const show = (e: unknown) => (message.textContent = e instanceof Error ? e.message : String(e));
  runButton.onclick = () => {
    message.textContent = "";
    try {
      onRun()?.catch(show);
    } catch (e) {
      show(e);
    }
  };
  pauseButton.onclick = () => {
    if (status === "paused") return run.resume();
    pauseAsked = true;
    pauseButton.textContent = "Pausing…";
    pauseButton.disabled = true;
    pausing.textContent = run.pausesAtOnce
      ? "Pausing: the step under way stops where it is, and runs again from its start on Resume (so does a snapshot or an evaluation under way)."
      : `Pausing after the step under way${Number.isFinite(msPerStep) ? ` (a step takes about ${formatMs(msPerStep)} here)` : ""}: the worker finishes it, and the counter shows it, before it stops. ` +
        "Served cross-origin isolated (as node scripts/serve.mjs and npm run dev do), Pause cuts the step short.";
    run.pause();
  };
  stopButton.onclick = () => run.stop();

  const unsubscribe = run.subscribe((s) => {
    status = s.status;
    const last = s.steps.at(-1);
    const bytesPerStep = (s.train?.batchSize ?? 0) * (s.model?.blockSize ?? 0);
    if (last && last.tokensPerSecond > 0 && bytesPerStep > 0) msPerStep = (1000 * bytesPerStep) / last.tokensPerSecond;
    if (status !== "running") pauseAsked = false;
    pausing.textContent = pauseAsked ? pausing.textContent : "";
    const active = status === "running" || status === "paused" || status === "preparing";
    runButton.textContent = active ? "Restart" : "Run";
    pauseButton.textContent = status === "paused" ? "Resume" : pauseAsked ? "Pausing…" : "Pause";
    pauseButton.disabled = pauseAsked || !(status === "running" || status === "paused");
    stopButton.disabled = !active;
    root.dataset.status = status;
  });
  const gate = disableWhileInvalid([runButton], settings, { note });
  root.dispose = () => {
    unsubscribe();
    gate.dispose();
  };
  return root;
}

/**
 * What Stop does on a page whose runs have a Stop but no Pause (the A/B pages), in one
 * sentence for beside the buttons: at once where the page is cross-origin isolated
 * (the engine's flag exists: lib/train/interrupt.ts), else after the step under way.
 * Neither cuts short the preparation before the first step (reading the corpus,
 * training a BPE, building the models).
 */
export function stopNote(run: { readonly pausesAtOnce?: boolean }): string {
  return run.pausesAtOnce
    ? "Stop acts at once: the step or evaluation under way ends where it is (not the preparation before the first step)."
    : "Stop waits for the step under way and any evaluation after it; served cross-origin isolated (as npm run serve and npm run dev do), it acts at once.";
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.max(1, Math.round(ms / 10) * 10)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
