// The page/worker protocol: commands are checked field by field before the worker acts
// on them, and every kind of failure reaches the page as a sentence.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readFile } from "node:fs/promises";
import { ProtocolError, SnapshotEncoder, applyPatch, errorMessage, transferables, validateCommand, validateEvent, type AppendPatch } from "../../src/components/lab-protocol.js";
import { ENGINES } from "../../src/components/lab-engines.js";
import { initNode } from "../../lib/node/runtime.js";
import { corpusFromGzip } from "../../lib/text/data.js";

describe("validateCommand", () => {
  it("accepts every well-formed command and returns it unchanged", () => {
    const commands = [
      { id: 1, type: "setBackend", prefer: "wasm" },
      { id: 2, type: "create", job: 1, engine: "train", options: { backend: "wasm" } },
      { id: 3, type: "start", job: 1, request: { preset: "nano" } },
      { id: 4, type: "pause", job: 1 },
      { id: 5, type: "resume", job: 1 },
      { id: 6, type: "stop", job: 1 },
      { id: 7, type: "load", job: 1, bytes: new Uint8Array(4), label: "x.safetensors", onlyIfIdle: true },
      { id: 8, type: "checkpoint", job: 1 },
      { id: 9, type: "sample", job: 1, prompt: "It is", options: { temperature: 0.8 } },
      { id: 10, type: "attention", job: 1, text: "abc" },
      { id: 11, type: "call", job: 1, method: "trace", args: ["stride"] },
      { id: 12, type: "dispose", job: 1 },
      { id: 13, type: "loadModel", job: 1, slot: "mtp", bytes: new Uint8Array(4), label: "nano-mtp4.safetensors" },
      { id: 14, type: "speculative", job: 1, prompt: "It is", options: { tokens: 40, temperature: 0 } },
      { id: 15, type: "disagreements", job: 1, text: "It is" },
      { id: 16, type: "move", job: 1, model: "tictactoe", prompt: new Uint8Array(12), maxBytes: 1 },
      { id: 17, type: "move", job: 1, model: "wordchain", prompt: new Uint8Array(12), maxBytes: 24, end: 44 },
      { id: 18, type: "chunks", job: 1, bytes: new Uint8Array(8), train: new Uint8Array(64) },
      { id: 19, type: "chunks", job: 1, bytes: new Uint8Array(8) },
      { id: 20, type: "bench", request: { preset: "micro", steps: 5, profile: false, matmul: "gemm", compareThreads: true } },
      { id: 21, type: "checkThreads", steps: 4 },
      { id: 22, type: "checkBackend", reference: "cpu" }
    ];
    for (const c of commands) assert.equal(validateCommand(c), c);
  });

  it("refuses what is not a command, naming the allowed types", () => {
    assert.throws(() => validateCommand(null), /a command must be an object, got null/);
    assert.throws(() => validateCommand("start"), /a command must be an object, got "start"/);
    assert.throws(() => validateCommand({ id: 1, type: "train" }), /unknown command type "train"; expected one of: setBackend, create, start/);
    assert.throws(() => validateCommand({ type: "pause", job: 1 }), /command "pause" needs an integer id, got nothing/);
  });

  it("names the field that is wrong and what it should be", () => {
    assert.throws(() => validateCommand({ id: 1, type: "pause", job: "1" }), /command "pause": job must be an integer, got "1"/);
    assert.throws(() => validateCommand({ id: 1, type: "setBackend", prefer: "metal" }), /prefer must be one of auto, webgpu, webgl, wasm, cpu, got "metal"/);
    assert.throws(() => validateCommand({ id: 1, type: "create", job: 1, engine: "evaluator" }), /engine must be one of train, sharing/);
    assert.throws(() => validateCommand({ id: 1, type: "load", job: 1, bytes: [1, 2], label: "x" }), /bytes must be a Uint8Array, got an array/);
    assert.throws(() => validateCommand({ id: 1, type: "load", job: 1, bytes: new Uint8Array(1), label: "x", onlyIfIdle: "yes" }), /onlyIfIdle must be true or false when given/);
    assert.throws(() => validateCommand({ id: 1, type: "sample", job: 1, prompt: "a", options: [] }), /options must be an object when given, got an array/);
    assert.throws(() => validateCommand({ id: 1, type: "call", job: 1, method: "trace", args: "stride" }), /args must be an array/);
    assert.throws(() => validateCommand({ id: 1, type: "pause", job: 1.5 }), ProtocolError);
    assert.throws(() => validateCommand({ id: 1, type: "bench", request: "micro" }), /command "bench": request must be an object, got "micro"/);
    assert.throws(() => validateCommand({ id: 1, type: "checkThreads", steps: 0 }), /command "checkThreads": steps must be a whole number above 0, got number 0/);
    assert.throws(() => validateCommand({ id: 1, type: "checkBackend", reference: "webgpu" }), /command "checkBackend": reference must be wasm or cpu, got "webgpu"/);
    assert.doesNotThrow(() => validateEvent({ type: "benchProgress", id: 3, progress: { threads: 2, step: 1, total: 5 } }));
    assert.throws(() => validateEvent({ type: "benchProgress", id: 3 }), /a benchProgress event needs an integer id and a progress object/);
  });

  it("checks the inspecting commands' fields (loadModel, speculative, disagreements, move, chunks)", () => {
    assert.throws(() => validateCommand({ id: 1, type: "loadModel", job: 1, slot: "", bytes: new Uint8Array(1), label: "x" }), /command "loadModel": slot must be a name \(a string that is not empty\), got ""/);
    assert.throws(() => validateCommand({ id: 1, type: "loadModel", job: 1, slot: "mtp", label: "x" }), /loadModel": bytes must be a Uint8Array, got nothing/);
    assert.throws(() => validateCommand({ id: 1, type: "speculative", job: 1, prompt: 3 }), /speculative": prompt must be a string, got number 3/);
    assert.throws(() => validateCommand({ id: 1, type: "disagreements", job: 1 }), /disagreements": text must be a string, got nothing/);
    assert.throws(() => validateCommand({ id: 1, type: "move", job: 1, model: "tictactoe", prompt: new Uint8Array(1), maxBytes: 0 }), /move": maxBytes must be a whole number above 0, got number 0/);
    assert.throws(() => validateCommand({ id: 1, type: "move", job: 1, model: "tictactoe", prompt: "X..", maxBytes: 1 }), /move": prompt must be a Uint8Array, got "X.."/);
    assert.throws(() => validateCommand({ id: 1, type: "move", job: 1, model: "tictactoe", prompt: new Uint8Array(1), maxBytes: 1, end: "," }), /move": end must be an integer when given, got ","/);
    assert.throws(() => validateCommand({ id: 1, type: "chunks", job: 1, bytes: new Uint8Array(1), train: [1, 2] }), /chunks": train must be a Uint8Array when given, got an array/);
  });
});

describe("validateEvent", () => {
  it("accepts the worker's events", () => {
    for (const e of [
      { type: "ready" },
      { type: "reply", id: 3, ok: true, value: null },
      { type: "reply", id: 3, ok: false, error: "no model" },
      { type: "snapshot", job: 1, patch: { status: "running" } },
      { type: "busy", tasks: ["loading the checkpoint"] },
      { type: "error", message: "boom" }
    ]) assert.equal(validateEvent(e), e);
  });

  it("refuses malformed ones in words", () => {
    assert.throws(() => validateEvent({ type: "reply", id: 1, ok: false }), /a failed reply needs an error message/);
    assert.throws(() => validateEvent({ type: "busy", tasks: [1] }), /a busy event needs a list of task names/);
    assert.throws(() => validateEvent({ type: "snapshot" }), /a snapshot needs an integer job, got nothing/);
    assert.throws(() => validateEvent({ type: "snapshot", job: 1, snapshot: {} }), /a snapshot needs a patch/);
    assert.throws(() => validateEvent({ type: "progress" }), /unknown worker event type "progress"/);
  });
});

describe("errorMessage", () => {
  it("keeps an Error's message, and a string as it is", () => {
    assert.equal(errorMessage(new Error("the loss became NaN at step 4")), "the loss became NaN at step 4");
    assert.equal(errorMessage(new TypeError("")), "TypeError");
    assert.equal(errorMessage("no model yet"), "no model yet");
  });

  it("says the worker could not start when its script fails to load (an error event without a message)", () => {
    assert.match(errorMessage({ type: "error", message: "" }), /the training worker could not start/);
  });

  it("turns an uncaught error in the worker into its message and where it was thrown", () => {
    assert.equal(errorMessage({ type: "error", message: "Uncaught TypeError: x is not a function", filename: "http://h/_import/components/lab-worker.abc.js", lineno: 12 }), "x is not a function (lab-worker.abc.js:12)");
  });

  it("explains a message that could not be copied across threads", () => {
    assert.match(errorMessage({ type: "messageerror" }), /could not be copied across threads/);
  });
});

describe("transferables", () => {
  it("moves a whole buffer, and copies a view into part of one", () => {
    const whole = new Uint8Array(8);
    assert.deepEqual(transferables(whole), [whole.buffer]);
    assert.deepEqual(transferables(new Uint8Array(new ArrayBuffer(8), 2, 4)), []);
    assert.deepEqual(transferables({ a: 1 }), []);
  });
});

it("a training-snapshot event is checked: a real snapshot passes, a damaged one is refused saying what is wrong", () => {
  const check = validateEvent;
  const snapshot = { v: 1, step: 3, unit: "byte", spans: [[0, 1], [1, 2]], layers: 1, heads: 1, attention: [[[255, 128, 127]]], sample: "ab" };
  assert.equal(check({ type: "training-snapshot", job: 1, runNumber: 2, snapshot }).type, "training-snapshot");
  assert.throws(() => check({ type: "training-snapshot", job: 1, snapshot }), /integer job and runNumber/);
  assert.throws(() => check({ type: "training-snapshot", job: 1, runNumber: 2, snapshot: { ...snapshot, attention: [[[255]]] } }), /"attention" must hold 1 layers of 1 maps of 3 values/);
  assert.throws(() => check({ type: "training-snapshot", job: 1, runNumber: 2, snapshot: { ...snapshot, v: 2 } }), /format version 2/);
});

/** Posts every snapshot of a stream as the worker does (a patch, copied across as structured clone), applies it as the page does, and checks each arrives whole. */
function roundTrip() {
  const encoder = new SnapshotEncoder();
  let page: unknown;
  const counts = { snapshots: 0, appends: 0, itemsSent: 0, itemsHeld: 0 };
  const countAppends = (p: unknown): void => {
    if (Array.isArray(p)) return;
    if (typeof p !== "object" || p === null) return;
    const o = p as Record<string, unknown>;
    if (o.$stlm === "append") {
      counts.appends++;
      counts.itemsSent += (o as unknown as AppendPatch).items.length;
      return;
    }
    for (const v of Object.values(o.$stlm === "each" ? (o.items as unknown[]) : o)) countAppends(v);
  };
  return {
    counts,
    post(snapshot: unknown) {
      const patch = structuredClone(encoder.encode(snapshot));
      countAppends(patch);
      page = applyPatch(patch, page);
      assert.deepEqual(page, structuredClone(snapshot), `snapshot ${counts.snapshots} arrived changed`);
      counts.snapshots++;
      return page;
    }
  };
}

describe("snapshot patches", () => {
  it("send a grown list's new items only, and anything else whole", () => {
    const link = roundTrip();
    const steps = [{ step: 1, loss: 5 }];
    link.post({ status: "running", steps: steps.slice(), arms: [{ label: "a", evals: [] as object[] }], bits: new Float32Array([1, 2]) });
    steps.push({ step: 2, loss: 4 }, { step: 3, loss: 3.5 });
    const encoder = new SnapshotEncoder();
    encoder.encode({ steps: steps.slice(0, 1) });
    assert.deepEqual(encoder.encode({ steps: steps.slice() }), { steps: { $stlm: "append", from: 1, items: steps.slice(1) } });
    link.post({ status: "running", steps: steps.slice(), arms: [{ label: "a", evals: [{ step: 2, v: 1 }] }], bits: new Float32Array([3]) });
    // A new run: the list starts again (shorter, or with other first items) and goes whole.
    link.post({ status: "preparing", steps: [], arms: [] });
    link.post({ status: "running", steps: [{ step: 1, loss: 6 }, { step: 2, loss: 5 }], arms: [{ label: "b", evals: [] }, { label: "c", evals: [] }] });
    // Lists of numbers go whole: equal first and last numbers say nothing about the ones between.
    const numbers = new SnapshotEncoder();
    numbers.encode({ xs: [1, 2, 1] });
    assert.deepEqual(numbers.encode({ xs: [1, 5, 1, 7] }), { xs: [1, 5, 1, 7] });
    assert.throws(() => new SnapshotEncoder().encode({ a: { $stlm: 1 } }), /snapshot\.a has a field named \$stlm/);
    assert.throws(() => applyPatch({ steps: { $stlm: "append", from: 3, items: [] } }, { steps: [] }), /adds to item 3 of a list the page holds 0 items of \(a snapshot was lost\)/);
    // The page's older snapshot is never changed by a later patch.
    const held = applyPatch({ xs: [{ a: 1 }] }, undefined) as { xs: object[] };
    applyPatch({ xs: { $stlm: "append", from: 1, items: [{ a: 2 }] } }, held);
    assert.equal(held.xs.length, 1);
  });

  it("carry the training page's run and the tokenizer-free comparison exactly, each step point once", { timeout: 120_000 }, async () => {
    await initNode();
    const gz = await readFile(new URL("../../data/corpora/austen.jsonl.gz", import.meta.url));
    const bytes = gz.buffer.slice(gz.byteOffset, gz.byteOffset + gz.byteLength) as ArrayBuffer;
    const busy = <T>(_task: string, work: () => Promise<T> | T) => Promise.resolve(work());

    const train = ENGINES.train({}, busy);
    const trainLink = roundTrip();
    const offTrain = train.subscribe((s) => trainLink.post(s));
    await train.start({ preset: "nano", corpus: { kind: "named", name: "austen", bytes }, steps: 6, learningRate: 3e-3, seed: 1 });
    offTrain();
    let latest: unknown;
    train.subscribe((s) => (latest = s))();
    const last = trainLink.post(latest) as { steps: unknown[] };
    await train.dispose();
    assert.equal(last.steps.length, 6);
    assert.ok(trainLink.counts.appends > 3, `${trainLink.counts.appends} appends`);
    // Every step point crossed at most about once (not once per snapshot).
    assert.ok(trainLink.counts.itemsSent <= 2 * 6 + 4, `${trainLink.counts.itemsSent} list items sent for 6 steps`);

    const corpus = await corpusFromGzip("austen", new Uint8Array(bytes));
    const ab = ENGINES["tokenizer-free"]({}, busy);
    const abLink = roundTrip();
    const offAb = ab.subscribe((s) => abLink.post(s));
    await ab.start({ kinds: ["bytes", "stride"], trainBytes: corpus.train.subarray(0, 200_000), valBytes: corpus.val.subarray(0, 8192), secondsPerModel: 1, evalEvery: 3, evalBytes: 1024 });
    offAb();
    await ab.dispose();
    assert.ok(abLink.counts.snapshots > 6 && abLink.counts.appends > 0, `${abLink.counts.snapshots} snapshots, ${abLink.counts.appends} appends`);
  });
});
