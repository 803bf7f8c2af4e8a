// The numbers beside the loss chart: progress, speed, time, size, backend, and the
// settings the run was given (its own train config: what it used, not what the boxes say now).
// Speed is in training bytes per second, the lab's one unit of speed on every page:
// the bytes of text a step reads (batch x context) over the step's time. For these byte
// models a token is a byte, so the trainer's tokensPerSecond is that number.
import { html } from "htl";
import { formatCount, formatDuration } from "./format.js";
import type { RunSnapshot } from "./live-run.js";

export interface RunStatsOptions {
  backend: string;
  /** Steps the run is asked to take (the snapshot's train config wins when present). */
  totalSteps?: number;
}

export function RunStats(run: RunSnapshot, { backend, totalSteps }: RunStatsOptions): HTMLElement {
  const last = run.steps.at(-1);
  const total = run.train?.steps ?? totalSteps;
  const val = run.evals.at(-1);
  const item = (label: string, value: string, key: string) => html`<div><dt>${label}</dt><dd data-stat=${key}>${value}</dd></div>`;
  return html`<dl class="stlm-stats" data-status=${run.status}>
    ${item("status", run.status, "status")}
    ${item("step", last ? `${last.step}${total ? ` / ${total}` : ""}` : "–", "step")}
    ${item("learning rate", run.train ? String(run.train.learningRate) : "–", "learning-rate")}
    ${item("seed", run.train ? String(run.train.seed) : "–", "seed")}
    ${item("train loss", last ? `${(last.loss / Math.LN2).toFixed(3)} bpb` : "–", "loss")}
    ${item("val bits/byte", val ? val.valBitsPerByte.toFixed(3) : "–", "val")}
    ${item("bytes/s", last ? formatCount(last.tokensPerSecond) : "–", "bytes-per-second")}
    ${item("elapsed", formatDuration(last?.elapsedMs), "elapsed")}
    ${item("ETA", run.status === "running" || run.status === "paused" ? formatDuration(run.etaMs) : "–", "eta")}
    ${item("parameters", run.parameterCount ? formatCount(run.parameterCount) : "–", "parameters")}
    ${item("tensors in memory", run.tensors !== undefined ? String(run.tensors) : "–", "tensors")}
    ${item("backend", backend, "backend")}
  </dl>` as HTMLElement;
}
