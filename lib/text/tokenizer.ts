// Byte-level tokenizer: the 256 UTF-8 byte values plus two specials. No vocabulary
// to learn, nothing out of vocabulary, and an embedding table of 258 rows.

export const PAD = 256;
export const EOT = 257;
export const BYTE_VOCAB_SIZE = 258;

const encoder = new TextEncoder();

export class InvalidTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTextError";
  }
}

/** Text to byte ids (UTF-8). */
export function encodeText(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Byte ids back to text. Specials are dropped; an incomplete or invalid UTF-8
 * sequence (a model can emit one) becomes U+FFFD rather than an error.
 */
export function decodeBytes(ids: ArrayLike<number>): string {
  const bytes: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] < 256) bytes.push(ids[i]);
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}

/**
 * Strictly decode bytes a reader supplied (a dropped file, a --text path).
 * Throws a message that says what is wrong and what to do.
 */
export function decodeUserBytes(bytes: Uint8Array, what = "the text"): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(checkUserBytes(bytes, what));
}

/**
 * Check bytes a reader supplied without decoding them into one string (a large
 * file would not fit one: V8 strings stop at 2^29 - 24 characters), and return
 * them without a leading byte order mark, as a view. Throws what decodeUserBytes
 * throws: empty, not UTF-8 (with the first bad byte's offset), only whitespace.
 * `isUtf8` is a faster whole-buffer check where the platform has one (Node's
 * buffer.isUtf8); without it the bytes are decoded a MiB at a time.
 */
export function checkUserBytes(bytes: Uint8Array, what = "the text", { isUtf8 }: { isUtf8?: (bytes: Uint8Array) => boolean } = {}): Uint8Array {
  if (bytes.length === 0) throw new InvalidTextError(`${what} is empty: give at least a few kilobytes of text to train on.`);
  const at = isUtf8 ? (isUtf8(bytes) ? -1 : firstInvalidUtf8Chunked(bytes)) : firstInvalidUtf8Chunked(bytes);
  if (at >= 0) {
    throw new InvalidTextError(
      `${what} is not valid UTF-8 (first bad byte at offset ${at}, 0x${bytes[at].toString(16).padStart(2, "0")}). ` +
        `Save it as UTF-8 (for example \`iconv -f latin1 -t utf-8 in.txt > out.txt\`) and try again.`
    );
  }
  const text = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (onlyWhitespace(text)) throw new InvalidTextError(`${what} holds only whitespace: give real text to train on.`);
  return text;
}

/** 1 MiB: the piece firstInvalidUtf8Chunked decodes at a time. */
export const UTF8_CHUNK = 1 << 20;

/**
 * firstInvalidUtf8, fast: the browser's or Node's own decoder checks `chunk`
 * bytes at a time (a character split between two pieces is carried over by
 * {stream: true}), and only the piece that fails is scanned byte by byte for
 * the offset.
 */
export function firstInvalidUtf8Chunked(bytes: Uint8Array, chunk = UTF8_CHUNK): number {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  for (let at = 0; at < bytes.length; at += chunk) {
    const end = Math.min(bytes.length, at + chunk);
    try {
      decoder.decode(bytes.subarray(at, end), { stream: end < bytes.length });
    } catch {
      // The bad byte is in this piece or is the start of a character carried
      // over from the last one (at most 3 bytes back): scan from the start of
      // the character that holds `at`.
      let s = Math.max(0, at - 3);
      while (s < at && (bytes[s] & 0xc0) === 0x80) s++;
      const i = firstInvalidUtf8(bytes.subarray(s));
      return i >= 0 ? s + i : firstInvalidUtf8(bytes);
    }
  }
  return -1;
}

/** Whether valid UTF-8 bytes are all whitespace (what String.prototype.trim removes), without decoding them whole. */
function onlyWhitespace(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0d))) i++;
  if (i === bytes.length) return true;
  if (bytes[i] < 0x80) return false;
  // Beyond ASCII (U+00A0, U+3000, ...): decode a piece at a time; \s is trim's set.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for (let at = i; at < bytes.length; at += 1 << 16) {
    if (/\S/.test(decoder.decode(bytes.subarray(at, at + (1 << 16)), { stream: true }))) return false;
  }
  return !/\S/.test(decoder.decode());
}

/** Offset of the first byte that breaks UTF-8 well-formedness, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need: number, min: number;
    if (b >= 0xc2 && b <= 0xdf) { need = 1; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; min = 0x10000; }
    else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
