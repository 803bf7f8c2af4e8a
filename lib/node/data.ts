// Node file access for lib/text/data.ts: the committed corpora and evaluation sets in
// data/, the licence-restricted ones in ../shared/data when that folder exists,
// and text files a reader names on the command line.
import { existsSync, readdirSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  corpusFromBytes,
  corpusFromDocs,
  parseCorpusDocs,
  minimalPairsFromGzip,
  nextSentenceFromGzip,
  type Corpus,
  type CorpusDoc,
  type MinimalPair,
  type NextSentenceItem
} from "../text/data.js";
import { checkUserBytes } from "../text/tokenizer.js";

/** The repository root, found from this file's own location (lib/node/data.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** data/ in the repository: the committed corpora and evaluation sets. */
export const DATA_DIR = path.join(REPO_ROOT, "data");

/**
 * ../shared/data next to the repository, when it exists. It holds the corpora
 * and BLiMP that may not be committed; tests and tools that use them must skip
 * cleanly when this returns null.
 */
export function sharedDataDir(): string | null {
  const dir = path.resolve(REPO_ROOT, "..", "shared", "data");
  return existsSync(dir) ? dir : null;
}

function namesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jsonl.gz"))
    .map((f) => f.slice(0, -".jsonl.gz".length))
    .sort();
}

/** Corpus names that can be loaded here: data/corpora, plus ../shared/data/corpora if present. */
export function listCorpora(): string[] {
  const shared = sharedDataDir();
  const names = new Set([...namesIn(path.join(DATA_DIR, "corpora")), ...(shared ? namesIn(path.join(shared, "corpora")) : [])]);
  return [...names].sort();
}

/** Evaluation set names that can be loaded here: data/eval, plus ../shared/data/eval if present. */
export function listEvalSets(): string[] {
  const shared = sharedDataDir();
  const names = new Set([...namesIn(path.join(DATA_DIR, "eval")), ...(shared ? namesIn(path.join(shared, "eval")) : [])]);
  return [...names].sort();
}

/** The file for a corpus or evaluation set: data/ first, then ../shared/data. */
export function dataFile(kind: "corpora" | "eval", name: string): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    throw new Error(`"${name}" is not a data set name (lower-case letters, digits and dashes); choose one of: ${available(kind)}.`);
  }
  const local = path.join(DATA_DIR, kind, `${name}.jsonl.gz`);
  if (existsSync(local)) return local;
  const shared = sharedDataDir();
  if (shared) {
    const file = path.join(shared, kind, `${name}.jsonl.gz`);
    if (existsSync(file)) return file;
  }
  const what = kind === "corpora" ? "corpus" : "evaluation set";
  throw new Error(
    `No ${what} "${name}": looked for ${local}` +
      (shared ? ` and ${path.join(shared, kind, `${name}.jsonl.gz`)}` : ` (and ../shared/data is not there)`) +
      `. Choose one of: ${available(kind)}.`
  );
}

function available(kind: "corpora" | "eval"): string {
  const names = kind === "corpora" ? listCorpora() : listEvalSets();
  return names.length ? names.join(", ") : "(none found; is data/ missing?)";
}

/** The documents of a corpus, with their stored splits. */
export async function loadCorpusDocs(name: string): Promise<CorpusDoc[]> {
  const file = dataFile("corpora", name);
  return parseCorpusDocs(new Uint8Array(await readFile(file)), file);
}

/** A corpus by name ("austen", "moby-dick", "sotu", "bible"; others from ../shared/data). */
export async function loadCorpus(name: string): Promise<Corpus> {
  return corpusFromDocs(name, await loadCorpusDocs(name));
}

/** An evaluation set by name: "minimal-pairs", "next-sentence", or "blimp" from ../shared/data. */
export async function loadEvalSet(name: "minimal-pairs" | "blimp"): Promise<MinimalPair[]>;
export async function loadEvalSet(name: "next-sentence"): Promise<NextSentenceItem[]>;
export async function loadEvalSet(name: string): Promise<MinimalPair[] | NextSentenceItem[]>;
export async function loadEvalSet(name: string): Promise<MinimalPair[] | NextSentenceItem[]> {
  const file = dataFile("eval", name);
  const bytes = new Uint8Array(await readFile(file));
  return name === "next-sentence" ? nextSentenceFromGzip(bytes, file) : minimalPairsFromGzip(bytes, file);
}

/**
 * The largest --text file: 1 GiB. Training reads random windows of a few
 * hundred bytes, so a few MB is plenty and more only costs memory (the bytes are
 * held once, a view for train and one for validation); above it, say so rather
 * than fill the machine's memory.
 */
export const MAX_TEXT_FILE_BYTES = 2 ** 30;

export interface TextFileOptions {
  /** Refuse a file larger than this many bytes (default MAX_TEXT_FILE_BYTES). */
  maxBytes?: number;
}

const formatSize = (n: number) => (n >= 2 ** 30 ? `${+(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${+(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`);

/**
 * The bytes of a text file a reader named, checked strictly as UTF-8 (Node's
 * buffer.isUtf8, on the bytes: no string of the whole file is made) and
 * without a leading byte order mark. A missing, unreadable, too large, empty or
 * non-UTF-8 file gives an error that says what to do.
 */
export async function loadTextBytes(file: string, options: TextFileOptions = {}): Promise<Uint8Array> {
  return checkUserBytes(await readTextFile(file, options), `the file ${file}`, { isUtf8 });
}

/** A file's bytes, unchecked, with the size checked before anything is read. */
async function readTextFile(file: string, { maxBytes = MAX_TEXT_FILE_BYTES }: TextFileOptions): Promise<Uint8Array> {
  const abs = path.resolve(file);
  const tooLarge = (size: number) =>
    new Error(
      `${abs} is ${formatSize(size)}, more than the ${formatSize(maxBytes)} a text file may be here: training reads random windows of a few hundred bytes, ` +
        `so a few MB is plenty. Train on a part of it (for example \`head -n 100000 ${file} > part.txt\`, which cuts at a line break).`
    );
  let bytes: Buffer;
  try {
    const st = await stat(abs);
    if (st.isDirectory()) throw new Error(`${abs} is a folder; give the path of a UTF-8 text file.`);
    if (st.size > maxBytes) throw tooLarge(st.size);
    bytes = await readFile(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err; // ours, above
    if (code === "ENOENT") throw new Error(`No such file: ${abs}. Check the path (a relative path is read from ${process.cwd()}).`);
    if (code === "EISDIR") throw new Error(`${abs} is a folder; give the path of a UTF-8 text file.`);
    throw new Error(`Cannot read ${abs}: ${(err as Error).message}`);
  }
  if (bytes.length > maxBytes) throw tooLarge(bytes.length); // a pipe or device, whose size stat did not know
  // A plain Uint8Array view: a Buffer's slice() shares memory, a Uint8Array's copies, and callers expect the latter.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A text file a reader named, decoded strictly as UTF-8. For training, use
 * loadTextCorpus, which never makes a string of the whole file.
 */
export async function loadTextFile(file: string, options: TextFileOptions = {}): Promise<string> {
  const bytes = await loadTextBytes(file, options);
  // V8's longest string is 2^29 - 24 characters; past it decoding fails with a message about V8, not the file.
  if (bytes.length > 0x1fffffe8) throw new Error(`${path.resolve(file)} is too large to decode into one string (${formatSize(bytes.length)}); read it with loadTextCorpus or loadTextBytes.`);
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
}

/** A reader's text file as a Corpus: last `valFraction` for validation, no test split. Holds the file's bytes once. */
export async function loadTextCorpus(file: string, { valFraction = 0.1, maxBytes }: { valFraction?: number } & TextFileOptions = {}): Promise<Corpus> {
  return corpusFromBytes(await readTextFile(file, { maxBytes }), { valFraction, name: path.basename(file), what: `the file ${file}`, isUtf8 });
}
