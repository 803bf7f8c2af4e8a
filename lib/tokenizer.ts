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
  if (bytes.length === 0) throw new InvalidTextError(`${what} is empty: give at least a few kilobytes of text to train on.`);
  const at = firstInvalidUtf8(bytes);
  if (at >= 0) {
    throw new InvalidTextError(
      `${what} is not valid UTF-8 (first bad byte at offset ${at}, 0x${bytes[at].toString(16).padStart(2, "0")}). ` +
        `Save it as UTF-8 (for example \`iconv -f latin1 -t utf-8 in.txt > out.txt\`) and try again.`
    );
  }
  const text = new TextDecoder("utf-8").decode(bytes);
  if (text.trim().length === 0) throw new InvalidTextError(`${what} holds only whitespace: give real text to train on.`);
  return text;
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
