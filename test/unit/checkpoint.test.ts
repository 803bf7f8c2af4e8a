// Checkpoints: safetensors with the lab's metadata, and a corpus of damaged and
// hostile files made from a real short run, every one of which must be refused
// with a message that names the problem, without allocating what it asks for.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { initNode } from "../../lib/node/runtime.js";
import { TinyLM } from "../../lib/models/model.js";
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, labModelFromCheckpoint, modelFromCheckpoint, type Checkpoint } from "../../lib/train/checkpoint.js";
import { Trainer } from "../../lib/train/trainer.js";
import { Rng } from "../../lib/rng.js";
import { sha256 } from "../../lib/train/sha256.js";
import { buildModel, tokenizerFreeCheckpoint, tokenizerFreeConfig } from "../../lib/experiments/tokenizer-free.js";
import { trainBpe } from "../../lib/text/bpe.js";
import { sampler, TEXT, tinyConfigs } from "./fixtures.js";
import { pythonReader, readSafetensorsWithPython } from "./safetensors-python.js";

await initNode();

/** A real checkpoint: a tiny model trained 5 steps, with its optimizer state. */
async function trainedCheckpoint(): Promise<{ ckpt: Omit<Checkpoint, "note">; bytes: Uint8Array }> {
  const { model: mc, train } = tinyConfigs({}, { steps: 10 });
  const model = TinyLM.create(mc, 1);
  const trainer = new Trainer({ model, data: sampler(), train: { ...train, steps: 10 } });
  for await (const e of trainer.run()) if (e.kind === "step" && e.step === 5) trainer.stop();
  const ckpt = { spec: model.spec, trainConfig: train, weights: await model.weights(), trainer: await trainer.state(), meta: { note: "test" } };
  trainer.dispose();
  model.dispose();
  return { ckpt, bytes: encodeCheckpoint(ckpt) };
}

const { ckpt: GOOD, bytes: GOOD_BYTES } = await trainedCheckpoint();

/** The header of a lab file as an object, and a way to write an edited one back with a *valid* hash (a forger's file). */
function headerOf(bytes: Uint8Array): Record<string, any> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}
function dataOf(bytes: Uint8Array): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return bytes.subarray(8 + n);
}
function forge(header: Record<string, any>, data: Uint8Array, { rawHeader }: { rawHeader?: string } = {}): Uint8Array {
  header.__metadata__ = { ...header.__metadata__, "stlm.sha256": "0".repeat(64) };
  let text = rawHeader ?? JSON.stringify(header);
  while ((8 + text.length) % 8) text += " ";
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  const at = text.indexOf("0".repeat(64));
  out.set(new TextEncoder().encode(sha256(out)), 8 + at);
  return out;
}
/** Forge with one metadata field's JSON edited. */
function forgeMeta(key: string, edit: (v: any) => any): Uint8Array {
  const h = headerOf(GOOD_BYTES);
  h.__metadata__[key] = JSON.stringify(edit(JSON.parse(h.__metadata__[key])));
  return forge(h, dataOf(GOOD_BYTES));
}

function refused(bytes: Uint8Array, pattern: RegExp, label = String(pattern)): void {
  assert.throws(
    () => decodeCheckpoint(bytes, "run/checkpoint.safetensors"),
    (e: Error) => {
      assert.ok(e instanceof CheckpointError, `${label}: threw ${e.name}: ${e.message}`);
      assert.match(e.message, /run\/checkpoint\.safetensors/, label);
      assert.match(e.message, pattern, label);
      return true;
    },
    label
  );
}

test("a checkpoint decodes to the spec, configs, weights and trainer state it was made from", () => {
  const back = decodeCheckpoint(GOOD_BYTES);
  assert.deepEqual(back.spec, GOOD.spec);
  assert.deepEqual(back.trainConfig, GOOD.trainConfig);
  assert.deepEqual(back.meta, { note: "test" });
  assert.equal(back.trainer!.step, 5);
  assert.equal(back.trainer!.optimizer.step, 5);
  assert.ok(back.trainer!.elapsedMs! > 0, "the training clock is saved");
  assert.deepEqual(back.trainer!.dataRng, GOOD.trainer!.dataRng);
  for (const [name, t] of GOOD.weights) assert.deepEqual(back.weights.get(name)!.data, t.data, name);
  for (const [name, t] of GOOD.trainer!.optimizer.v) assert.deepEqual(back.trainer!.optimizer.v.get(name)!.data, t.data, name);
  const model = modelFromCheckpoint(back);
  assert.equal(model.parameterCount(), [...back.weights.values()].reduce((n, t) => n + t.data.length, 0));
  model.dispose();
});

test("a checkpoint is a safetensors file: tensors by parameter name, Adam moments beside them, configs in the metadata", () => {
  const h = headerOf(GOOD_BYTES);
  assert.equal(h.__metadata__.format, "stlm-checkpoint");
  assert.deepEqual(JSON.parse(h.__metadata__["stlm.model"]), GOOD.spec);
  assert.deepEqual(h.embed, { dtype: "F32", shape: [258, 16], data_offsets: h.embed.data_offsets });
  assert.ok(h["adam.m.embed"] && h["adam.v.embed"]);
  assert.match(h.__metadata__["stlm.sha256"], /^[0-9a-f]{64}$/);
});

test("a lab checkpoint opens in Python with a minimal safetensors reader, and its tensors equal the lab's", async (t) => {
  const reader = pythonReader();
  if (!reader) return t.skip("no /usr/bin/python3 here: install Debian's python3 (and python3-torch) to run this check");
  const file = path.join(await mkdtemp(path.join(tmpdir(), "stlm-ckpt-py-")), "checkpoint.safetensors");
  await writeFile(file, GOOD_BYTES);
  const read = readSafetensorsWithPython(file);
  if (!reader.torch) t.diagnostic("python3-torch is not installed: read with plain Python (the array module) instead");
  assert.equal(read.reader, reader.torch ? "torch" : "array");
  assert.equal(read.metadata["stlm.model"], JSON.stringify(GOOD.spec));
  for (const [name, w] of GOOD.weights) {
    const got = read.tensors.get(name)!;
    assert.deepEqual(got.shape, w.shape, name);
    assert.deepEqual(got.values, Array.from(w.data), name);
  }
  assert.equal(read.tensors.size, GOOD.weights.size * 3);
});

test("a pooled checkpoint round-trips, through the same path, with its BPE", async () => {
  const bpe = trainBpe(TEXT, 300);
  const built = buildModel(tokenizerFreeConfig("bpe", bpe, 32), TEXT, 3);
  const { train } = tinyConfigs();
  const bytes = encodeCheckpoint(await tokenizerFreeCheckpoint(built, train, {}));
  const back = labModelFromCheckpoint(decodeCheckpoint(bytes));
  assert.deepEqual(back.spec, built.model.spec);
  const [a, b] = [await built.model.weights(), await back.weights()];
  for (const [name, w] of a) assert.deepEqual(b.get(name)!.data, w.data, name);
  assert.throws(() => modelFromCheckpoint(decodeCheckpoint(bytes)), /holds a pooled model, not a plain byte model/);
  built.model.dispose();
  back.dispose();
});

test("a truncated checkpoint is refused at every length, saying it was cut short", () => {
  const lengths = [0, 3, 7, 8, 9, 20, 100, 1000];
  for (let n = 0; n < GOOD_BYTES.length; n += 997) lengths.push(n);
  lengths.push(GOOD_BYTES.length - 1, GOOD_BYTES.length - 100);
  for (const n of lengths) refused(GOOD_BYTES.subarray(0, n), /(truncated|too short|cut short|empty)/i, `cut at ${n}`);
});

test("any changed byte, in the header or the data, is refused", () => {
  const rng = new Rng(11);
  const headerLength = Number(new DataView(GOOD_BYTES.buffer).getBigUint64(0, true));
  for (let i = 0; i < 300; i++) {
    const bad = GOOD_BYTES.slice();
    const at = i % 2 === 0 ? 8 + rng.int(headerLength) : 8 + headerLength + rng.int(GOOD_BYTES.length - 8 - headerLength);
    bad[at] ^= 1 << rng.int(8);
    refused(bad, /./, `bit flip at byte ${at}`);
  }
});

test("a one-bit change of a header field (learning rate, offset, optimizer step, data RNG) is refused, not resumed", () => {
  const text = new TextDecoder().decode(GOOD_BYTES.subarray(8, 8 + Number(new DataView(GOOD_BYTES.buffer).getBigUint64(0, true))));
  const fields = ['\\"learningRate\\":0.01', '"data_offsets":[', '\\"optimizerStep\\":5', '\\"dataRng\\":[', '\\"seed\\":1'];
  for (const field of fields) {
    const at = text.indexOf(field);
    assert.ok(at >= 0, `field ${field} present`);
    const bad = GOOD_BYTES.slice();
    const digit = 8 + at + field.length - 1;
    bad[digit] ^= 1; // e.g. "1" -> "0", "[" -> "Z"
    refused(bad, /(corrupted|damaged|not a|SHA-256)/, field);
  }
});

test("a forged file with a valid hash is still checked: aliased, overlapping and out-of-range offsets", () => {
  const h = headerOf(GOOD_BYTES);
  const data = dataOf(GOOD_BYTES);
  const names = Object.keys(h).filter((k) => k !== "__metadata__");
  const same16x16 = names.filter((n) => h[n].shape.join("x") === "16x16");
  const aliased = structuredClone(h);
  for (const n of same16x16) aliased[n].data_offsets = h[same16x16[0]].data_offsets;
  refused(forge(aliased, data), /(overlap|gap|tile|cover)/i, "every 16x16 matrix at one offset");
  const overlap = structuredClone(h);
  overlap[names[1]].data_offsets = [h[names[1]].data_offsets[0] - 4, h[names[1]].data_offsets[1] - 4];
  refused(forge(overlap, data), /(overlap|gap|tile|cover)/i, "overlapping by one float");
  const negative = structuredClone(h);
  negative[names[0]].data_offsets = [-64, h[names[0]].data_offsets[1]];
  refused(forge(negative, data), /data_offsets/, "a negative offset");
  const beyond = structuredClone(h);
  beyond[names[names.length - 1]].data_offsets = [data.length, data.length + 4096];
  refused(forge(beyond, data), /data_offsets|outside|past|beyond|gap/i, "past the end");
});

test("a forged file with wrong dtypes, shapes, missing or extra tensors is refused naming the tensor", () => {
  const h = headerOf(GOOD_BYTES);
  const data = dataOf(GOOD_BYTES);
  const f16 = structuredClone(h);
  f16.finalNorm.dtype = "F16";
  refused(forge(f16, data), /F16/, "a float16 tensor");
  const transposed = structuredClone(h);
  transposed["blocks.0.mlp.w1"].shape = [32, 16];
  refused(forge(transposed, data), /"blocks\.0\.mlp\.w1" has shape \[32,16\] but its model settings need \[16,32\]/, "a transposed matrix");
  const stringShape = structuredClone(h);
  stringShape.finalNorm.shape = "16";
  refused(forge(stringShape, data), /shape/, "a shape written as a string");
  const nullEntry = structuredClone(h);
  nullEntry.finalNorm = null;
  refused(forge(nullEntry, data), /finalNorm/, "an entry that is null");
  // A spec that needs a tensor the file lacks (the config was edited, the data not).
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, ffnHidden: 48 } })), /has shape \[16,32\] but its model settings need \[16,48\]/, "an edited ffnHidden");
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, tieEmbeddings: false } })), /lacks tensor "head"/, "an untied head with no head tensor");
});

test("a forged file with NaN or infinite values is refused: the run had diverged", () => {
  const h = headerOf(GOOD_BYTES);
  for (const [value, label] of [[NaN, "NaN"], [Infinity, "Infinity"]] as const) {
    const data = dataOf(GOOD_BYTES).slice();
    new DataView(data.buffer).setFloat32(h["blocks.1.attn.wq"].data_offsets[0] + 8, value, true);
    refused(forge(structuredClone(h), data), new RegExp(`"blocks\\.1\\.attn\\.wq" holds ${label} at element 2; the run had diverged`), label);
  }
});

test("absurd sizes are refused before anything is allocated, with the memory they would need", () => {
  const before = process.memoryUsage().arrayBuffers;
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, blockSize: 20000 } })), /blockSize: must be an integer from 2 to 4096 .*attention mask alone of 1\.5 GiB/, "blockSize 20000");
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, dModel: 100000 } })), /dModel: must be an integer from 2 to 8192/, "dModel 100000");
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, vocabSize: 1e7 } })), /vocabSize: must be an integer from 2 to 65537/, "a vocabulary of ten million");
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: { ...s.model, nLayer: 200, dModel: 8192, ffnHidden: 32768 } })), /would need about .* GiB of memory/, "a buildable-looking but huge model");
  const h = headerOf(GOOD_BYTES);
  h.finalNorm.shape = [1e6, 1e6];
  refused(forge(h, dataOf(GOOD_BYTES)), /finalNorm/, "a tensor declared at 10^12 floats");
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 64 * 2 ** 20, `refusals allocated ${(grew / 2 ** 20).toFixed(0)} MiB`);
});

test("prototype-polluting keys and non-object fields are refused, and pollute nothing", () => {
  refused(forgeMeta("stlm.model", (s) => JSON.parse(JSON.stringify(s).replace('"kind":"bytes"', '"kind":"__proto__"'))), /unknown model kind "__proto__"/, "kind __proto__");
  refused(forgeMeta("stlm.model", (s) => ({ ...s, model: JSON.parse(JSON.stringify(s.model).replace("{", '{"__proto__":{"polluted":1},')) })), /unknown model setting/, "__proto__ in the model config");
  refused(forgeMeta("stlm.model", () => null), /must be an object/, "model null");
  refused(forgeMeta("stlm.train", (t) => ({ ...t, learningRate: 5 })), /learningRate: must be a number in \(0, 1\)/, "learning rate 5");
  refused(forgeMeta("stlm.train", (t) => ({ ...t, steps: 0 })), /steps: must be an integer/, "0 steps");
  refused(forgeMeta("stlm.trainer", (t) => ({ ...t, step: 11 })), /trainer state "step" must be a whole number from 0 to the run's 10 steps/, "a step past the end");
  refused(forgeMeta("stlm.trainer", (t) => ({ ...t, optimizerStep: 4 })), /"optimizerStep" must equal the step/, "an optimizer step that disagrees");
  refused(forgeMeta("stlm.trainer", (t) => ({ ...t, dataRng: [1, 2, 3] })), /"dataRng" must be 4 unsigned 32-bit words/, "an RNG state of 3 words");
  const h = headerOf(GOOD_BYTES);
  h.__metadata__["stlm.sha256"] = "0".repeat(64);
  const raw = JSON.stringify(h).replace('"finalNorm":', '"__proto__":');
  refused(forge(h, dataOf(GOOD_BYTES), { rawHeader: raw }), /__proto__/, "a tensor named __proto__");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test("a file that is not a checkpoint is named as such", () => {
  refused(new TextEncoder().encode("just some text, not a checkpoint at all"), /not a lab checkpoint/);
  const h = headerOf(GOOD_BYTES);
  delete h.__metadata__.format;
  refused(forge(h, dataOf(GOOD_BYTES)), /safetensors file but not a lab checkpoint/);
});

test("an old checkpoint.stlm still loads, read-only, with a note, and is checked like a new one", async () => {
  // The version-1 layout, written here as the lab wrote it before safetensors.
  const legacy = (mutate: (header: Record<string, any>) => void = () => {}) => {
    const entries: object[] = [];
    const floats: number[] = [];
    for (const [name, t] of GOOD.weights) {
      entries.push({ name, group: "weights", shape: t.shape, offset: floats.length });
      floats.push(...t.data);
    }
    const data = new Uint8Array(Float32Array.from(floats).buffer);
    let h = 0x811c9dc5;
    for (const b of data) h = Math.imul(h ^ b, 0x01000193);
    const header: Record<string, any> = { format: "stlm-checkpoint", version: 1, modelConfig: (GOOD.spec as any).model, trainConfig: GOOD.trainConfig, step: 0, trainer: null, tensors: entries, dataFloats: floats.length, checksum: h >>> 0, meta: { preset: "tiny" } };
    mutate(header);
    const hb = new TextEncoder().encode(JSON.stringify(header));
    const start = Math.ceil((16 + hb.length) / 4) * 4;
    const out = new Uint8Array(start + data.length);
    out.set(new TextEncoder().encode("STLMCKPT"));
    new DataView(out.buffer).setUint32(8, 1, true);
    new DataView(out.buffer).setUint32(12, hb.length, true);
    out.set(hb, 16);
    out.set(data, start);
    return out;
  };
  const back = decodeCheckpoint(legacy(), "old/checkpoint.stlm");
  assert.match(back.note!, /old checkpoint format .*next save writes checkpoint\.safetensors/);
  assert.deepEqual(back.spec, GOOD.spec);
  modelFromCheckpoint(back).dispose();
  refused(legacy((h) => { h.modelConfig.blockSize = 20000; }), /blockSize: must be an integer from 2 to 4096/, "old format, huge blockSize");
  refused(legacy((h) => { h.tensors.forEach((e: any) => { if (e.shape.length === 2 && e.shape[0] === 16 && e.shape[1] === 16) e.offset = 0; }); }), /share the same floats|lies outside|cover/, "old format, aliased offsets");
  refused(legacy((h) => { h.tensors = null; }), /"tensors" is null, not a list/, "old format, tensors null");
  refused(legacy((h) => { h.tensors[0].offset = -5; }), /offset -5/, "old format, negative offset");
});
