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
export function RunControls(run: Pick<RunHandle, "subscribe" | "pause" | "resume" | "stop">, { onRun, settings = [] }: RunControlsOptions): HTMLElement & { dispose(): void } {
  const runButton = html`<button class="stlm-run" type="button">Run</button>` as HTMLButtonElement;
  const pauseButton = html`<button class="stlm-pause" type="button">Pause</button>` as HTMLButtonElement;
  const stopButton = html`<button class="stlm-stop" type="button">Stop</button>` as HTMLButtonElement;
  const message = html`<span class="stlm-error" role="alert"></span>` as HTMLElement;
  const note = html`<span class="stlm-status stlm-settings-note" hidden></span>` as HTMLElement;
  const root = html`<div class="stlm-buttons">${runButton}${pauseButton}${stopButton}${note}${message}</div>` as HTMLElement & {
    dispose(): void;
  };
  let status: RunStatus = "idle";

  const show = (e: unknown) => (message.textContent = e instanceof Error ? e.message : String(e));
  runButton.onclick = () => {
    message.textContent = "";
    try {
      onRun()?.catch(show);
    } catch (e) {
      show(e);
    }
  };
  pauseButton.onclick = () => (status === "paused" ? run.resume() : run.pause());
  stopButton.onclick = () => run.stop();

  const unsubscribe = run.subscribe((s) => {
    status = s.status;
    const active = status === "running" || status === "paused" || status === "preparing";
    runButton.textContent = active ? "Restart" : "Run";
    pauseButton.textContent = status === "paused" ? "Resume" : "Pause";
    pauseButton.disabled = !(status === "running" || status === "paused");
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
