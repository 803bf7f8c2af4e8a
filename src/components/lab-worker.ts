// The training worker: a dedicated module worker, one per page, that owns
// TensorFlow.js (the bundled tfjs, the lab's kernel overrides and wasm binaries, via
// runtime.ts), every model and trainer the page runs, and answers the commands of
// lab-protocol.ts. The page's thread only draws. Started by lab-client.ts.
import { describeBackend, initTf } from "./runtime.js";
import { errorMessage, interruptHandle, SnapshotEncoder, transferables, validateCommand, type Command, type CommandReplies, type WorkerEvent } from "./lab-protocol.js";
import { ENGINES, type Engine } from "./lab-engines.js";
import { benchInWorker, checkBackendInWorker, checkThreadsInWorker } from "./lab-bench.js";
import { clearOfInterrupts } from "../lib/train/interrupt.js";

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  addEventListener(type: "unhandledrejection", listener: (e: { reason: unknown }) => void): void;
}
const scope = globalThis as unknown as WorkerScope;
const post = (event: WorkerEvent, transfer: Transferable[] = []) => scope.postMessage(event, transfer);

const jobs = new Map<number, { engine: Engine; unsubscribe: () => void }>();
/** Evaluations under way, "job:evaluation" → their cancel. */
const evaluations = new Map<string, AbortController>();
const busy = new Map<string, number>();

function setBusy(task: string, delta: number): void {
  const n = (busy.get(task) ?? 0) + delta;
  if (n > 0) busy.set(task, n);
  else busy.delete(task);
  post({ type: "busy", tasks: [...busy.keys()] });
}

/** Runs `work` with `task` shown as what the worker is busy with. */
async function busyWith<T>(task: string, work: () => Promise<T> | T): Promise<T> {
  setBusy(task, 1);
  try {
    return await work();
  } finally {
    setBusy(task, -1);
  }
}

function job(id: number): Engine {
  const j = jobs.get(id);
  if (!j) throw new Error(`no run ${id} in the training worker (it was disposed, or the page re-ran the cell that made it)`);
  return j.engine;
}

async function disposeJob(id: number): Promise<void> {
  const j = jobs.get(id);
  if (!j) return;
  jobs.delete(id);
  for (const [key, c] of evaluations) if (key.startsWith(`${id}:`)) c.abort(new Error("the run was closed"));
  j.unsubscribe();
  await j.engine.dispose();
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.type) {
    case "setBackend":
      return busyWith(`starting the ${cmd.prefer} backend`, async () => {
        // Models and trainers live on the backend that made them: a switch ends them first.
        await Promise.all([...jobs.keys()].map(disposeJob));
        const info = await initTf({ prefer: cmd.prefer });
        const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
        return { ...info, description: describeBackend(info), isolated } satisfies CommandReplies["setBackend"];
      });
    case "create": {
      await disposeJob(cmd.job);
      const make = ENGINES[cmd.engine];
      const engine = make(cmd.options ?? {}, busyWith, cmd.interrupt ? interruptHandle(cmd.interrupt) : undefined);
      // Each snapshot goes as a patch against the last one this job posted (lab-protocol.ts).
      const encoder = new SnapshotEncoder();
      const offSnapshots = engine.subscribe((snapshot) => post({ type: "snapshot", job: cmd.job, patch: encoder.encode(snapshot) }));
      const offTraining = engine.trainingSnapshots?.((snapshot, runNumber) => post({ type: "training-snapshot", job: cmd.job, runNumber, snapshot }));
      jobs.set(cmd.job, { engine, unsubscribe: () => (offSnapshots(), offTraining?.()) });
      return null;
    }
    case "start":
      await job(cmd.job).start(cmd.request);
      return null;
    case "pause":
      job(cmd.job).pause?.();
      return null;
    case "resume":
      job(cmd.job).resume?.();
      return null;
    case "stop":
      job(cmd.job).stop();
      return null;
    case "dispose":
      await disposeJob(cmd.job);
      return null;
    case "load": {
      const e = job(cmd.job);
      if (!e.load) throw new Error("this run cannot load checkpoints");
      return busyWith("loading the checkpoint", () => e.load!(cmd.bytes, cmd.label, { onlyIfIdle: cmd.onlyIfIdle ?? false }));
    }
    case "checkpoint": {
      const e = job(cmd.job);
      if (!e.checkpoint) throw new Error("this run has no checkpoint to save");
      return busyWith("writing the checkpoint", () => e.checkpoint!(cmd.meta ?? {}));
    }
    case "sample": {
      const e = job(cmd.job);
      if (!e.sample) throw new Error("this run cannot write text");
      return busyWith("writing with the model", () => clearOfInterrupts(() => e.sample!(cmd.prompt, cmd.options ?? {})));
    }
    case "attention": {
      const e = job(cmd.job);
      if (!e.attention) throw new Error("this run has no attention to show");
      return busyWith("computing attention", () => clearOfInterrupts(() => e.attention!(cmd.text)));
    }
    case "evaluate": {
      const e = job(cmd.job);
      if (!e.evaluate) throw new Error("this run has no model to evaluate");
      const key = `${cmd.job}:${cmd.evaluation}`;
      const controller = new AbortController();
      evaluations.set(key, controller);
      try {
        return await busyWith("evaluating the model", () =>
          e.evaluate!(cmd.size, cmd.data, {
            signal: controller.signal,
            onProgress: (progress) => post({ type: "evalProgress", job: cmd.job, evaluation: cmd.evaluation, progress })
          })
        );
      } finally {
        evaluations.delete(key);
      }
    }
    case "loadModel": {
      const e = job(cmd.job);
      if (!e.loadModel) throw new Error("this run holds no checkpoint models");
      return busyWith(`loading ${cmd.label}`, () => e.loadModel!(cmd.slot, cmd.bytes, cmd.label));
    }
    case "speculative": {
      const e = job(cmd.job);
      if (!e.speculative) throw new Error("this run has no multi-byte model to sample from");
      return busyWith("sampling plainly and speculatively", () => clearOfInterrupts(() => e.speculative!(cmd.prompt, cmd.options ?? {})));
    }
    case "disagreements": {
      const e = job(cmd.job);
      if (!e.disagreements) throw new Error("this run has no teacher and student to compare");
      return busyWith("comparing the teacher's and the student's predictions", () => clearOfInterrupts(() => e.disagreements!(cmd.text)));
    }
    case "move": {
      const e = job(cmd.job);
      if (!e.move) throw new Error("this run has no player");
      return busyWith("the model is choosing its move", () => clearOfInterrupts(() => e.move!(cmd.model, cmd.prompt, cmd.maxBytes, cmd.end ?? null)));
    }
    case "chunks": {
      const e = job(cmd.job);
      if (!e.chunks) throw new Error("this run cannot cut text into chunks");
      return busyWith("cutting the text into chunks", () => clearOfInterrupts(() => e.chunks!(cmd.bytes, cmd.train)));
    }
    case "cancelEvaluate":
      evaluations.get(`${cmd.job}:${cmd.evaluation}`)?.abort(new Error("the evaluation was cancelled"));
      return null;
    case "bench":
      return busyWith("timing training steps", () => benchInWorker(cmd.request, (progress) => post({ type: "benchProgress", id: cmd.id, progress })));
    case "checkThreads":
      return busyWith("checking the threads", () => checkThreadsInWorker(cmd.steps));
    case "checkBackend":
      return busyWith(`checking the backend against ${cmd.reference}`, () => checkBackendInWorker(cmd.reference));
    case "call": {
      const e = job(cmd.job);
      if (!e.call) throw new Error(`this run has no method "${cmd.method}"`);
      return clearOfInterrupts(() => e.call!(cmd.method, cmd.args));
    }
  }
}

scope.addEventListener("message", (e) => {
  let cmd: Command;
  try {
    cmd = validateCommand(e.data);
  } catch (err) {
    const id = (e.data as { id?: unknown } | null)?.id;
    if (Number.isInteger(id)) post({ type: "reply", id: id as number, ok: false, error: errorMessage(err) });
    else post({ type: "error", message: errorMessage(err) });
    return;
  }
  handle(cmd).then(
    (value) => post({ type: "reply", id: cmd.id, ok: true, value: value ?? null }, transferables(value)),
    (err) => post({ type: "reply", id: cmd.id, ok: false, error: errorMessage(err) })
  );
});

scope.addEventListener("unhandledrejection", (e) => post({ type: "error", message: errorMessage(e.reason) }));

post({ type: "ready" });
