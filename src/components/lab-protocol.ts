// The one protocol between a page and its training worker (lab-worker.ts).
//
// The page sends commands; the worker owns tfjs, the lab's wasm kernels, every model
// and trainer, and answers each command with one reply, and streams events: the
// plain snapshots a run's charts draw (arrays of numbers, never tensors), what the
// worker is busy with, and the backend it computes on. Structured clone carries
// everything; nothing here touches the DOM, so the worker imports it too.
//
// A run's snapshots travel as patches against the one posted before (SnapshotEncoder,
// applyPatch below): a list that only grew sends its new items, so a run's thousands of
// step points cross once each instead of being cloned whole every 150 ms (the page's
// garbage collector spent 100-140 ms per 12 s on those copies). A run's training
// snapshots (lib/train/snapshots.ts, the training scrubber) travel as
// "training-snapshot" events, each once. New commands are added by the same rules:
// a command kind in COMMAND_FIELDS, its reply type in CommandReplies. The
// evaluation view's `evaluate` (with `evalProgress` events and `cancelEvaluate`) was
// added so, and so were the inspecting commands (loadModel, speculative, disagreements,
// move, chunks) that keep the pages' own model work off the page's thread.
import type { BackendInfo, BackendPreference } from "../lib/backend.js";
import type { InterruptFlag } from "../lib/train/interrupt.js";
import type { AttentionMaps } from "../lib/eval/sample.js";
import { checkSnapshot, type Snapshot } from "../lib/train/snapshots.js";
import type { EvalData, EvalProgress, EvalReport, EvalSize } from "../lib/eval/evaluation.js";
import type { SpeculativeMeasurement } from "../lib/eval/speculative.js";
import type { ByteDisagreement } from "../lib/experiments/distill.js";
import type { BenchResult } from "../lib/eval/bench.js";
import type { ThreadCheck } from "../lib/eval/thread-check.js";
import type { BackendAgreement } from "../lib/eval/verify.js";

/** What a page can run in the worker: one engine per kind, each with its request and snapshot. */
export type EngineKind = "train" | "sharing" | "objectives" | "tokenizer-free" | "pair" | "selfplay" | "eval" | "recheck";
export const ENGINE_KINDS: readonly EngineKind[] = ["train", "sharing", "objectives", "tokenizer-free", "pair", "selfplay", "eval", "recheck"];

/** Bytes of a named corpus file (gzip JSON Lines), or a reader's own text. */
export type CorpusSource = { kind: "named"; name: string; bytes: ArrayBuffer } | { kind: "text"; name: string; text: string };

/** Which model wrote a text or drew a map, so a page can say so. */
export interface ModelIdentity {
  label: string;
  /** The training step the weights are from, when known. */
  step?: number;
  /** The engine's model version (grows at every evaluation, end of run and load). */
  version: number;
}

export interface WrittenText {
  prompt: string;
  text: string;
  model: ModelIdentity;
}

export interface DrawnAttention extends AttentionMaps {
  model: ModelIdentity;
}

export interface SampleOptions {
  tokens?: number;
  temperature?: number;
  topK?: number;
  seed?: number;
}

/** Every command, by type. `id` pairs it with its reply; `job` names an engine the page created. */
export type Command =
  | { id: number; type: "setBackend"; prefer: BackendPreference }
  /** `interrupt`: the job's Pause/Stop flag (interruptFlag below), where the page is cross-origin isolated. */
  | { id: number; type: "create"; job: number; engine: EngineKind; options?: Record<string, unknown>; interrupt?: SharedArrayBuffer }
  | { id: number; type: "start"; job: number; request: unknown }
  | { id: number; type: "pause"; job: number }
  | { id: number; type: "resume"; job: number }
  | { id: number; type: "stop"; job: number }
  | { id: number; type: "load"; job: number; bytes: Uint8Array; label: string; onlyIfIdle?: boolean }
  | { id: number; type: "checkpoint"; job: number; meta?: Record<string, unknown> }
  | { id: number; type: "sample"; job: number; prompt: string; options?: SampleOptions }
  | { id: number; type: "attention"; job: number; text: string }
  | { id: number; type: "call"; job: number; method: string; args: unknown[] }
  /** Evaluate the job's model on a subset (lib/eval/evaluation.ts); `data` goes with a job's first evaluation. `evaluation` names it for progress and cancel. */
  | { id: number; type: "evaluate"; job: number; evaluation: number; size: EvalSize; data?: EvalData }
  | { id: number; type: "cancelEvaluate"; job: number; evaluation: number }
  /** A checkpoint's model, held by the run under `slot` for the inspecting commands below (the objectives page's "mtp", the distillation page's "teacher" and "student", the self-play page's games). */
  | { id: number; type: "loadModel"; job: number; slot: string; bytes: Uint8Array; label: string }
  /** The objectives page's sampler: plain and self-speculative sampling from the run's multi-byte model (lib/eval/speculative.ts). */
  | { id: number; type: "speculative"; job: number; prompt: string; options?: SampleOptions }
  /** The distillation page's per-byte view: KL(teacher ‖ student) at each byte of a text (lib/experiments/distill.ts). */
  | { id: number; type: "disagreements"; job: number; text: string }
  /** The self-play page's "play the model": the named model's move, greedy, for a game's prompt (lib/models/moves.ts). `end` ends a move (none: maxBytes bytes). */
  | { id: number; type: "move"; job: number; model: string; prompt: Uint8Array; maxBytes: number; end?: number }
  /** The tokenizer-free page's cuts of a text: BPE, entropy and learned boundaries; `train` (the bytes the BPE and entropy model learn from) goes with the first. */
  | { id: number; type: "chunks"; job: number; bytes: Uint8Array; train?: Uint8Array }
  | { id: number; type: "dispose"; job: number }
  /** The bench page's benchmark (lib/eval/bench.ts) on the worker's backend and kernel threads; "benchProgress" events carry this command's id. */
  | { id: number; type: "bench"; request: BenchRequest }
  /** The bench page's check that the kernel threads change no bit: nano trained at 1 thread and at every thread the worker has (lib/eval/thread-check.ts). */
  | { id: number; type: "checkThreads"; steps: number }
  /** The bench page's check of the worker's backend against a reference backend (lib/eval/verify.ts); the worker's backend is restored after. */
  | { id: number; type: "checkBackend"; reference: "wasm" | "cpu" };

export type CommandType = Command["type"];

/** What each command's reply carries. */
export interface CommandReplies {
  /** The backend, described for the page, and whether the worker is cross-origin isolated (SharedArrayBuffer, wasm threads). */
  /** kernelThreads: the threads the lab's kernels run on in the worker (more than 1 only on wasm, cross-origin isolated). */
  /** fma: whether the matrix products use fused multiply-add (runtime.ts labFma; null on GPU backends). */
  setBackend: BackendInfo & { description: string; isolated: boolean; kernelThreads: number; fma: boolean | null };
  create: null;
  start: null;
  pause: null;
  resume: null;
  stop: null;
  load: boolean;
  checkpoint: Uint8Array;
  sample: WrittenText | null;
  attention: DrawnAttention | null;
  call: unknown;
  evaluate: EvalReply;
  cancelEvaluate: null;
  loadModel: ModelIdentity;
  speculative: SpeculativeReply;
  disagreements: DisagreementsReply | null;
  move: Uint8Array;
  chunks: ChunkCuts;
  dispose: null;
  bench: BenchReply;
  checkThreads: ThreadCheck;
  checkBackend: BackendAgreement;
}

/** What the bench page asks the worker to time. */
export interface BenchRequest {
  preset: string;
  /** Timed steps (after 2 warm-up steps). */
  steps: number;
  /** Time each kernel of one step (tf.profile) too. */
  profile: boolean;
  /** Which matrix products, for this run only: the lab's GEMM or tfjs's XNNPACK. */
  matmul: "gemm" | "xnnpack";
  /** Time 1 thread before every thread (when the worker has more than one). */
  compareThreads: boolean;
}

/** The benchmark at the worker's thread count, and tokens/s at each count timed (1 first when compared). */
export interface BenchReply extends BenchResult {
  kernelThreads: number;
  byThreads: { threads: number; tokensPerSecond: number }[];
}

/** Where a benchmark is: timed step `step` of `total` at `threads` threads. */
export interface BenchProgress {
  threads: number;
  step: number;
  total: number;
}

/** The sampler's two texts and what speculative sampling did, and which model wrote them. */
export interface SpeculativeReply extends SpeculativeMeasurement {
  model: ModelIdentity;
}

/** The per-byte view's numbers, and which student they compare with the teacher. */
export interface DisagreementsReply {
  /** "live": the student trained alone in this page's last run; "precomputed": the loaded one. */
  student: "live" | "precomputed";
  bytes: ByteDisagreement[];
}

/** A text's chunks [start, end) by the strategies that need a trained tokenizer or a model, made in the worker. */
export interface ChunkCuts {
  bpeVocab: number;
  bpe: [number, number][];
  entropy: [number, number][];
  /** Next-byte entropy in bits at each byte, and the threshold above which a chunk starts. */
  entropies: Float32Array;
  threshold: number;
  learned: [number, number][];
  /** Whether the learned boundaries come from a predictor the page's live run trained (else an untrained one). */
  learnedTrained: boolean;
}

/** An evaluation's report, and the worker's tensor count before and after it (the leak check). */
export interface EvalReply {
  report: EvalReport;
  tensors: { before: number; after: number };
}

/** Everything the worker posts. */
export type WorkerEvent =
  | { type: "ready" }
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: string }
  /** A run's snapshot, as a patch against the job's last one (SnapshotEncoder / applyPatch). */
  | { type: "snapshot"; job: number; patch: SnapshotPatch }
  /** One training snapshot (lib/train/snapshots.ts) of run `runNumber`, sent once; the run's snapshots then carry only their count. */
  | { type: "training-snapshot"; job: number; runNumber: number; snapshot: Snapshot }
  | { type: "evalProgress"; job: number; evaluation: number; progress: EvalProgress }
  /** A running "bench" command's progress; `id` is the command's. */
  | { type: "benchProgress"; id: number; progress: BenchProgress }
  | { type: "busy"; tasks: string[] }
  | { type: "error"; message: string };

/** A command whose fields are wrong: the message says which and what was expected. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/**
 * The page's Pause and Stop as a flag it shares with the worker: one Int32 in a
 * SharedArrayBuffer per job (only where the page is cross-origin isolated, the
 * one place SharedArrayBuffer exists). The page writes it at the press; the
 * worker's training step reads it between kernels (lib/train/interrupt.ts), since a
 * worker busy in a step hears no message until the step ends. The "pause", "resume"
 * and "stop" commands still go as messages: the flag only cuts the step short.
 * Every engine that trains reads it (the training page's run, the A/B runs, self-play,
 * evaluations): its steps, snapshots and evaluations stop at their next kernel.
 */
export const INTERRUPT_FLAG = { none: 0, pause: 1, stop: 2 } as const;

/** A new flag for a job, or null where SharedArrayBuffer is not available (a page not cross-origin isolated). */
export function interruptFlag(): Int32Array | null {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  return isolated && typeof SharedArrayBuffer === "function" ? new Int32Array(new SharedArrayBuffer(4)) : null;
}

/**
 * The worker's side: the check a Trainer asks between kernels, and `clear`, which a
 * run calls as it begins (once the run before it has ended): the page sets "stop"
 * when Run is pressed during a run, so that run's step ends at once, and leaves the
 * reset to the worker, which alone knows when the old run is over.
 */
export function interruptHandle(buffer: SharedArrayBuffer): InterruptFlag {
  const flag = new Int32Array(buffer, 0, 1);
  return {
    check: () => {
      const v = Atomics.load(flag, 0);
      return v === INTERRUPT_FLAG.pause ? "pause" : v === INTERRUPT_FLAG.stop ? "stop" : null;
    },
    clear: () => void Atomics.store(flag, 0, INTERRUPT_FLAG.none)
  };
}

type FieldCheck = "sab?" | "number" | "number?" | "positive" | "string" | "nonempty" | "bytes" | "bytes?" | "object" | "object?" | "boolean?" | "array" | "any" | "engine" | "backend" | "reference";

const COMMAND_FIELDS: Record<CommandType, Record<string, FieldCheck>> = {
  setBackend: { prefer: "backend" },
  create: { job: "number", engine: "engine", options: "object?", interrupt: "sab?" },
  start: { job: "number", request: "any" },
  pause: { job: "number" },
  resume: { job: "number" },
  stop: { job: "number" },
  load: { job: "number", bytes: "bytes", label: "string", onlyIfIdle: "boolean?" },
  checkpoint: { job: "number", meta: "object?" },
  sample: { job: "number", prompt: "string", options: "object?" },
  attention: { job: "number", text: "string" },
  call: { job: "number", method: "string", args: "array" },
  evaluate: { job: "number", evaluation: "number", size: "object", data: "object?" },
  cancelEvaluate: { job: "number", evaluation: "number" },
  loadModel: { job: "number", slot: "nonempty", bytes: "bytes", label: "string" },
  speculative: { job: "number", prompt: "string", options: "object?" },
  disagreements: { job: "number", text: "string" },
  move: { job: "number", model: "nonempty", prompt: "bytes", maxBytes: "positive", end: "number?" },
  chunks: { job: "number", bytes: "bytes", train: "bytes?" },
  dispose: { job: "number" },
  bench: { request: "object" },
  checkThreads: { steps: "positive" },
  checkBackend: { reference: "reference" }
};

const BACKENDS: readonly string[] = ["auto", "webgpu", "webgl", "wasm", "cpu"];

/** Checks a message the worker received; returns it typed, or throws a ProtocolError in words. */
export function validateCommand(message: unknown): Command {
  if (typeof message !== "object" || message === null) throw new ProtocolError(`a command must be an object, got ${describe(message)}`);
  const m = message as Record<string, unknown>;
  if (typeof m.type !== "string" || !(m.type in COMMAND_FIELDS)) {
    throw new ProtocolError(`unknown command type ${describe(m.type)}; expected one of: ${Object.keys(COMMAND_FIELDS).join(", ")}`);
  }
  if (!Number.isInteger(m.id)) throw new ProtocolError(`command "${m.type}" needs an integer id, got ${describe(m.id)}`);
  for (const [field, check] of Object.entries(COMMAND_FIELDS[m.type as CommandType])) {
    const v = m[field];
    const bad = (expected: string) => new ProtocolError(`command "${m.type}": ${field} must be ${expected}, got ${describe(v)}`);
    if (check === "number" && !Number.isInteger(v)) throw bad("an integer");
    if (check === "number?" && v !== undefined && !Number.isInteger(v)) throw bad("an integer when given");
    if (check === "positive" && !(Number.isInteger(v) && (v as number) > 0)) throw bad("a whole number above 0");
    if (check === "string" && typeof v !== "string") throw bad("a string");
    if (check === "nonempty" && (typeof v !== "string" || v === "")) throw bad("a name (a string that is not empty)");
    if (check === "bytes" && !(v instanceof Uint8Array)) throw bad("a Uint8Array");
    if (check === "bytes?" && v !== undefined && !(v instanceof Uint8Array)) throw bad("a Uint8Array when given");
    if (check === "array" && !Array.isArray(v)) throw bad("an array");
    if (check === "object?" && v !== undefined && (typeof v !== "object" || v === null || Array.isArray(v))) throw bad("an object when given");
    if (check === "object" && (typeof v !== "object" || v === null || Array.isArray(v))) throw bad("an object");
    if (check === "boolean?" && v !== undefined && typeof v !== "boolean") throw bad("true or false when given");
    if (check === "engine" && !ENGINE_KINDS.includes(v as EngineKind)) throw bad(`one of ${ENGINE_KINDS.join(", ")}`);
    if (check === "backend" && !BACKENDS.includes(v as string)) throw bad(`one of ${BACKENDS.join(", ")}`);
    if (check === "sab?" && v !== undefined && !(typeof SharedArrayBuffer === "function" && v instanceof SharedArrayBuffer)) throw bad("a SharedArrayBuffer when given");
    if (check === "reference" && v !== "wasm" && v !== "cpu") throw bad("wasm or cpu");
  }
  return m as unknown as Command;
}

/** Checks a message the page received from the worker. */
export function validateEvent(message: unknown): WorkerEvent {
  if (typeof message !== "object" || message === null) throw new ProtocolError(`a worker event must be an object, got ${describe(message)}`);
  const m = message as Record<string, unknown>;
  switch (m.type) {
    case "ready":
      return m as WorkerEvent;
    case "reply":
      if (!Number.isInteger(m.id) || typeof m.ok !== "boolean") throw new ProtocolError(`a reply needs an integer id and ok, got ${describe(m.id)} / ${describe(m.ok)}`);
      if (m.ok === false && typeof m.error !== "string") throw new ProtocolError("a failed reply needs an error message");
      return m as WorkerEvent;
    case "snapshot":
      if (!Number.isInteger(m.job)) throw new ProtocolError(`a snapshot needs an integer job, got ${describe(m.job)}`);
      if (!("patch" in m)) throw new ProtocolError("a snapshot needs a patch (the snapshot, or what changed since the last)");
      return m as WorkerEvent;
    case "training-snapshot":
      if (!Number.isInteger(m.job) || !Number.isInteger(m.runNumber)) throw new ProtocolError(`a training snapshot needs an integer job and runNumber, got ${describe(m.job)} / ${describe(m.runNumber)}`);
      try {
        checkSnapshot(m.snapshot, "a training snapshot");
      } catch (e) {
        throw new ProtocolError((e as Error).message);
      }
      return m as WorkerEvent;
    case "evalProgress":
      if (!Number.isInteger(m.job) || !Number.isInteger(m.evaluation) || typeof m.progress !== "object" || m.progress === null) throw new ProtocolError("an evalProgress event needs an integer job and evaluation and a progress object");
      return m as WorkerEvent;
    case "benchProgress":
      if (!Number.isInteger(m.id) || typeof m.progress !== "object" || m.progress === null) throw new ProtocolError("a benchProgress event needs an integer id and a progress object");
      return m as WorkerEvent;
    case "busy":
      if (!Array.isArray(m.tasks) || !m.tasks.every((t) => typeof t === "string")) throw new ProtocolError("a busy event needs a list of task names");
      return m as WorkerEvent;
    case "error":
      if (typeof m.message !== "string") throw new ProtocolError("an error event needs a message");
      return m as WorkerEvent;
    default:
      throw new ProtocolError(`unknown worker event type ${describe(m.type)}`);
  }
}

/**
 * Any thrown value, or a worker's error event, as one sentence for the reader.
 * Errors cross the worker boundary as their message only.
 */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === "string") return e;
  if (typeof e === "object" && e !== null) {
    const o = e as { message?: unknown; filename?: unknown; lineno?: unknown; type?: unknown };
    // A worker's "error" event for a script that failed to load has no message at all.
    if (o.type === "error" && !o.message) return "the training worker could not start (its script failed to load or threw while loading)";
    if (typeof o.message === "string" && o.message) {
      const where = typeof o.filename === "string" && o.filename ? ` (${o.filename.split("/").pop()}${o.lineno ? `:${o.lineno}` : ""})` : "";
      return `${o.message.replace(/^Uncaught (\w*Error: )?/, "")}${where}`;
    }
    if (o.type === "messageerror") return "a message from the training worker could not be read (it could not be copied across threads)";
  }
  return String(e);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

/** Buffers a value holds that can move to the other thread instead of being copied. */
export function transferables(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer) return [value.buffer];
  return [];
}

/**
 * A snapshot as it crosses to the page: the snapshot itself, except that a list which
 * only grew since the job's last snapshot is an AppendPatch (the new items), and a list
 * whose items are each patched (the A/B runs' arms, copied at every update but each
 * holding lists that only grow) is an EachPatch. Plain objects are patched field by
 * field; anything else (numbers, strings, typed arrays) travels whole.
 */
export type SnapshotPatch = unknown;
/** `items` follow the first `from` items of the page's copy of this list. */
export interface AppendPatch {
  $stlm: "append";
  from: number;
  items: unknown[];
}
/** The list's items, each a patch against the page's item at that index. */
export interface EachPatch {
  $stlm: "each";
  items: SnapshotPatch[];
}

/** What the encoder remembers of a value it sent: a list's length and end items, an object's fields. */
type Memo = { kind: "list"; length: number; first: unknown; last: unknown; items?: Memo[] } | { kind: "object"; fields: Map<string, Memo> } | null;

/** Lists of at most this many objects are remembered item by item (the A/B runs' arms), for EachPatch. */
const ITEM_MEMO_LIMIT = 64;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const isContainer = (v: unknown) => Array.isArray(v) || isPlainObject(v);

/**
 * The worker's side: one per job. `encode(snapshot)` gives the patch to post. A list
 * counts as grown when its length did not shrink and its first and last old items are the
 * same objects as before: the runs only push new points and never change an old one
 * (test/unit/lab-protocol.test.ts checks every engine's stream round-trips exactly).
 */
export class SnapshotEncoder {
  private memo: Memo = null;

  encode(snapshot: unknown): SnapshotPatch {
    const [patch, memo] = encodeValue(snapshot, this.memo, "snapshot");
    this.memo = memo;
    return patch;
  }
}

function encodeValue(v: unknown, memo: Memo, where: string): [SnapshotPatch, Memo] {
  if (Array.isArray(v)) {
    const ends = (length: number): Memo => ({ kind: "list", length, first: v[0], last: v[length - 1] });
    if (memo?.kind === "list" && memo.length > 0 && memo.length <= v.length && typeof memo.first === "object" && memo.first !== null && v[0] === memo.first && v[memo.length - 1] === memo.last) {
      return [{ $stlm: "append", from: memo.length, items: v.slice(memo.length) } satisfies AppendPatch, ends(v.length)];
    }
    if (memo?.kind === "list" && memo.items && v.length >= memo.length && v.length <= ITEM_MEMO_LIMIT) {
      const items: SnapshotPatch[] = [];
      const memos: Memo[] = [];
      v.forEach((item, i) => {
        const [p, m] = encodeValue(item, memo.items![i] ?? null, `${where}[${i}]`);
        items.push(p);
        memos.push(m);
      });
      return [{ $stlm: "each", items } satisfies EachPatch, { ...ends(v.length), items: memos } as Memo];
    }
    // Sent whole. A short list of objects is remembered item by item, for an EachPatch next time.
    const itemMemos = v.length > 0 && v.length <= ITEM_MEMO_LIMIT && v.every(isContainer) ? v.map((item, i) => encodeValue(item, null, `${where}[${i}]`)[1]) : undefined;
    return [v, { ...ends(v.length), ...(itemMemos ? { items: itemMemos } : {}) } as Memo];
  }
  if (isPlainObject(v)) {
    if ("$stlm" in v) throw new ProtocolError(`${where} has a field named $stlm, which the snapshot patches reserve`);
    const out: Record<string, SnapshotPatch> = {};
    const fields = new Map<string, Memo>();
    const old = memo?.kind === "object" ? memo.fields : null;
    for (const key of Object.keys(v)) {
      const [p, m] = encodeValue(v[key], old?.get(key) ?? null, `${where}.${key}`);
      out[key] = p;
      if (m) fields.set(key, m);
    }
    return [out, { kind: "object", fields }];
  }
  return [v, null];
}

/**
 * The page's side: the snapshot a patch describes, given the job's previous one (undefined
 * for the first). Old items are shared with `previous`, never copied or changed, so a
 * snapshot the page still holds stays as it was.
 */
export function applyPatch(patch: SnapshotPatch, previous: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  if (patch.$stlm === "append") {
    const p = patch as unknown as AppendPatch;
    const base = Array.isArray(previous) ? previous : [];
    if (base.length < p.from) throw new ProtocolError(`a snapshot patch adds to item ${p.from} of a list the page holds ${base.length} items of (a snapshot was lost)`);
    return (base.length === p.from ? base : base.slice(0, p.from)).concat(p.items);
  }
  if (patch.$stlm === "each") {
    const base = Array.isArray(previous) ? previous : [];
    return (patch as unknown as EachPatch).items.map((item, i) => applyPatch(item, base[i]));
  }
  const base = isPlainObject(previous) ? previous : {};
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(patch)) out[key] = applyPatch(patch[key], base[key]);
  return out;
}
