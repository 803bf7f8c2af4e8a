// The evaluation data in the browser: each corpus's test split and the two
// evaluation sets, read from the site's gzip files (the same files stlm eval reads).
import { CORPUS_NAMES, corpusFromGzip, minimalPairsFromGzip, nextSentenceFromGzip, type MinimalPair, type NextSentenceItem } from "../lib/text/data.js";
import type { EvalData } from "../lib/eval/evaluation.js";

interface FileLike {
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface EvalFiles {
  corpora: Record<string, FileLike>;
  minimalPairs: FileLike;
  nextSentence: FileLike;
}

export async function loadEvalSets(files: Pick<EvalFiles, "minimalPairs" | "nextSentence">): Promise<{ minimalPairs: MinimalPair[]; nextSentence: NextSentenceItem[] }> {
  const [minimalPairs, nextSentence] = await Promise.all([
    files.minimalPairs.arrayBuffer().then((b) => minimalPairsFromGzip(new Uint8Array(b))),
    files.nextSentence.arrayBuffer().then((b) => nextSentenceFromGzip(new Uint8Array(b)))
  ]);
  return { minimalPairs, nextSentence };
}

/** Every corpus's test split, in CORPUS_NAMES order (as stlm eval reports them). */
export async function loadTestSplits(corpora: Record<string, FileLike>): Promise<EvalData["corpora"]> {
  return Promise.all(
    CORPUS_NAMES.map(async (name) => {
      const file = corpora[name];
      if (!file) throw new Error(`no file for the corpus "${name}"`);
      return { name, test: (await corpusFromGzip(name, new Uint8Array(await file.arrayBuffer()))).test };
    })
  );
}

/** The test splits and both sets. */
export async function loadEvalData(files: EvalFiles): Promise<EvalData & { minimalPairs: MinimalPair[]; nextSentence: NextSentenceItem[] }> {
  const [corpora, sets] = await Promise.all([loadTestSplits(files.corpora), loadEvalSets(files)]);
  return { corpora, ...sets };
}
