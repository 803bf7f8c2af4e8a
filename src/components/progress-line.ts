// The status line of a live comparison: what it is doing before its first step, then
// where it is, the time so far and about how long is left.
import { html } from "htl";
import { progressText, type RunProgress } from "./progress.js";

/** A status line with the progress of a run under way (or what it is doing before its first step). */
export function ProgressLine(status: string, progress: RunProgress | undefined, preparing = "loading the corpus and building the models…"): HTMLElement {
  const text = status === "preparing" ? preparing : status === "running" || status === "paused" ? progressText(progress) || "starting…" : "";
  return html`<p class="stlm-status stlm-progress" role="status" data-status=${status} data-done=${progress?.done ?? ""} data-eta=${progress?.etaMs !== undefined ? Math.round(progress.etaMs) : ""}>${text}</p>` as HTMLElement;
}
