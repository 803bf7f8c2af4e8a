// Why do trained models score below chance on next-sentence? The measurements
// behind the evaluation page's explanation, written to
// data/runs/evaluate/next-sentence.json:
//
//   node --import tsx scripts/next-sentence-investigation.ts [--only data/runs/nano-austen,...]
//
// (--only remakes the named scorers and keeps the others' results from the file.)
//
// For every item of data/eval/next-sentence.jsonl.gz and each scorer (the
// committed checkpoints nano-austen, the distillation teacher and student, and
// byte n-grams counted on austen's train split), each choice is scored twice by
// lib/eval/eval.ts's scoreContinuations: after `context + " "` (what
// nextSentence scores) and after "\n\n" alone (no context). From those:
//   acc, acc_norm                as stlm eval reports them;
//   acc, acc_norm without context: the same picks when the context is withheld;
//   acc_pmi                       the pick by log p(choice | context) - log p(choice | "\n\n"),
//                                 what the context adds (Holtzman et al. 2021, "Surface form
//                                 competition", domain-conditional PMI);
//   picks by length rank          how often each rule picks the shortest .. longest choice,
//                                 and the items split by the true choice's length rank;
//   picks                         every item's pick under each rule, so a subset's numbers
//                                 (the 92 items the old tokenizer-free comparison scored, say)
//                                 can be read off.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { parseFlags } from "../lib/cli/args.js";
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../lib/node/data.js";
import { loadCheckpointFile } from "../lib/node/files.js";
import { labModelFromCheckpoint } from "../lib/train/checkpoint.js";
import { EMPTY_CONTEXT_PREFIX, nextSentenceContinuations, scoreContinuations, type ScoringModel } from "../lib/eval/eval.js";
import { ngramScorer, trainGapNgram } from "../lib/eval/ngram.js";
import { encodeText } from "../lib/text/tokenizer.js";

const OUT = path.join(REPO_ROOT, "data", "runs", "evaluate", "next-sentence.json");
const only = (parseFlags(process.argv.slice(2), { only: "string" }, "next-sentence-investigation").only as string | undefined)?.split(",");
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const backend = await initNode("wasm");
const items = await loadEvalSet("next-sentence");
const austen = await loadCorpus("austen");

/** Rank 0 = shortest .. 3 = longest, by bytes; ties broken by index, as argmax does. */
function lengthRanks(lengths: number[]): number[] {
  const order = lengths.map((_, j) => j).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const rank = new Array<number>(4);
  order.forEach((j, r) => (rank[j] = r));
  return rank;
}

function argmax(v: readonly number[]): number {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
}

const lengths = items.map((it) => it.choices.map((c) => encodeText(c).length));
const ranks = lengths.map(lengthRanks);
const trueRank = items.map((it, i) => ranks[i][it.label]);
const countBy = (xs: number[]) => [0, 1, 2, 3].map((r) => xs.filter((x) => x === r).length);

const dataset = {
  items: items.length,
  /** The true choice of every item, one digit each. */
  labels: items.map((it) => it.label).join(""),
  labelCounts: countBy(items.map((it) => it.label)),
  /** How many items have the true choice at length rank 0 (shortest) .. 3 (longest). */
  trueLengthRank: countBy(trueRank),
  /** The true choice's length over the mean of the three others. */
  meanTrueOverOthers: round(items.reduce((s, it, i) => s + lengths[i][it.label] / ((lengths[i].reduce((a, b) => a + b, 0) - lengths[i][it.label]) / 3), 0) / items.length)
};

async function measure(label: string, scorer: ScoringModel) {
  const t0 = performance.now();
  const withCtx = await scoreContinuations(scorer, items.flatMap(nextSentenceContinuations));
  const prefix = encodeText(EMPTY_CONTEXT_PREFIX);
  const alone = await scoreContinuations(scorer, items.flatMap((it) => it.choices.map((c) => ({ context: prefix, continuation: encodeText(c) }))));
  const rules: Record<string, (i: number) => number[]> = {
    acc: (i) => withCtx.slice(4 * i, 4 * i + 4),
    accNorm: (i) => withCtx.slice(4 * i, 4 * i + 4).map((s, j) => s / lengths[i][j]),
    accNoContext: (i) => alone.slice(4 * i, 4 * i + 4),
    accNormNoContext: (i) => alone.slice(4 * i, 4 * i + 4).map((s, j) => s / lengths[i][j]),
    accPmi: (i) => withCtx.slice(4 * i, 4 * i + 4).map((s, j) => s - alone[4 * i + j])
  };
  const result: Record<string, unknown> = { label, blockSize: scorer.blockSize };
  for (const [name, scores] of Object.entries(rules)) {
    const picks = items.map((_, i) => argmax(scores(i)));
    const correct = picks.map((p, i) => (p === items[i].label ? 1 : 0));
    result[name] = {
      accuracy: round(correct.reduce<number>((a, b) => a + b, 0) / items.length),
      /** The pick for every item, in file order, one digit each: the page computes any subset's accuracy from it. */
      picks: picks.join(""),
      /** How often the pick is the shortest .. longest choice. */
      pickLengthRank: countBy(picks.map((p, i) => ranks[i][p])),
      /** Correct picks among the items whose true choice has length rank 0 .. 3. */
      correctByTrueRank: [0, 1, 2, 3].map((r) => correct.filter((_, i) => trueRank[i] === r).reduce<number>((a, b) => a + b, 0))
    };
  }
  // The true choice's mean log-probability per byte against the other three's, with and without context.
  const perByte = (scores: number[], i: number, j: number) => scores[4 * i + j] / lengths[i][j];
  const gap = (scores: number[]) =>
    items.reduce((s, it, i) => s + perByte(scores, i, it.label) - [0, 1, 2, 3].filter((j) => j !== it.label).reduce((a, j) => a + perByte(scores, i, j), 0) / 3, 0) / items.length;
  result.truePerByteMinusOthers = { withContext: round(gap(withCtx)), noContext: round(gap(alone)) };
  result.seconds = round((performance.now() - t0) / 1000, 1);
  process.stderr.write(`${label}: ${JSON.stringify(result)}\n`);
  return result;
}

const scorers: { label: string; make: () => Promise<{ scorer: ScoringModel; dispose: () => void; checkpointSha256?: string }> }[] = [
  { label: "byte unigram (austen train)", make: async () => ({ scorer: ngramScorer(trainGapNgram(austen.train, { order: 1 })), dispose: () => {} }) },
  { label: "byte 5-gram (austen train)", make: async () => ({ scorer: ngramScorer(trainGapNgram(austen.train, { order: 5 })), dispose: () => {} }) },
  ...["nano-austen", "distill/student", "distill/teacher"].map((run) => ({
    label: `data/runs/${run}`,
    make: async () => {
      const model = labModelFromCheckpoint(await loadCheckpointFile(path.join(REPO_ROOT, "data", "runs", run)));
      const file = path.join(REPO_ROOT, "data", "runs", run, "checkpoint.safetensors");
      return { scorer: model.byteScorer, dispose: () => model.dispose(), checkpointSha256: createHash("sha256").update(await readFile(file)).digest("hex") };
    }
  }))
];

const previous: { label: string }[] = only && existsSync(OUT) ? JSON.parse(await readFile(OUT, "utf8")).scorers : [];
const results: unknown[] = [];
for (const s of scorers) {
  const kept = only && !only.includes(s.label) ? previous.find((p) => p.label === s.label) : undefined;
  if (kept) {
    results.push(kept);
    continue;
  }
  const { scorer, dispose, checkpointSha256 } = await s.make();
  try {
    results.push({ ...(await measure(s.label, scorer)), ...(checkpointSha256 ? { checkpointSha256 } : {}) });
  } finally {
    dispose();
  }
}
await mkdir(path.dirname(OUT), { recursive: true });
await writeFile(
  OUT,
  JSON.stringify({ madeBy: "node --import tsx scripts/next-sentence-investigation.ts", backend, createdAt: new Date().toISOString(), dataset, scorers: results }, null, 1) + "\n"
);
process.stderr.write(`wrote ${OUT}\n`);
