// A persistent pool of threads for the lab's wasm kernels (lib/wasm/simd.ts), all
// working in one shared WebAssembly.Memory: tfjs's heap, made shared in Node by
// lib/threads/shared-heap.ts, and the threaded build's own memory in a
// cross-origin-isolated browser. Threads start once; a task is handed out through
// a control block of Atomics (lib/threads/tasks.ts), and the calling thread works
// on it too, then waits at the barrier until every chunk is done.
//
// One thread (no workers) runs the same chunks on the calling thread, so results
// do not depend on the thread count (see tasks.ts).
import { CTRL, runChunks, workerSource, type TaskExports } from "./tasks.js";

/** A worker as the pool needs it: Node's worker_threads and the browser's Worker both fit behind this. */
export interface PoolWorker {
  postMessage(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  onError(listener: (error: unknown) => void): void;
  terminate(): void;
}

/** Starts one worker from source text (lib/node/threads.ts for Node, lib/threads/web.ts for browsers). */
export interface WorkerHost {
  kind: "node" | "web";
  spawn(source: string): PoolWorker;
  /** Can the calling thread block in Atomics.wait? (Not on a browser page's main thread.) */
  canWait: boolean;
}

export interface TaskStats {
  task: string;
  calls: number;
  /** Wall time on the calling thread, from handing the task out to the last chunk done. */
  ms: number;
  /** Of which waiting at the barrier after the calling thread's own chunks. */
  waitMs: number;
}

/**
 * How long the calling thread spins at the barrier before it sleeps in Atomics.wait
 * (the workers spin as long between tasks): a chunk takes well under a millisecond,
 * and on a busy machine waking a sleeping thread can take the scheduler longer than
 * that. Spinning 2 ms rather than about 2,000 loads took micro's 2-thread step from
 * 1.50-1.62x to 1.63-1.69x the 1-thread one (stlm bench, alternating runs). A
 * browser page's main thread cannot wait at all and always spins.
 */
const SPIN_MS = 2;

function newControlBlock(): ArrayBuffer | SharedArrayBuffer {
  return typeof SharedArrayBuffer !== "undefined" ? new SharedArrayBuffer(CTRL.bytes) : new ArrayBuffer(CTRL.bytes);
}

const TASK_NAMES = ["", "gemm", "rmsNorm", "rmsNormGrad", "siluMulGrad", "softmaxStats", "expGrad", "adamW", "binary", "sigmoid", "softmax", "rowSum", "copyRuns", "attnSoftmax", "attnSoftmaxGrad", "rotary"];

export class KernelPool {
  private ctrl!: Int32Array;
  private fl!: Float32Array;
  private busy!: Float64Array;
  private workers: PoolWorker[] = [];
  private canWait = true;
  private gen = 0;
  private readonly stats = new Map<number, { calls: number; ms: number; waitMs: number }>();
  private profiling = false;

  constructor(
    private readonly ex: TaskExports,
    private readonly memory: WebAssembly.Memory,
    private readonly moduleBytes: Uint8Array,
    private readonly alloc: (bytes: number) => number,
    private readonly free: (ptr: number) => void
  ) {
    this.attach(newControlBlock());
  }

  private attach(control: ArrayBufferLike): void {
    this.ctrl = new Int32Array(control);
    this.fl = new Float32Array(control);
    this.busy = new Float64Array(control);
  }

  /** Threads that work on a task: the calling one and the workers. */
  get threads(): number {
    return 1 + this.workers.length;
  }

  /** Can this memory be shared with workers at all? */
  get shareable(): boolean {
    return typeof SharedArrayBuffer !== "undefined" && this.memory.buffer instanceof SharedArrayBuffer;
  }

  /**
   * Use `threads` threads in all (the calling one included): stops the workers
   * there are and starts new ones, resolved when every one is ready.
   */
  async setThreads(threads: number, host: WorkerHost | null): Promise<void> {
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= CTRL.maxThreads)) throw new RangeError(`threads must be a whole number from 1 to ${CTRL.maxThreads} (got ${threads})`);
    this.stopWorkers();
    if (threads === 1) return;
    if (!host) throw new Error("more than one thread needs a worker host (worker_threads in Node, Web Workers in a browser)");
    if (!this.shareable) throw new Error("more than one thread needs the wasm memory to be shared (a SharedArrayBuffer): in a browser, serve the page cross-origin isolated");
    this.canWait = host.canWait;
    const source = workerSource(host.kind);
    const started: Promise<void>[] = [];
    const workers: PoolWorker[] = [];
    for (let t = 1; t < threads; t++) {
      const w = host.spawn(source);
      workers.push(w);
      started.push(
        new Promise<void>((resolve, reject) => {
          w.onMessage((m) => {
            const msg = m as { ready?: boolean; error?: string };
            if (msg.ready) resolve();
            else if (msg.error) reject(new Error(`kernel thread ${t}: ${msg.error}`));
          });
          w.onError((e) => reject(new Error(`kernel thread ${t}: ${(e as Error).message ?? e}`)));
        })
      );
      w.postMessage({ memory: this.memory, bytes: this.moduleBytes, control: this.ctrl.buffer, index: t });
    }
    try {
      await Promise.all(started);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    this.workers = workers;
  }

  /** Stop every worker (the calling thread carries on alone). */
  stopWorkers(): void {
    if (this.workers.length === 0) return;
    const old = this.ctrl;
    Atomics.store(old, CTRL.stop, 1);
    Atomics.add(old, CTRL.gen, 1);
    Atomics.notify(old, CTRL.gen);
    for (const w of this.workers) w.terminate();
    this.workers = [];
    // terminate() does not wait: a worker may run on for a moment (a browser stops it when it next checks). Had
    // the stop flag been cleared for the next workers, such a worker would go back to claiming chunks beside the
    // new one of its index, both packing into that index's scratch. So the old block keeps its stop flag for good,
    // and the next workers get a block of their own (the scratch table copied over).
    const fresh = new Int32Array(newControlBlock());
    fresh.set(old);
    Atomics.store(fresh, CTRL.stop, 0);
    this.attach(fresh.buffer);
    this.gen = Atomics.load(fresh, CTRL.gen);
  }

  /** Make sure each thread's scratch space (packed panels of a product) holds `bytes`. */
  ensureScratch(bytes: number): void {
    for (let t = 0; t < this.threads; t++) {
      const at = CTRL.scratch + 2 * t;
      if (this.ctrl[at + 1] >= bytes) continue;
      if (this.ctrl[at]) this.free(this.ctrl[at]);
      const size = Math.max(bytes, Math.ceil(this.ctrl[at + 1] * 1.5));
      const ptr = this.alloc(size);
      if (!ptr) throw new Error(`kernel threads: could not allocate ${size} bytes of scratch memory`);
      this.ctrl[at] = ptr;
      this.ctrl[at + 1] = size;
    }
  }

  /**
   * Run one task of `chunks` chunks: `args(ints, floats)` writes its arguments at
   * CTRL.args / CTRL.fargs. With one chunk, or no workers, the calling thread runs
   * it alone.
   */
  run(kind: number, chunks: number, args: (ints: Int32Array, floats: Float32Array) => void): void {
    if (chunks < 1) return;
    if (chunks > 0xfffe) throw new RangeError(`kernel threads: a task of ${chunks} chunks is more than one control block can count`);
    const ctrl = this.ctrl;
    const t0 = this.profiling ? performance.now() : 0;
    // Close the previous task to late claimers, then publish this one (see CTRL.next).
    const gen = (this.gen + 1) & 0x7fffffff;
    Atomics.store(ctrl, CTRL.next, ((gen & 0x7fff) << 16) | 0xffff);
    ctrl[CTRL.kind] = kind;
    args(ctrl, this.fl);
    Atomics.store(ctrl, CTRL.chunks, chunks);
    Atomics.store(ctrl, CTRL.done, 0);
    Atomics.store(ctrl, CTRL.error, 0);
    Atomics.store(ctrl, CTRL.next, (gen & 0x7fff) << 16);
    this.gen = gen;
    const shared = chunks > 1 && this.workers.length > 0;
    if (shared) {
      Atomics.store(ctrl, CTRL.gen, gen);
      Atomics.notify(ctrl, CTRL.gen);
    }
    const mine = runChunks(this.ex, ctrl, this.fl, 0, gen);
    let done = Atomics.add(ctrl, CTRL.done, mine) + mine;
    const t1 = this.profiling ? performance.now() : 0;
    if (done < chunks) {
      let spins = 0;
      let from = 0;
      while ((done = Atomics.load(ctrl, CTRL.done)) < chunks) {
        if (!this.canWait || (++spins & 255) !== 0) continue;
        from ||= performance.now();
        if (performance.now() - from > SPIN_MS) Atomics.wait(ctrl, CTRL.done, done, 1);
      }
    }
    if (this.profiling) {
      const t2 = performance.now();
      const s = this.stats.get(kind) ?? { calls: 0, ms: 0, waitMs: 0 };
      s.calls++;
      s.ms += t2 - t0;
      s.waitMs += t2 - t1;
      this.stats.set(kind, s);
    }
    if (Atomics.load(ctrl, CTRL.error)) throw new Error(`kernel threads: a chunk of a ${TASK_NAMES[kind]} task failed (out-of-bounds memory access?)`);
  }

  /** Start counting time per task (and each thread's busy time) from zero. */
  startProfile(): void {
    this.stats.clear();
    this.busy.fill(0, CTRL.busy, CTRL.busy + CTRL.maxThreads);
    this.profiling = true;
  }

  /** Milliseconds of task time (the calling thread's wall time in run()) since startProfile, all tasks together. */
  profiledMs(): number {
    let ms = 0;
    for (const s of this.stats.values()) ms += s.ms;
    return ms;
  }

  /** The counts since startProfile, and each worker's busy milliseconds (index 0: the calling thread, not measured). */
  stopProfile(): { tasks: TaskStats[]; workerBusyMs: number[] } {
    this.profiling = false;
    const tasks = [...this.stats].map(([k, s]) => ({ task: TASK_NAMES[k], calls: s.calls, ms: s.ms, waitMs: s.waitMs })).sort((a, b) => b.ms - a.ms);
    return { tasks, workerBusyMs: Array.from({ length: this.workers.length }, (_, i) => this.busy[CTRL.busy + 1 + i]) };
  }

  dispose(): void {
    this.stopWorkers();
    for (let t = 0; t < CTRL.maxThreads; t++) {
      const at = CTRL.scratch + 2 * t;
      if (this.ctrl[at]) this.free(this.ctrl[at]);
      this.ctrl[at] = 0;
      this.ctrl[at + 1] = 0;
    }
  }
}
