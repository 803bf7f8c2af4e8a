// Corpora, splits, reader text, evaluation sets and seeded batch sampling.
//
// No Node APIs and no DOM: gzip is undone with DecompressionStream, which Node 20
// and every current browser provide, so pages and the CLI read the same files
// through the same code. Node file access lives in lib/node/data.ts.
//
// Training never reads a test document, by construction: a Corpus holds one byte
// array per split, the train array is made only from documents whose split is
// "train", and a BatchSampler only ever sees the array it was given.
import type { Rng } from "../rng.js";
import { checkUserBytes, encodeText } from "./tokenizer.js";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

/** One document of a corpus file: a chapter, an address, a story. */
export interface CorpusDoc {
  id: string;
  split: Split;
  text: string;
}

/**
 * A corpus as the model sees it: the UTF-8 bytes of each split's documents,
 * joined with DOC_SEPARATOR, in file order.
 */
export interface Corpus {
  name: string;
  train: Uint8Array;
  val: Uint8Array;
  test: Uint8Array;
  /** Number of documents in each split. */
  docCounts: Record<Split, number>;
}

/**
 * Between two documents of a split. The corpora already separate paragraphs
 * with a blank line, so a document boundary reads as one more paragraph break
 * and needs no special token (a Uint8Array cannot hold EOT = 257 anyway).
 */
export const DOC_SEPARATOR = "\n\n";

/** The corpora committed in data/corpora (public-domain text; see data/README.md). */
export const CORPUS_NAMES = ["austen", "moby-dick", "sotu", "bible"] as const;
export type CorpusName = (typeof CORPUS_NAMES)[number];

/** Corpora that stay in ../shared/data for licence reasons; tools may read them there. */
export const SHARED_ONLY_CORPUS_NAMES = ["tinyshakespeare", "children-classics"] as const;

/** The evaluation sets committed in data/eval, plus BLiMP, which stays in ../shared/data. */
export const EVAL_SET_NAMES = ["minimal-pairs", "next-sentence"] as const;
export const SHARED_ONLY_EVAL_SET_NAMES = ["blimp"] as const;

/** A file that does not have the shape this module expects. */
export class DataFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DataFormatError";
  }
}

// ---------------------------------------------------------------------------
// gzip JSON Lines

/** Decompress gzip bytes and decode them as strict UTF-8. */
export async function gunzipText(bytes: Uint8Array, what = "the file"): Promise<string> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new DataFormatError(
      `${what} is not gzip data (it does not start with the gzip magic bytes 1f 8b). ` +
        `Give a .jsonl.gz file, or check that the download was not an HTML error page.`
    );
  }
  let raw: ArrayBuffer;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
    raw = await new Response(stream).arrayBuffer();
  } catch (err) {
    throw new DataFormatError(`${what} is damaged gzip data (${(err as Error).message}). Copy the file again and compare its sha256 with data/SHA256SUMS.`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new DataFormatError(`${what} decompresses to bytes that are not valid UTF-8. Copy the file again and compare its sha256 with data/SHA256SUMS.`);
  }
}

/** One JSON value per non-empty line. A bad line is reported by its number. */
export function parseJsonl<T = unknown>(text: string, what = "the file"): T[] {
  const rows: T[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch (err) {
      throw new DataFormatError(`${what}, line ${i + 1}: not valid JSON (${(err as Error).message}).`);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Splits

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib/PNG CRC-32 of some bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The split rule the stored corpora were made with (all but tinyshakespeare):
 * crc32 of the UTF-8 id, modulo 20: 0 is test, 1 is val, anything else train.
 * The split is stored in each file; this function is for checking it and for
 * splitting new multi-document corpora the same way.
 */
export function splitForId(id: string): Split {
  const r = crc32(encodeText(id)) % 20;
  return r === 0 ? "test" : r === 1 ? "val" : "train";
}

// ---------------------------------------------------------------------------
// Corpora

function fail(what: string, line: number, message: string): never {
  throw new DataFormatError(`${what}, document ${line}: ${message}`);
}

/** Check the rows of a corpus file: each needs a string id, a split and a non-empty text. */
export function toCorpusDocs(rows: unknown[], what = "the corpus"): CorpusDoc[] {
  const seen = new Set<string>();
  return rows.map((row, i) => {
    const r = row as Partial<CorpusDoc> | null;
    if (r === null || typeof r !== "object") fail(what, i + 1, "is not a JSON object.");
    if (typeof r.id !== "string" || r.id === "") fail(what, i + 1, `needs a string "id".`);
    if (seen.has(r.id)) fail(what, i + 1, `repeats the id "${r.id}"; ids must be unique.`);
    seen.add(r.id);
    if (!SPLITS.includes(r.split as Split)) {
      fail(what, i + 1, `"split" must be "train", "val" or "test" (got ${JSON.stringify(r.split)}).`);
    }
    if (typeof r.text !== "string" || r.text === "") fail(what, i + 1, `needs a non-empty string "text".`);
    return { id: r.id, split: r.split as Split, text: r.text };
  });
}

/** Build a Corpus from documents: each split's bytes are only its own documents. */
export function corpusFromDocs(name: string, docs: readonly CorpusDoc[]): Corpus {
  const texts: Record<Split, string[]> = { train: [], val: [], test: [] };
  for (const doc of docs) texts[doc.split].push(doc.text);
  return {
    name,
    train: encodeText(texts.train.join(DOC_SEPARATOR)),
    val: encodeText(texts.val.join(DOC_SEPARATOR)),
    test: encodeText(texts.test.join(DOC_SEPARATOR)),
    docCounts: { train: texts.train.length, val: texts.val.length, test: texts.test.length }
  };
}

/** Read a corpus file's bytes (gzip JSON Lines, as in data/corpora) into documents. */
export async function parseCorpusDocs(gzBytes: Uint8Array, what = "the corpus file"): Promise<CorpusDoc[]> {
  return toCorpusDocs(parseJsonl(await gunzipText(gzBytes, what), what), what);
}

/** Read a corpus file's bytes (gzip JSON Lines, as in data/corpora) into a Corpus. */
export async function corpusFromGzip(name: string, gzBytes: Uint8Array): Promise<Corpus> {
  return corpusFromDocs(name, await parseCorpusDocs(gzBytes, `corpus "${name}"`));
}

export interface TextCorpusOptions {
  /** The last fraction of the bytes kept for validation (default 0.1). */
  valFraction?: number;
  /** The corpus's name (default "text"). */
  name?: string;
}

/**
 * A Corpus from one text a reader supplied. The stored rule: the last
 * `valFraction` of the bytes is val, cut at the first line break at or after
 * that point (or, with no line break in the tail, at the next UTF-8 character
 * boundary), so both halves are whole text. There is no test split: the reader's
 * text is for training and watching validation loss; held-out evaluation uses
 * the committed corpora.
 */
export function corpusFromText(text: string, { valFraction = 0.1, name = "text" }: TextCorpusOptions = {}): Corpus {
  checkValFraction(valFraction);
  return splitText(encodeText(text), valFraction, name); // a string's UTF-8 is always valid
}

/**
 * corpusFromText for the bytes of a file, checked as decodeUserBytes checks them
 * (empty, not UTF-8, only whitespace; `what` names the text in the message) but
 * never decoded into one string, so a file of hundreds of MB costs its bytes
 * once: train and val are views of `bytes`, which the caller must not change.
 * A leading byte order mark is dropped, as decoding would drop it.
 */
export function corpusFromBytes(
  bytes: Uint8Array,
  { valFraction = 0.1, name = "text", what = "the text", isUtf8 }: TextCorpusOptions & { what?: string; isUtf8?: (bytes: Uint8Array) => boolean } = {}
): Corpus {
  checkValFraction(valFraction);
  return splitText(checkUserBytes(bytes, what, { isUtf8 }), valFraction, name);
}

function checkValFraction(valFraction: number): void {
  if (!(valFraction > 0 && valFraction < 1)) {
    throw new RangeError(`valFraction must be between 0 and 1, exclusive (got ${valFraction}); 0.1 keeps the last tenth for validation.`);
  }
}

function splitText(bytes: Uint8Array, valFraction: number, name: string): Corpus {
  const cut = splitPoint(bytes, valFraction);
  if (cut <= 0 || cut >= bytes.length) {
    throw new RangeError(`the text (${bytes.length} bytes) is too short to split into train and validation parts; give at least a few kilobytes.`);
  }
  return {
    name,
    train: bytes.subarray(0, cut),
    val: bytes.subarray(cut),
    test: new Uint8Array(0),
    docCounts: { train: 1, val: 1, test: 0 }
  };
}

/** The byte offset where corpusFromText's (and corpusFromBytes') val part starts. */
export function splitPoint(bytes: Uint8Array, valFraction: number): number {
  const target = Math.floor(bytes.length * (1 - valFraction));
  const nl = bytes.indexOf(0x0a, target);
  if (nl >= 0 && nl < bytes.length - 1) return nl + 1;
  let i = target;
  while (i < bytes.length && (bytes[i] & 0xc0) === 0x80) i++; // skip UTF-8 continuation bytes
  return i;
}

// ---------------------------------------------------------------------------
// Batches

export interface Batch {
  /** Input ids, row-major [batchSize, blockSize]. */
  x: Int32Array;
  /** Targets: x shifted left by one byte, [batchSize, blockSize]. */
  y: Int32Array;
}

/**
 * Random windows of one byte array: the training bytes of a Corpus, normally.
 * All randomness comes from the Rng passed in, so a run is reproducible and
 * resumes exactly from a checkpointed Rng state.
 */
export class BatchSampler {
  constructor(readonly bytes: Uint8Array) {}

  sample(rng: Rng, batchSize: number, blockSize: number): Batch {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize}).`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer (got ${blockSize}).`);
    const n = this.bytes.length;
    if (n < blockSize + 1) {
      throw new RangeError(
        `the text is ${n} bytes, shorter than one training window of blockSize + 1 = ${blockSize + 1} bytes; ` +
          `give more text or choose a smaller blockSize.`
      );
    }
    const x = new Int32Array(batchSize * blockSize);
    const y = new Int32Array(batchSize * blockSize);
    const starts = n - blockSize; // a window starting at s reads bytes s .. s + blockSize
    for (let b = 0; b < batchSize; b++) {
      const s = rng.int(starts);
      const row = b * blockSize;
      for (let t = 0; t < blockSize; t++) {
        x[row + t] = this.bytes[s + t];
        y[row + t] = this.bytes[s + t + 1];
      }
    }
    return { x, y };
  }
}

// ---------------------------------------------------------------------------
// Evaluation sets

/** A sentence and a minimally changed version of it; a model should prefer `good`. */
export interface MinimalPair {
  id: string;
  /** The corpus the sentence comes from ("austen", ...) or "blimp". */
  source: string;
  /** What was changed ("agreement", ...); for BLiMP, the paradigm (UID). */
  type: string;
  good: string;
  bad: string;
}

/** Two sentences of context and four candidate next sentences, one of them true. */
export interface NextSentenceItem {
  id: string;
  source: string;
  context: string;
  choices: [string, string, string, string];
  /** Index of the true next sentence in `choices`. */
  label: number;
}

const isString = (v: unknown): v is string => typeof v === "string";

/** Check the rows of data/eval/minimal-pairs.jsonl.gz. */
export function toMinimalPairs(rows: unknown[], what = "the minimal-pairs set"): MinimalPair[] {
  return rows.map((row, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    for (const key of ["id", "source", "type", "good", "bad"]) {
      if (!isString(r[key]) || r[key] === "") fail(what, i + 1, `needs a non-empty string "${key}".`);
    }
    return { id: r.id as string, source: r.source as string, type: r.type as string, good: r.good as string, bad: r.bad as string };
  });
}

/**
 * BLiMP rows (shared/data/eval/blimp.jsonl.gz) as minimal pairs, one type per
 * paradigm (UID).
 */
export function minimalPairsFromBlimp(rows: unknown[], what = "BLiMP"): MinimalPair[] {
  return rows.map((row, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    for (const key of ["UID", "sentence_good", "sentence_bad"]) {
      if (!isString(r[key]) || r[key] === "") fail(what, i + 1, `needs a non-empty string "${key}".`);
    }
    return {
      id: `blimp/${r.UID}/${r.pairID ?? i}`,
      source: "blimp",
      type: r.UID as string,
      good: r.sentence_good as string,
      bad: r.sentence_bad as string
    };
  });
}

/** Check the rows of data/eval/next-sentence.jsonl.gz. */
export function toNextSentenceItems(rows: unknown[], what = "the next-sentence set"): NextSentenceItem[] {
  return rows.map((row, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    for (const key of ["id", "source", "context"]) {
      if (!isString(r[key]) || r[key] === "") fail(what, i + 1, `needs a non-empty string "${key}".`);
    }
    const choices = r.choices;
    if (!Array.isArray(choices) || choices.length !== 4 || !choices.every((c) => isString(c) && c !== "")) {
      fail(what, i + 1, `"choices" must be an array of 4 non-empty strings.`);
    }
    const label = r.label;
    if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label > 3) {
      fail(what, i + 1, `"label" must be 0, 1, 2 or 3 (got ${JSON.stringify(label)}).`);
    }
    return {
      id: r.id as string,
      source: r.source as string,
      context: r.context as string,
      choices: choices as [string, string, string, string],
      label
    };
  });
}

/** Read minimal pairs from gzip JSON Lines bytes; BLiMP's own format is recognised. */
export async function minimalPairsFromGzip(gzBytes: Uint8Array, what = "the minimal-pairs set"): Promise<MinimalPair[]> {
  const rows = parseJsonl(await gunzipText(gzBytes, what), what);
  const first = rows[0] as Record<string, unknown> | undefined;
  return first && "sentence_good" in first ? minimalPairsFromBlimp(rows, what) : toMinimalPairs(rows, what);
}

/** Read next-sentence items from gzip JSON Lines bytes. */
export async function nextSentenceFromGzip(gzBytes: Uint8Array, what = "the next-sentence set"): Promise<NextSentenceItem[]> {
  return toNextSentenceItems(parseJsonl(await gunzipText(gzBytes, what), what), what);
}
