// The evaluation page's reference floors, written to data/runs/evaluate/floors.json:
//
//   node --import tsx scripts/eval-floors.ts
//
// For each corpus's train split, a byte unigram and a byte 5-gram
// (lib/eval/ngram.ts, interpolated Witten-Bell) are counted, then scored:
// bits per byte on every test split (read from its first byte, the count model's
// context never crossing the start of the split), and minimal pairs and
// next-sentence through lib/eval/eval.ts's scoreContinuations, the same rules
// the model is scored by. The per-item outcomes and the running bit sums let the
// page read the floors off any subset (lib/eval/floors.ts). A 7-gram needs keys
// past 2^53 in ngram.ts's packing; its figures are stated from their source.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../lib/node/data.js";
import { CORPUS_NAMES } from "../lib/text/data.js";
import { EMPTY_CONTEXT_PREFIX, nextSentenceContinuations, nextSentencePicks, scoreContinuations } from "../lib/eval/eval.js";
import { gapNgramProb, ngramScorer, trainGapNgram } from "../lib/eval/ngram.js";
import { FLOOR_BYTE_STEP, type FloorRecord } from "../lib/eval/floors.js";
import { encodeText } from "../lib/text/tokenizer.js";

const OUT = path.join(REPO_ROOT, "data", "runs", "evaluate", "floors.json");
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const backend = await initNode("wasm");
const pairs = await loadEvalSet("minimal-pairs");
const items = await loadEvalSet("next-sentence");
const corpora = await Promise.all(CORPUS_NAMES.map(async (name) => ({ name, corpus: await loadCorpus(name) })));
const prefix = encodeText(EMPTY_CONTEXT_PREFIX);

const floors: FloorRecord[] = [];
for (const { name: train, corpus } of corpora) {
  for (const order of [1, 5]) {
    const t0 = performance.now();
    const m = trainGapNgram(corpus.train, { order });
    const testBits: FloorRecord["testBits"] = {};
    for (const { name, corpus: c } of corpora) {
      const cum: number[] = [];
      let bits = 0;
      for (let t = 1; t < c.test.length; t++) {
        bits -= Math.log2(gapNgramProb(m, c.test, t));
        if ((t + 1) % FLOOR_BYTE_STEP === 0) cum.push(round(bits, 3));
      }
      testBits[name] = { cum, total: round(bits, 3), length: c.test.length };
    }
    const scorer = ngramScorer(m);
    const pairScores = await scoreContinuations(scorer, pairs.flatMap((p) => [{ context: prefix, continuation: encodeText(p.good) }, { context: prefix, continuation: encodeText(p.bad) }]));
    const choiceScores = await scoreContinuations(scorer, items.flatMap(nextSentenceContinuations));
    const picks = items.map((it, i) => nextSentencePicks(it, choiceScores.slice(4 * i, 4 * i + 4)));
    floors.push({
      id: `${order === 1 ? "unigram" : `${order}-gram`}/${train}`,
      label: `byte ${order === 1 ? "unigram" : `${order}-gram`} (${train} train split)`,
      train,
      order,
      testBits,
      minimalPairs: pairs.map((_, i) => (pairScores[2 * i] > pairScores[2 * i + 1] ? "1" : "0")).join(""),
      nextSentence: { acc: picks.map((p) => p.pickRaw).join(""), accNorm: picks.map((p) => p.pickNorm).join("") }
    });
    const f = floors.at(-1)!;
    process.stderr.write(`${f.label}: austen test ${(testBits.austen.total / (testBits.austen.length - 1)).toFixed(3)} bits/byte, minimal pairs ${(f.minimalPairs.split("").filter((c) => c === "1").length / pairs.length).toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
}

const stated = {
  label: "byte 7-gram (train splits of six corpora, 21.3 MB)",
  source: "shared/data/README.md, quoted in data/README.md (Reference scores): interpolated Witten-Bell, trained on the train splits of austen, moby-dick, sotu, bible, tinyshakespeare and children-classics; scored on the full sets",
  testBitsPerByte: { austen: 1.73, "moby-dick": 2.09, sotu: 1.42, bible: 1.62 },
  minimalPairs: { accuracy: 0.92, byType: { agreement: 0.85, determiner: 0.84, pronoun_case: 0.95, adjacent_swap: 0.91, word_substitution: 0.89, ngram_shuffle: 0.99, article: 1.0 } },
  nextSentence: { accNorm: 0.24 }
};

await mkdir(path.dirname(OUT), { recursive: true });
await writeFile(OUT, JSON.stringify({ madeBy: "node --import tsx scripts/eval-floors.ts", byteStep: FLOOR_BYTE_STEP, backend, createdAt: new Date().toISOString(), floors, stated }) + "\n");
process.stderr.write(`wrote ${OUT}\n`);
