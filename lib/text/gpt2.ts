// GPT-2's BPE (the r50k_base ranks) through the gpt-tokenizer package, which
// ships the ranks as a JavaScript module: nothing is downloaded at run time. Kept
// apart from boundaries.ts because the ranks are several megabytes; pages load
// this module only when the reader asks for GPT-2 tokens.
import { encode } from "gpt-tokenizer/encoding/r50k_base";
import ranks from "gpt-tokenizer/bpeRanks/r50k_base";
import { DEFAULT_MAX_CHUNK, splitLong, type Span } from "./boundaries.js";
import { firstInvalidUtf8 } from "./tokenizer.js";

export const GPT2_VOCAB_SIZE = 50257;

const utf8 = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Bytes of GPT-2 token `id` (a rank is stored as a string, or as raw bytes when it is not whole UTF-8). */
export function gpt2TokenBytes(id: number): Uint8Array {
  const r = (ranks as readonly (string | readonly number[])[])[id];
  if (r === undefined) throw new RangeError(`${id} is not a GPT-2 token id`);
  return typeof r === "string" ? utf8.encode(r) : Uint8Array.from(r);
}

/** GPT-2 token ids of a text, as the published tokenizer gives them; "<|endoftext|>" in the text is plain text. */
export function gpt2Encode(text: string): number[] {
  return encode(text, { disallowedSpecial: new Set(), allowedSpecial: new Set() });
}

/**
 * GPT-2 tokens of some bytes with the span each covers. GPT-2 tokenizes text,
 * so bytes are read as UTF-8: each well-formed stretch is tokenized, and a byte
 * that is not valid UTF-8 becomes a token-less span of its own (id -1).
 */
export function gpt2Tokens(bytes: Uint8Array): { ids: number[]; spans: Span[] } {
  const ids: number[] = [];
  const spans: Span[] = [];
  let at = 0;
  while (at < bytes.length) {
    const bad = firstInvalidUtf8(bytes.subarray(at));
    const end = bad < 0 ? bytes.length : at + bad;
    if (end > at) {
      let pos = at;
      for (const id of gpt2Encode(decoder.decode(bytes.subarray(at, end)))) {
        const n = gpt2TokenBytes(id).length;
        ids.push(id);
        spans.push([pos, pos + n]);
        pos += n;
      }
      if (pos !== end) throw new Error(`GPT-2 tokens cover ${pos - at} bytes of a ${end - at}-byte stretch; the ranks and the encoder disagree`);
    }
    if (bad >= 0) {
      ids.push(-1);
      spans.push([end, end + 1]);
      at = end + 1;
    } else at = end;
  }
  return { ids, spans };
}

/** Chunks at GPT-2 token boundaries, as the STLM paper's code pools; a token longer than maxLen is cut. */
export function gpt2Spans(bytes: Uint8Array, maxLen = DEFAULT_MAX_CHUNK): Span[] {
  return splitLong(bytes, gpt2Tokens(bytes).spans, maxLen);
}
