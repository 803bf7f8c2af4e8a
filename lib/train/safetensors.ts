// The safetensors container, the format Hugging Face and PyTorch tools read:
//
//   uint64 little-endian header length N | N bytes of UTF-8 JSON header
//   | tensor data (raw little-endian values, tensors back to back)
//
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (byte offsets from the start of the data section) and may hold
// "__metadata__", an object of string values. Only float32 ("F32") tensors are
// used in this lab.
//
// A file may come from anywhere (a download, another tool, a hostile page), so
// decoding checks the whole header before it allocates anything sized by it: a
// header can declare a 10^12-element tensor, and nothing here may allocate more
// than the file's own size. The tensors must tile the data section exactly (no
// overlaps, gaps or trailing bytes), as the format asks: that also refuses files
// that hide a second payload, and catches a tensor name written twice (JSON.parse
// keeps the last, which leaves the first one's bytes as a gap).

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

/** A tensor to write: row-major float32 values and their shape. */
export interface SafetensorsTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** A tensor as a decoded header describes it: byte offsets `begin`..`end` from the start of the data section. */
export interface SafetensorsTensorInfo {
  dtype: "F32";
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  metadata: Map<string, string>;
  /** In the order of their data in the file (which is the order they were given to `encodeSafetensors`). */
  tensors: Map<string, SafetensorsTensorInfo>;
  /** Byte offset of the data section in `bytes`: 8 + the header length. */
  dataStart: number;
  /** The whole file, as passed in (not copied). */
  bytes: Uint8Array;
  /** The raw header JSON, padding included: a view into `bytes`, for hashing. */
  headerBytes: Uint8Array;
  /** A fresh copy of a tensor's values (mutating it leaves the file alone). */
  tensorData(name: string): Float32Array;
}

export interface DecodeSafetensorsOptions {
  /** What the bytes are, for messages: a file name, "the downloaded checkpoint". */
  what?: string;
  /** The largest header accepted; larger ones are refused before being read. */
  maxHeaderBytes?: number;
}

export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Longer names are refused: every tensor here has a short dotted name, and a long one is a damaged or crafted header. */
export const MAX_TENSOR_NAME_LENGTH = 256;

const METADATA_KEY = "__metadata__";
/** Names that would be dangerous if anyone ever used them as plain-object keys downstream. */
const RESERVED_NAMES = new Set(["__proto__", "constructor", "prototype"]);
const ENTRY_FIELDS = new Set(["dtype", "shape", "data_offsets"]);
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const CUT_SHORT = "the file was cut short (an interrupted copy or download?): use an earlier checkpoint or train again";
const DAMAGED = "the file is damaged or was not written as a safetensors file: use an earlier checkpoint or export it again";

/** A value from an untrusted header, shortened for a message (a header may be megabytes). */
function show(value: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${typeof value === "string" ? "a string" : typeof value === "number" ? "a number" : `a ${typeof value}`} (${show(value)})`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why a tensor name is refused, or null if it is fine. Used both ways, so the lab never writes what it would refuse. */
function nameProblem(name: string): string | null {
  if (name.length === 0) return "an empty name";
  if (name.length > MAX_TENSOR_NAME_LENGTH) return `a name ${name.length} characters long (${show(name)}), over the ${MAX_TENSOR_NAME_LENGTH} accepted`;
  if (RESERVED_NAMES.has(name)) return `the reserved name ${show(name)}`;
  return null;
}

/** The element count of a shape, or null if a dimension is not a non-negative safe integer or the count is not a safe integer. */
function elementCount(shape: readonly unknown[]): number | null {
  let count = 1;
  for (const d of shape) if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) return null;
  // A zero anywhere makes the count 0, even after dimensions whose product alone would overflow.
  if (shape.includes(0)) return 0;
  for (const d of shape as number[]) {
    count *= d;
    if (!Number.isSafeInteger(count)) return null;
  }
  return count;
}

export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Record<string, string>): Uint8Array {
  const seen = new Set<string>();
  const parts: string[] = [];
  const metaEntries = Object.entries(metadata);
  for (const [k, v] of metaEntries) {
    if (typeof v !== "string") throw new SafetensorsError(`metadata "${k}" is ${describe(v)}, but safetensors metadata holds only strings: JSON.stringify it first.`);
  }
  // The header is written by hand, not by JSON.stringify of one object: tensor names
  // like "0" would be moved to the front of an object, and the header should list the
  // tensors in data order, as the data lies.
  if (metaEntries.length > 0) {
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);
  }
  let offset = 0;
  for (const t of tensors) {
    const problem = nameProblem(t.name);
    if (problem) throw new SafetensorsError(`cannot write a tensor with ${problem}: rename it.`);
    if (t.name === METADATA_KEY) throw new SafetensorsError(`cannot write a tensor named "${METADATA_KEY}": the format keeps that key for metadata; rename it.`);
    if (seen.has(t.name)) throw new SafetensorsError(`cannot write two tensors named ${show(t.name)}: names must be unique.`);
    seen.add(t.name);
    const count = elementCount(t.shape);
    if (count === null) throw new SafetensorsError(`cannot write tensor ${show(t.name)}: its shape ${show(t.shape)} is not a list of non-negative whole numbers.`);
    if (count !== t.data.length) {
      throw new SafetensorsError(`cannot write tensor ${show(t.name)}: its shape ${show(t.shape)} holds ${count} values but its data has ${t.data.length}.`);
    }
    const end = offset + count * 4;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"F32","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(",")}}`);
  // Trailing spaces (which the format allows) pad the header so the data starts at a
  // multiple of 8 bytes: a reader can then view the floats in place without copying.
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const t of tensors) {
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(at + i * 4, t.data[i], true);
    }
    at += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, options: DecodeSafetensorsOptions = {}): SafetensorsFile {
  const what = options.what ?? "the safetensors file";
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const fail: (message: string) => never = (message) => {
    throw new SafetensorsError(message);
  };

  if (bytes.length < 8) {
    fail(`${what} is ${bytes.length} bytes, too short to be a safetensors file (which starts with an 8-byte header length): the file is empty or ${CUT_SHORT}.`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(4, true) !== 0) {
    fail(
      `${what} declares a header of ${view.getBigUint64(0, true)} bytes (over 4 GiB), which no safetensors file has: ` +
        `it is not a safetensors file, or its first 8 bytes are damaged; pass a .safetensors file.`
    );
  }
  const headerLength = view.getUint32(0, true);
  if (headerLength > maxHeaderBytes) {
    fail(
      `${what} declares a header of ${headerLength} bytes, more than the ${maxHeaderBytes} accepted: it is not a safetensors file ` +
        `or its first 8 bytes are damaged (if its header really is that large, raise maxHeaderBytes).`
    );
  }
  if (headerLength > bytes.length - 8) {
    fail(`${what} is truncated: its header says ${headerLength} bytes but only ${bytes.length - 8} follow; ${CUT_SHORT}.`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const headerBytes = bytes.subarray(8, dataStart);

  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so JSON.parse refuses it as other readers do.
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    return fail(`the header of ${what} is not valid UTF-8; ${DAMAGED}.`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`the header of ${what} is not valid JSON (${(e as Error).message}); ${DAMAGED}.`);
  }
  if (!isPlainObject(header)) fail(`the header of ${what} is ${describe(header)}, not a JSON object of tensors; ${DAMAGED}.`);
  // The format requires the JSON to begin at the first byte; leading whitespace is
  // refused so that every file accepted here is one that other readers accept too.
  if (headerBytes[0] !== 0x7b) fail(`the header of ${what} does not begin with "{" (it has leading whitespace), which the safetensors format forbids; ${DAMAGED}.`);

  const metadata = new Map<string, string>();
  const found: Array<[string, SafetensorsTensorInfo]> = [];
  for (const name of Object.keys(header as object)) {
    const value = (header as Record<string, unknown>)[name];
    if (name === METADATA_KEY) {
      if (!isPlainObject(value)) fail(`${what}: "${METADATA_KEY}" is ${describe(value)}, not an object of strings; ${DAMAGED}.`);
      for (const key of Object.keys(value as object)) {
        const v = (value as Record<string, unknown>)[key];
        if (typeof v !== "string") fail(`${what}: "${METADATA_KEY}" entry ${show(key)} is ${describe(v)}, but safetensors metadata holds only strings; ${DAMAGED}.`);
        metadata.set(key, v as string);
      }
      continue;
    }
    const problem = nameProblem(name);
    if (problem) fail(`${what} holds a tensor with ${problem}; ${DAMAGED}.`);
    const tensor = `${what}: tensor ${show(name)}`;
    if (!isPlainObject(value)) fail(`${tensor} is described by ${describe(value)}, not an object with dtype, shape and data_offsets; ${DAMAGED}.`);
    const entry = value as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (!ENTRY_FIELDS.has(key)) fail(`${tensor} has an unknown field ${show(key)} (a tensor has only dtype, shape and data_offsets); ${DAMAGED}.`);
    }
    for (const key of ENTRY_FIELDS) if (!Object.hasOwn(entry, key)) fail(`${tensor} lacks "${key}"; ${DAMAGED}.`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (dtype !== "F32") {
      fail(
        `${tensor} has dtype ${show(dtype)}, but only float32 ("F32") tensors are used here: ` +
          `convert it to float32 (in PyTorch, tensor.float()) and save it again.`
      );
    }
    const count = Array.isArray(shape) ? elementCount(shape) : null;
    if (count === null) {
      fail(
        Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
          ? `${tensor} has shape ${show(shape)}, more elements than can be counted exactly; ${DAMAGED}.`
          : `${tensor} has shape ${show(shape)}, which is not a list of non-negative whole numbers; ${DAMAGED}.`
      );
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) ||
      (offsets[0] as number) > (offsets[1] as number)
    ) {
      fail(`${tensor} has data_offsets ${show(offsets)}, which is not two non-negative whole numbers [begin, end] with begin <= end; ${DAMAGED}.`);
    }
    const [begin, end] = offsets as [number, number];
    const byteLength = (count as number) * 4;
    if (!Number.isSafeInteger(byteLength) || end - begin !== byteLength) {
      fail(
        `${tensor} has shape ${show(shape)} (${count} float32 values, ${byteLength} bytes) but its data_offsets [${begin}, ${end}] ` +
          `span ${end - begin} bytes; ${DAMAGED}.`
      );
    }
    if (end > dataLength) {
      fail(`${tensor} has data_offsets [${begin}, ${end}] but the data section is only ${dataLength} bytes: ${what} is truncated; ${CUT_SHORT}.`);
    }
    // "+ 0" turns a JSON "-0" into 0, so a shape read here is written back as plain integers.
    found.push([name, { dtype: "F32", shape: (shape as number[]).map((d) => d + 0), begin: begin + 0, end: end + 0 }]);
  }

  // Empty tensors sort before a non-empty one at the same offset; two empty ones may share an offset (they share no bytes).
  found.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let cursor = 0;
  let last: [string, SafetensorsTensorInfo] | null = null;
  for (const t of found) {
    const [name, { begin, end }] = t;
    if (begin < cursor) {
      const [lastName, l] = last as [string, SafetensorsTensorInfo];
      fail(
        `${what}: tensors ${show(lastName)} [${l.begin}, ${l.end}] and ${show(name)} [${begin}, ${end}] overlap, ` +
          `which the safetensors format forbids; ${DAMAGED}.`
      );
    }
    if (begin > cursor) {
      fail(
        `${what}: no tensor covers bytes [${cursor}, ${begin}) of the data section (${last ? `after ${show(last[0])}` : "at its start"}), ` +
          `a gap the safetensors format forbids (a tensor name written twice in the header leaves one too); ${DAMAGED}.`
      );
    }
    cursor = end;
    if (end > begin || last === null) last = t;
  }
  if (cursor < dataLength) {
    fail(
      `${what} has ${dataLength - cursor} bytes after its last tensor (${last ? `${show(last[0])} ends at ${cursor}` : "it holds no tensors"} ` +
        `of a ${dataLength}-byte data section), which the safetensors format forbids; ${DAMAGED}.`
    );
  }

  const tensors = new Map(found);
  return {
    metadata,
    tensors,
    dataStart,
    bytes,
    headerBytes,
    tensorData(name: string): Float32Array {
      const t = tensors.get(name);
      if (!t) throw new SafetensorsError(`${what} has no tensor ${show(name)}; it holds ${tensors.size} tensors${tensors.size ? `, e.g. ${show([...tensors.keys()].slice(0, 3))}` : ""}.`);
      const out = new Float32Array((t.end - t.begin) / 4);
      const from = dataStart + t.begin;
      if (LITTLE_ENDIAN_HOST) {
        // Copied byte-wise, so a data section at any alignment (other writers do not pad) reads the same.
        new Uint8Array(out.buffer).set(bytes.subarray(from, dataStart + t.end));
      } else {
        for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(from + i * 4, true);
      }
      return out;
    }
  };
}

/** The index of the first NaN or infinity in `data`, or -1 if every value is finite. */
export function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
