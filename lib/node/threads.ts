// Node's worker_threads as a host for the lab's kernel threads (lib/threads/pool.ts).
import os from "node:os";
import { Worker } from "node:worker_threads";
import type { PoolWorker, WorkerHost } from "../threads/pool.js";

export const nodeWorkerHost: WorkerHost = {
  kind: "node",
  canWait: true,
  spawn(source: string): PoolWorker {
    const w = new Worker(source, { eval: true });
    // A worker blocked waiting for work must not keep the process alive.
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (listener) => void w.on("message", listener),
      onError: (listener) => void w.on("error", listener),
      terminate: () => void w.terminate()
    };
  }
};

/** Every core this process may use. */
export function availableCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}
