// Abandoning a training step under way. A step's forward and backward pass run as
// one synchronous stretch of tfjs kernels, so a thread that trains cannot hear a
// message (Pause, Stop) until the step ends: on the pure-JS cpu backend a nano step
// takes seconds. `interruptible(check, f)` runs `f` with `check` asked before every
// kernel it dispatches; when `check` answers "pause" or "stop", the next kernel
// throws StepInterrupted instead of running. The caller (lib/train/trainer.ts)
// then restores what the step had changed (its RNG draws) and reports the step
// count it had, so the same step runs again later, bit for bit.
//
// What a throw leaves behind in tfjs 4.x's engine (tfjs-core/dist/engine.js):
// tidy(), gradients()'s startTape/endTape and runKernelFunc's kernelDepth all run
// through `scopedRun`, which ends its scope in a catch and rethrows, so the scope
// stack, the tape depth (gradientDepth) and kernelDepth unwind to what they were,
// and every tensor made in the abandoned scopes is disposed. What does not unwind:
// the tensors the tape saved for the backward pass (`saveTensorsForBackwardMode` and
// customGrad's `save` keep() them; gradients() disposes them only when the backward
// pass ends) and the tape itself (`state.activeTape`). `discardTape()` frees those.
// The check runs only at kernelDepth 0 (an op's own kernel, never a kernel inside a
// kernel or a customGrad's forward), so a throw always falls between two whole ops.
import { tf } from "../tf.js";

/** What an interrupt check asks for: nothing (null), or to pause or stop the run. */
export type InterruptRequest = "pause" | "stop";
export type InterruptCheck = () => InterruptRequest | null;
/** A run's interrupt flag as the code that trains sees it: the check, and `clear` (back to nothing asked) for a run that begins. */
export interface InterruptFlag {
  check: InterruptCheck;
  clear(): void;
}

/** Thrown by the kernel dispatch inside `interruptible` when its check asks for a pause or a stop. */
export class StepInterrupted extends Error {
  constructor(readonly request: InterruptRequest) {
    super(`the training step was interrupted (${request})`);
    this.name = "StepInterrupted";
  }
}

interface TapeNode {
  saved?: { dispose(): void }[];
}
interface EngineInternals {
  runKernelFunc(params: unknown): unknown;
  state: { kernelDepth: number; gradientDepth: number; activeTape: TapeNode[] | null };
}

/** The check of the `interruptible` call under way (null outside one). */
let active: InterruptCheck | null = null;
/** The checks of `interruptibleWork` calls under way, each with how many calls hold it. */
const working = new Map<InterruptCheck, number>();
/** Kernels dispatched under the current `interruptible` call (for tests that interrupt after K kernels). */
let dispatched = 0;
const hooked = new WeakSet<object>();

function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/** Wraps the engine's kernel dispatch once: every op (forward, gradient, custom gradient) goes through runKernelFunc. */
function hook(): void {
  const e = engine();
  if (hooked.has(e)) return;
  const original = e.runKernelFunc;
  if (typeof original !== "function" || typeof e.state?.kernelDepth !== "number") {
    throw new Error("this TensorFlow.js engine has no runKernelFunc/state.kernelDepth: the step interrupt (lib/train/interrupt.ts) supports tfjs-core 4.x");
  }
  e.runKernelFunc = function (this: EngineInternals, params: unknown) {
    if (this.state.kernelDepth === 0) {
      if (active !== null) {
        dispatched += 1;
        const asked = active();
        if (asked !== null) throw new StepInterrupted(asked);
      }
      for (const check of working.keys()) {
        const asked = check();
        if (asked !== null) throw new StepInterrupted(asked);
      }
    }
    return original.call(this, params);
  };
  hooked.add(e);
}

/**
 * Runs `f` (a step's forward and backward pass, e.g. tf.variableGrads) so that
 * `check` is asked before each of its kernels; a "pause" or "stop" answer throws
 * StepInterrupted from the next kernel, after the tape `f` started is freed. Call
 * it inside the step's tf.tidy, which frees the rest. Never around an optimizer's
 * update: that must apply to every weight or to none.
 */
export function interruptible<T>(check: InterruptCheck, f: () => T): T {
  hook();
  const outer = active;
  const outerCount = dispatched;
  active = check;
  dispatched = 0;
  try {
    return f();
  } catch (e) {
    if (e instanceof StepInterrupted) discardTape();
    throw e;
  } finally {
    active = outer;
    dispatched = outerCount;
  }
}

/**
 * Runs asynchronous work (an evaluation, a training snapshot: each a series of
 * forward passes, with a read-back between them) so that `check` is asked before
 * every top-level kernel until the work settles; a "pause" or "stop" answer throws
 * StepInterrupted from the next kernel, and the work's promise rejects with it.
 * Only for work that holds no tensor across an await outside a tf.tidy (the lab's
 * evaluation, sampling and tracing: each forward pass is a tidy, then a read, then
 * a dispose), so that the throw, which lands inside a tidy, leaves nothing behind;
 * and only for work with no gradient tape (training steps use `interruptible`).
 * Kernels of other work that runs in the same thread meanwhile (between the work's
 * awaits) are checked too: the caller's flag must be one that only its own run sets.
 */
export async function interruptibleWork<T>(check: InterruptCheck, f: () => Promise<T>): Promise<T> {
  hook();
  working.set(check, (working.get(check) ?? 0) + 1);
  try {
    return await f();
  } finally {
    const n = (working.get(check) ?? 1) - 1;
    if (n > 0) working.set(check, n);
    else working.delete(check);
  }
}

/**
 * Runs `f` (work that is not a run's: a page's sample, attention map or chunk cuts)
 * again when it failed with StepInterrupted, which it does when a run's
 * interruptibleWork was under way beside it as that run's flag asked for a pause or
 * a stop: the run abandons its work at its next kernel and waits, so a few tries
 * later `f` runs clear of it. Gives up after `tries` (the error then passes on).
 */
export async function clearOfInterrupts<T>(f: () => Promise<T>, tries = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof StepInterrupted) || i >= tries) throw e;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Kernels dispatched so far by the innermost `interruptible` call under way (0 outside one). */
export function kernelsDispatched(): number {
  return active === null ? 0 : dispatched;
}

/**
 * Frees what an abandoned gradient computation left on the engine: the tensors its
 * tape saved for the backward pass, and the tape. Only at gradient depth 0 (no
 * outer gradient is recording: a nested one's tape belongs to its caller).
 */
export function discardTape(): void {
  const state = engine().state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
