// Small pure helpers of the training page, kept out of the Markdown so they are typed
// and unit-tested: the thread hint, the precomputed run's own backend, and whether a
// live run is the precomputed run's setup (so its curve is a fair reference).
import type { BackendInfo } from "../lib/backend.js";

/** Why wasm runs on one thread, or "" when it does not. An isolated page is never told to serve itself isolated. */
export function threadHint(info: Pick<BackendInfo, "name" | "threads"> & { kernelThreads?: number }, isolated = globalThis.crossOriginIsolated === true, cores = globalThis.navigator?.hardwareConcurrency): string {
  if (info.name !== "wasm" || Math.max(info.threads, info.kernelThreads ?? 1) > 1) return "";
  if (!isolated) return "WebAssembly runs on more than one thread only when the site is served cross-origin isolated (npm run serve does; npm run dev's preview cannot).";
  return `This page is cross-origin isolated, yet the wasm backend started one thread${cores ? ` (this browser reports ${cores} logical core${cores === 1 ? "" : "s"})` : ""}.`;
}

/** The backend a precomputed run was trained on, from its summary: "wasm (SIMD, 1 thread) in Node". */
export function precomputedBackend(summary: { backend?: Partial<BackendInfo> & { name?: string } } | undefined): string {
  const b = summary?.backend;
  if (!b?.name) return "Node (backend not recorded)";
  const details: string[] = [];
  if (b.name === "wasm") {
    if (b.simd) details.push("SIMD");
    details.push((b.threads ?? 1) > 1 ? `${b.threads} threads` : "1 thread");
  }
  return `${b.name}${details.length ? ` (${details.join(", ")})` : ""} in Node`;
}

/** A live run's label is "PRESET on CORPUS" (components/live-run.ts); the precomputed run is a fair reference only for the same pair. */
export function sameSetup(run: { label?: string }, setup: string): boolean {
  return !!setup && run.label === setup;
}

