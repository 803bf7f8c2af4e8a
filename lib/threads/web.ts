// Web Workers as a host for the lab's kernel threads (lib/threads/pool.ts), for a
// cross-origin-isolated page: there the wasm backend runs tfjs's threaded build,
// whose memory is a shared WebAssembly.Memory, and each worker instantiates the
// lab's kernels over that same memory. Not isolated, there is no SharedArrayBuffer
// and the kernels stay on one thread (webKernelThreads says 1).
import type { PoolWorker, WorkerHost } from "./pool.js";
import { CTRL } from "./tasks.js";

interface WebWorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(type: "error", listener: (e: { message?: string }) => void): void;
  terminate(): void;
}
type WorkerConstructor = new (url: string, options?: { type?: "classic" | "module"; name?: string }) => WebWorkerLike;

/** Starts each kernel thread as a classic Web Worker from the pool's source text (a blob: URL, nothing fetched). */
export const webWorkerHost: WorkerHost = {
  kind: "web",
  // A worker may block in Atomics.wait; a page's main thread may not (the pool spins there instead).
  canWait: typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined",
  spawn(source: string): PoolWorker {
    const Ctor = (globalThis as { Worker?: WorkerConstructor }).Worker;
    if (!Ctor) throw new Error("this browser context cannot start Web Workers, so the kernels run on one thread");
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const w = new Ctor(url, { name: "stlm kernel thread" });
    // The worker has read its script once it answers; the URL is not needed after that.
    let revoked = false;
    const revoke = () => {
      if (!revoked) URL.revokeObjectURL(url);
      revoked = true;
    };
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (listener) => w.addEventListener("message", (e) => (revoke(), listener(e.data))),
      onError: (listener) => w.addEventListener("error", (e) => (revoke(), listener(new Error(e.message ?? "the kernel thread failed to start")))),
      terminate: () => (revoke(), w.terminate())
    };
  }
};

/**
 * The kernel threads this browser context allows: every logical core the browser
 * reports (navigator.hardwareConcurrency, not tfjs's halved cap) where the context is
 * cross-origin isolated and can start workers; else 1.
 */
export function webKernelThreads(): number {
  const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown; Worker?: unknown; navigator?: { hardwareConcurrency?: number } };
  if (g.crossOriginIsolated !== true || typeof g.SharedArrayBuffer === "undefined" || typeof g.Worker === "undefined") return 1;
  const cores = g.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(CTRL.maxThreads, Math.floor(cores)));
}
