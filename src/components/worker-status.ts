// A line that says what the training worker is doing besides training (starting a
// backend, loading a checkpoint, writing, computing attention), or that it failed.
import { html } from "htl";
import type { LabWorker } from "./lab-client.js";

/** The element has dispose(), which drops its subscriptions. */
export function WorkerStatus(lab: LabWorker): HTMLElement & { dispose(): void } {
  const root = html`<p class="stlm-status stlm-worker-status" role="status" aria-live="polite"></p>` as HTMLElement & { dispose(): void };
  let failed = false;
  const offBusy = lab.observeBusy((tasks) => {
    if (failed) return;
    root.dataset.busy = tasks.length > 0 ? "true" : "false";
    root.textContent = tasks.length > 0 ? `Training worker: ${tasks.join(", ")}…` : "Training worker: ready (the model trains off the page's thread).";
  });
  const offErrors = lab.observeErrors((message) => {
    failed = true;
    root.dataset.busy = "false";
    root.classList.add("stlm-error");
    root.textContent = `Training worker: ${message}`;
  });
  root.dispose = () => {
    offBusy();
    offErrors();
  };
  return root;
}
