// Node file access for lib/data.ts: the committed corpora and evaluation sets in
// data/, the licence-restricted ones in ../shared/data when that folder exists,
// and text files a reader names on the command line.
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  corpusFromDocs,
  corpusFromText,
  parseCorpusDocs,
  minimalPairsFromGzip,
  nextSentenceFromGzip,
  type Corpus,
  type CorpusDoc,
  type MinimalPair,
  type NextSentenceItem
} from "../data.js";
import { decodeUserBytes } from "../tokenizer.js";

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
 * A text file a reader named, decoded strictly as UTF-8. A missing, unreadable,
 * empty or non-UTF-8 file gives an error that says what to do.
 */
export async function loadTextFile(file: string): Promise<string> {
  const abs = path.resolve(file);
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new Error(`No such file: ${abs}. Check the path (a relative path is read from ${process.cwd()}).`);
    if (code === "EISDIR") throw new Error(`${abs} is a folder; give the path of a UTF-8 text file.`);
    throw new Error(`Cannot read ${abs}: ${(err as Error).message}`);
  }
  return decodeUserBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), `the file ${file}`);
}

/** A reader's text file as a Corpus: last `valFraction` for validation, no test split. */
export async function loadTextCorpus(file: string, { valFraction = 0.1 }: { valFraction?: number } = {}): Promise<Corpus> {
  return corpusFromText(await loadTextFile(file), { valFraction, name: path.basename(file) });
}
