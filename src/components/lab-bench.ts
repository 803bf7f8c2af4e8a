// The bench page's work, run in the lab's worker (lab-worker.ts) so that it times,
// and checks, the very tfjs and kernel threads the pages train on: the benchmark at
// 1 thread and at every thread, the check that more threads change no bit, and the
// check of the backend against a reference. Runs only in the worker.
import { BENCH_PRESETS, runBench } from "../lib/eval/bench.js";
import { checkThreads, type ThreadCheck } from "../lib/eval/thread-check.js";
import { compareBackends, type BackendAgreement } from "../lib/eval/verify.js";
import { setMatMulEngine } from "../lib/kernels.js";
import { currentBackend, setLabThreads } from "./runtime.js";
import type { BenchProgress, BenchReply, BenchRequest } from "./lab-protocol.js";

// One at a time: a page that asks again (a setting changed mid-run) waits for the run before,
// rather than interleaving two timings and their thread counts.
let queue: Promise<unknown> = Promise.resolve();
function serially<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => undefined);
  return next;
}

async function backendNow() {
  const info = currentBackend();
  if (!info) throw new Error("the worker has no backend yet: the page must choose one (setBackend) first");
  return info;
}

/** Times `request` at 1 thread (when asked and there are more) and at every thread; the kernels end on every thread. */
export function benchInWorker(request: BenchRequest, onProgress: (p: BenchProgress) => void): Promise<BenchReply> {
  return serially(() => bench(request, onProgress));
}

async function bench(request: BenchRequest, onProgress: (p: BenchProgress) => void): Promise<BenchReply> {
  if (!BENCH_PRESETS.includes(request.preset)) throw new Error(`unknown bench preset "${request.preset}"; choose one of ${BENCH_PRESETS.join(", ")}`);
  if (!(Number.isInteger(request.steps) && request.steps >= 1)) throw new Error(`the timed steps must be a whole number of at least 1 (got ${request.steps})`);
  const backend = await backendNow();
  const all = backend.kernelThreads;
  const counts = request.compareThreads && all > 1 ? [1, all] : [all];
  const byThreads: BenchReply["byThreads"] = [];
  let r;
  // The engine is chosen for this run only; the lab's kernel is the default everywhere else.
  setMatMulEngine(request.matmul);
  try {
    for (const t of counts) {
      const used = await setLabThreads(t);
      r = await runBench({
        preset: request.preset,
        steps: request.steps,
        warmup: 2,
        profile: request.profile && t === all,
        onStep: (step, total) => onProgress({ threads: used, step, total })
      });
      byThreads.push({ threads: used, tokensPerSecond: r.tokensPerSecond });
    }
  } finally {
    setMatMulEngine("gemm");
    await setLabThreads(all);
  }
  return { ...r!, kernelThreads: byThreads[byThreads.length - 1].threads, byThreads };
}

/** Trains nano `steps` steps at 1 thread and at every thread the worker has, and compares every bit. */
export function checkThreadsInWorker(steps: number): Promise<ThreadCheck> {
  return serially(async () => {
    const backend = await backendNow();
    if (backend.name !== "wasm" || backend.kernelThreads <= 1) throw new Error("the lab's kernels run on one thread here, so there is nothing to compare");
    return checkThreads(setLabThreads, backend.kernelThreads, { steps });
  });
}

/** One training step on the worker's backend against `reference`; the worker's backend is chosen again after. */
export function checkBackendInWorker(reference: "wasm" | "cpu"): Promise<BackendAgreement> {
  return serially(async () => {
    const backend = await backendNow();
    try {
      return await compareBackends(backend.name, { reference, loadWebGpu: () => import("../vendor/tfjs-webgpu.js") });
    } finally {
      // compareBackends ends on the candidate backend, which is the worker's; its kernel threads as they were.
      if (backend.name === "wasm") await setLabThreads(backend.kernelThreads);
    }
  });
}
