import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../lib/rng.js";
import {
  DEFAULT_MAX_HEADER_BYTES,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  firstNonFinite,
  type SafetensorsFile,
  type SafetensorsTensor
} from "../../lib/train/safetensors.js";
import { pythonReader, readSafetensorsWithPython } from "./safetensors-python.js";

const WHAT = "runs/x/model.safetensors";

function sampleTensors(): SafetensorsTensor[] {
  const rng = new Rng(5);
  const random = new Float32Array(12).map(() => rng.nextUint32() / 2 ** 32 - 0.5);
  return [
    { name: "embed.weight", shape: [3, 4], data: random },
    { name: "scale", shape: [], data: new Float32Array([Math.PI]) },
    { name: "empty", shape: [0], data: new Float32Array(0) },
    { name: "edge.values", shape: [2, 3], data: new Float32Array([0, -0, 1.5, -2.25, 3.4028234663852886e38, 1e-45]) },
    { name: "10", shape: [1], data: new Float32Array([10]) },
    { name: "2", shape: [1, 1, 2], data: new Float32Array([2, -2]) }
  ];
}

const sampleMetadata = () => ({ format: "pt", note: "naïve café — 日本語 🐍 \"quoted\"\n", config: JSON.stringify({ dModel: 16 }) });

/** A file from a raw header (text or bytes, unpadded) and `dataLength` zero bytes of data. */
function rawFile(header: string | Uint8Array | object, dataLength = 0): Uint8Array {
  const h = header instanceof Uint8Array ? header : new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + dataLength);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  return out;
}

const f32 = (shape: number[], begin: number, end = begin + shape.reduce((a, b) => a * b, 1) * 4) => ({ dtype: "F32", shape, data_offsets: [begin, end] });

/** Asserts that decoding throws a SafetensorsError naming the file and matching `pattern`. */
function refuses(bytes: Uint8Array, pattern: RegExp, options: { maxHeaderBytes?: number } = {}): void {
  assert.throws(
    () => decodeSafetensors(bytes, { what: WHAT, ...options }),
    (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, `expected a SafetensorsError, got ${e}`);
      assert.equal(e.name, "SafetensorsError");
      assert.ok(e.message.includes(WHAT), `the message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    }
  );
}

/** The checks a decoded file must pass whatever bytes it came from. */
function assertStructurallyValid(file: SafetensorsFile): void {
  let covered = 0;
  for (const [name, t] of file.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    assert.equal(t.end - t.begin, count * 4, name);
    assert.ok(t.begin >= 0 && t.end <= file.bytes.length - file.dataStart, name);
    assert.equal(file.tensorData(name).length, count, name);
    covered += t.end - t.begin;
  }
  assert.equal(covered, file.bytes.length - file.dataStart);
  for (const v of file.metadata.values()) assert.equal(typeof v, "string");
}

test("tensors and metadata survive a round trip, including a 0-d tensor, an empty tensor and unicode metadata", () => {
  const tensors = sampleTensors();
  const file = decodeSafetensors(encodeSafetensors(tensors, sampleMetadata()), { what: WHAT });
  assert.deepEqual(Object.fromEntries(file.metadata), sampleMetadata());
  assert.deepEqual([...file.tensors.keys()], tensors.map((t) => t.name), "listed in the order given, numeric-looking names too");
  for (const t of tensors) {
    const info = file.tensors.get(t.name)!;
    assert.equal(info.dtype, "F32");
    assert.deepEqual(info.shape, t.shape);
    // deepStrictEqual tells -0 from 0, so the bits come back, not just the values.
    assert.deepEqual(Array.from(file.tensorData(t.name)), Array.from(t.data), t.name);
  }
});

test("the data section starts at a multiple of 8 bytes, the header padded with trailing spaces", () => {
  for (let extra = 0; extra < 16; extra++) {
    const bytes = encodeSafetensors([{ name: "w".repeat(extra + 1), shape: [2], data: new Float32Array([1, 2]) }], extra % 2 ? { k: "v".repeat(extra) } : {});
    const file = decodeSafetensors(bytes);
    assert.equal(file.dataStart % 8, 0);
    assert.equal(file.headerBytes.length, file.dataStart - 8);
    const text = new TextDecoder().decode(file.headerBytes);
    assert.match(text, /^\{.*\} *$/);
    // Aligned, so the floats can be viewed in place.
    assert.deepEqual(Array.from(new Float32Array(bytes.buffer, file.dataStart, 2)), [1, 2]);
  }
});

test("a file with no tensors and no metadata is an empty header", () => {
  const file = decodeSafetensors(encodeSafetensors([], {}));
  assert.equal(file.tensors.size, 0);
  assert.equal(file.metadata.size, 0);
  assert.equal(file.dataStart, 16);
});

test("tensorData returns a fresh copy each time", () => {
  const file = decodeSafetensors(encodeSafetensors(sampleTensors(), {}));
  const a = file.tensorData("embed.weight");
  a[0] = 12345;
  assert.notEqual(file.tensorData("embed.weight")[0], 12345);
  assert.throws(() => file.tensorData("missing"), (e: Error) => e instanceof SafetensorsError && /has no tensor "missing"/.test(e.message));
});

test("a file written by another tool, unpadded and at an odd offset in its buffer, reads the same", () => {
  // Header of 37 bytes: the data starts at byte 45, not 4-aligned.
  const header = JSON.stringify({ b: f32([2], 0), __metadata__: { who: "other" } });
  const data = new Float32Array([0.25, -8]);
  const inner = rawFile(header, 8);
  inner.set(new Uint8Array(data.buffer), 8 + header.length);
  const outer = new Uint8Array(inner.length + 3);
  outer.set(inner, 3);
  const file = decodeSafetensors(outer.subarray(3));
  assert.equal(file.dataStart, 8 + header.length);
  assert.deepEqual(Array.from(file.tensorData("b")), [0.25, -8]);
  assert.equal(file.metadata.get("who"), "other");
});

test("two empty tensors may share an offset, since they share no bytes", () => {
  const file = decodeSafetensors(rawFile({ a: f32([0], 0), b: f32([2, 0], 0), c: f32([1], 0) }, 4));
  assert.deepEqual([...file.tensors.keys()], ["a", "b", "c"]);
  assert.equal(file.tensorData("b").length, 0);
});

test("files shorter than the 8-byte header length are refused as too short", () => {
  for (const n of [0, 1, 7]) refuses(new Uint8Array(n), new RegExp(`is ${n} bytes, too short to be a safetensors file.*cut short`));
});

test("a header length whose high 32 bits are set is refused as not a safetensors file", () => {
  const bytes = rawFile("{}");
  new DataView(bytes.buffer).setUint32(4, 1, true);
  refuses(bytes, /declares a header of 4294967298 bytes \(over 4 GiB\).*not a safetensors file/);
  // The lab's own binary checkpoint, passed by mistake, lands here: "STLMCKPT" read as a length.
  refuses(new TextEncoder().encode("STLMCKPT and more"), /over 4 GiB/);
});

test("a header longer than maxHeaderBytes is refused before it is read", () => {
  refuses(rawFile(" ".repeat(100)), /declares a header of 100 bytes, more than the 64 accepted.*maxHeaderBytes/, { maxHeaderBytes: 64 });
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setUint32(0, DEFAULT_MAX_HEADER_BYTES + 1, true);
  refuses(huge, new RegExp(`more than the ${DEFAULT_MAX_HEADER_BYTES} accepted`));
});

test("a header longer than the bytes that follow is refused as truncated", () => {
  const bytes = rawFile(" ".repeat(1200)).subarray(0, 808);
  refuses(bytes, /is truncated: its header says 1200 bytes but only 800 follow; the file was cut short \(an interrupted copy or download\?\): use an earlier checkpoint or train again/);
});

test("a header that is not UTF-8, not JSON, or starts with a byte-order mark is refused", () => {
  const bad = new TextEncoder().encode('{"a":"xx"}');
  bad[6] = 0xff;
  refuses(rawFile(bad), /header of .* is not valid UTF-8/);
  refuses(rawFile("{not json}"), /header of .* is not valid JSON/);
  refuses(rawFile("\ufeff{}"), /is not valid JSON/);
  refuses(rawFile(""), /is not valid JSON/);
});

test("a header that is JSON but not an object, or begins with whitespace, is refused", () => {
  refuses(rawFile("null"), /header of .* is null, not a JSON object of tensors/);
  refuses(rawFile("[]"), /is an array, not a JSON object/);
  refuses(rawFile('"str"'), /is a string \("str"\), not a JSON object/);
  refuses(rawFile("7"), /is a number \(7\), not a JSON object/);
  refuses(rawFile(" {}"), /does not begin with "\{"/);
});

test("a tensor entry that is not an object is refused naming the tensor", () => {
  refuses(rawFile({ w: 5 }), /tensor "w" is described by a number \(5\), not an object with dtype, shape and data_offsets/);
  refuses(rawFile({ w: [0, 4] }), /tensor "w" is described by an array/);
  refuses(rawFile({ w: null }), /tensor "w" is described by null/);
});

test("a dtype other than F32 is refused naming the dtype and how to convert", () => {
  for (const dtype of ["F16", "BF16", "I64", "F64"]) {
    refuses(rawFile({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, 4), new RegExp(`tensor "w" has dtype "${dtype}", but only float32 \\("F32"\\) tensors are used here.*tensor\\.float\\(\\)`));
  }
  refuses(rawFile({ w: { dtype: 32, shape: [1], data_offsets: [0, 4] } }, 4), /has dtype 32/);
});

test("an entry lacking a field or with an unknown field is refused", () => {
  refuses(rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w" lacks "dtype"/);
  refuses(rawFile({ w: { dtype: "F32", data_offsets: [0, 4] } }, 4), /tensor "w" lacks "shape"/);
  refuses(rawFile({ w: { dtype: "F32", shape: [1] } }, 4), /tensor "w" lacks "data_offsets"/);
  refuses(rawFile({ w: { ...f32([1], 0), quant: "q8" } }, 4), /tensor "w" has an unknown field "quant"/);
});

test("a shape that is not a list of non-negative safe integers is refused", () => {
  for (const shape of ["4", [1.5], [-1], [2 ** 53], ["2"], [[2]], null, { 0: 1 }]) {
    refuses(rawFile({ w: { dtype: "F32", shape, data_offsets: [0, 4] } }, 4), /tensor "w" has shape .*, which is not a list of non-negative whole numbers/);
  }
  refuses(rawFile({ w: { dtype: "F32", shape: [2 ** 26, 2 ** 26, 2 ** 26], data_offsets: [0, 4] } }, 4), /more elements than can be counted exactly/);
});

test("data_offsets that are not two ordered non-negative safe integers are refused", () => {
  for (const offsets of ["0,4", [0], [0, 4, 8], [-4, 0], [8, 4], [0.5, 4.5], [0, 2 ** 53], null]) {
    refuses(rawFile({ w: { dtype: "F32", shape: [1], data_offsets: offsets } }, 4), /tensor "w" has data_offsets .*, which is not two non-negative whole numbers \[begin, end\] with begin <= end/);
  }
});

test("data_offsets that disagree with the shape are refused with both sizes", () => {
  refuses(rawFile({ w: f32([2], 0, 12) }, 12), /tensor "w" has shape \[2\] \(2 float32 values, 8 bytes\) but its data_offsets \[0, 12\] span 12 bytes/);
  refuses(rawFile({ w: f32([], 0, 0) }, 0), /\(1 float32 values, 4 bytes\)/);
});

test("a hostile header declaring a 10^12-element tensor is refused without allocating it", () => {
  const n = 10 ** 12;
  const start = performance.now();
  refuses(rawFile({ w: f32([10 ** 6, 10 ** 6], 0, n * 4) }, 16), /has data_offsets \[0, 4000000000000\] but the data section is only 16 bytes: .* is truncated/);
  assert.ok(performance.now() - start < 1000);
});

test("tensors past the end of the data section are refused as truncated", () => {
  refuses(rawFile({ a: f32([1], 0), b: f32([2], 4) }, 8), /tensor "b" has data_offsets \[4, 12\] but the data section is only 8 bytes.*cut short/);
});

test("overlapping tensors are refused, including two at the same offset", () => {
  refuses(rawFile({ a: f32([2], 0), b: f32([2], 4) }, 12), /tensors "a" \[0, 8\] and "b" \[4, 12\] overlap/);
  refuses(rawFile({ a: f32([2], 0), b: f32([2], 0) }, 8), /tensors "a" \[0, 8\] and "b" \[0, 8\] overlap/);
  refuses(rawFile({ a: f32([2], 0), e: f32([0], 4) }, 8), /tensors "a" \[0, 8\] and "e" \[4, 4\] overlap/);
});

test("a gap between tensors, or before the first, is refused", () => {
  refuses(rawFile({ a: f32([1], 0), b: f32([1], 8) }, 12), /no tensor covers bytes \[4, 8\) of the data section \(after "a"\), a gap/);
  refuses(rawFile({ b: f32([1], 4) }, 8), /no tensor covers bytes \[0, 4\) of the data section \(at its start\)/);
});

test("bytes after the last tensor are refused", () => {
  refuses(rawFile({ a: f32([1], 0) }, 8), /has 4 bytes after its last tensor \("a" ends at 4 of a 8-byte data section\)/);
  refuses(rawFile({}, 3), /has 3 bytes after its last tensor \(it holds no tensors/);
});

test("a tensor name written twice is caught as a gap, since JSON.parse keeps only the last", () => {
  const header = `{"w":${JSON.stringify(f32([2], 0))},"w":${JSON.stringify(f32([2], 8))}}`;
  refuses(rawFile(header, 16), /no tensor covers bytes \[0, 8\) .*a tensor name written twice in the header leaves one too/);
  // Written twice identically, nothing is lost: it reads as one tensor.
  const same = `{"w":${JSON.stringify(f32([2], 0))},"w":${JSON.stringify(f32([2], 0))}}`;
  assert.deepEqual([...decodeSafetensors(rawFile(same, 8)).tensors.keys()], ["w"]);
});

test("__metadata__ that is not an object of strings is refused", () => {
  for (const meta of ["x", [], null, 3]) refuses(rawFile({ __metadata__: meta }), /"__metadata__" is .*, not an object of strings/);
  refuses(rawFile({ __metadata__: { steps: 300 } }), /"__metadata__" entry "steps" is a number \(300\), but safetensors metadata holds only strings/);
  refuses(rawFile({ __metadata__: { nested: { a: "b" } } }), /entry "nested" is an object/);
});

test("metadata keys are kept in a Map, so even \"__proto__\" is just a key", () => {
  const file = decodeSafetensors(rawFile('{"__metadata__":{"__proto__":"x","constructor":"y"}}'));
  assert.equal(file.metadata.get("__proto__"), "x");
  assert.equal(file.metadata.get("constructor"), "y");
});

test("tensor names that are empty, too long, or reserved are refused", () => {
  refuses(rawFile({ "": f32([1], 0) }, 4), /holds a tensor with an empty name/);
  refuses(rawFile({ ["n".repeat(257)]: f32([1], 0) }, 4), /a name 257 characters long .*over the 256 accepted/);
  for (const name of ["__proto__", "constructor", "prototype"]) {
    refuses(rawFile(`{${JSON.stringify(name)}:${JSON.stringify(f32([1], 0))}}`, 4), new RegExp(`the reserved name "${name}"`));
  }
  assert.equal(decodeSafetensors(rawFile({ ["n".repeat(256)]: f32([1], 0) }, 4)).tensors.size, 1);
});

test("encoding refuses what decoding would refuse", () => {
  const one = new Float32Array(1);
  const fails = (tensors: SafetensorsTensor[], pattern: RegExp, metadata: Record<string, string> = {}) =>
    assert.throws(() => encodeSafetensors(tensors, metadata), (e: Error) => e instanceof SafetensorsError && pattern.test(e.message));
  fails([{ name: "w", shape: [2], data: one }], /tensor "w": its shape \[2\] holds 2 values but its data has 1/);
  fails([{ name: "w", shape: [-1], data: one }], /not a list of non-negative whole numbers/);
  fails([{ name: "w", shape: [1], data: one }, { name: "w", shape: [1], data: one }], /two tensors named "w"/);
  fails([{ name: "__proto__", shape: [1], data: one }], /reserved name/);
  fails([{ name: "__metadata__", shape: [1], data: one }], /keeps that key for metadata/);
  fails([{ name: "", shape: [1], data: one }], /empty name/);
  fails([], /metadata "n" is a number/, { n: 1 } as unknown as Record<string, string>);
});

test("firstNonFinite finds the first NaN or infinity, or -1", () => {
  assert.equal(firstNonFinite(new Float32Array([1, 2, NaN, Infinity])), 2);
  assert.equal(firstNonFinite(new Float32Array([-Infinity])), 0);
  assert.equal(firstNonFinite(new Float32Array([0, -0, 3.4028234663852886e38])), -1);
  assert.equal(firstNonFinite(new Float32Array(0)), -1);
});

test("a file cut short at any byte is refused with a SafetensorsError", () => {
  const bytes = encodeSafetensors(sampleTensors(), sampleMetadata());
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => decodeSafetensors(bytes.subarray(0, n), { what: WHAT }), SafetensorsError, `cut at ${n} of ${bytes.length}`);
  }
});

test("300 seeded random byte changes in the header are each refused cleanly or decode to a valid file", (t) => {
  const bytes = encodeSafetensors(sampleTensors(), sampleMetadata());
  const headerEnd = decodeSafetensors(bytes).dataStart;
  const rng = new Rng(2024);
  let refused = 0;
  for (let i = 0; i < 300; i++) {
    const bad = bytes.slice();
    const at = rng.nextUint32() % headerEnd;
    const old = bad[at];
    bad[at] = (old + 1 + (rng.nextUint32() % 255)) & 0xff; // always a different byte
    let file: SafetensorsFile;
    try {
      file = decodeSafetensors(bad, { what: WHAT });
    } catch (e) {
      assert.ok(e instanceof SafetensorsError, `byte ${at}: ${old} -> ${bad[at]} threw ${e}`);
      refused++;
      continue;
    }
    assertStructurallyValid(file);
  }
  t.diagnostic(`${refused} of 300 changed headers refused, ${300 - refused} decoded to valid files`);
  // Most changes break the header; some (inside a metadata string, a space to a tab) leave a valid file.
  assert.ok(refused > 150, `${refused} of 300 refused`);
});

const python = pythonReader();
const pythonTitle = python?.torch
  ? "PyTorch (torch.frombuffer) and plain Python read the lab's safetensors file value for value"
  : python
    ? "plain Python (struct and array; PyTorch is not installed) reads the lab's safetensors file value for value"
    : "Python reads the lab's safetensors file value for value (skipped without /usr/bin/python3)";

test(pythonTitle, (t) => {
  if (!python) {
    t.skip(`no ${"/usr/bin/python3"} on this machine: install python3 (and python3-torch) to check that other tools read the lab's files`);
    return;
  }
  const tensors = sampleTensors();
  const dir = mkdtempSync(join(tmpdir(), "stlm-safetensors-"));
  try {
    const path = join(dir, "model.safetensors");
    writeFileSync(path, encodeSafetensors(tensors, sampleMetadata()));
    const readers = python.torch ? [false, true] : [true];
    for (const plain of readers) {
      const read = readSafetensorsWithPython(path, { plain });
      t.diagnostic(`read with ${read.reader === "torch" ? "PyTorch" : "plain Python (array module)"}`);
      assert.equal(read.reader, plain ? "array" : "torch");
      assert.equal(read.dataStart % 8, 0);
      assert.deepEqual(read.metadata, sampleMetadata());
      assert.deepEqual([...read.tensors.keys()].sort(), tensors.map((x) => x.name).sort());
      for (const x of tensors) {
        const got = read.tensors.get(x.name)!;
        assert.deepEqual(got.shape, x.shape, x.name);
        assert.deepEqual(got.values, Array.from(x.data), `${x.name} read by ${read.reader}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
