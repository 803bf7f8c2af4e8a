// stlm eval and stlm sample: read a checkpoint, score it or continue a prompt.
import { CORPUS_NAMES } from "../text/data.js";
import { Evaluator } from "../eval/evaluation.js";
import { spread, SUBSET_SEED } from "../eval/subset.js";
import { labModelFromCheckpoint } from "../train/checkpoint.js";
import { decodeBytes, encodeText } from "../text/tokenizer.js";
import { initNodeThreads } from "../node/runtime.js";
import { availableCores } from "../node/threads.js";
import { loadCorpus, loadEvalSet } from "../node/data.js";
import { loadCheckpointFile } from "../node/files.js";
import { ObjectiveLM, objectiveLabel } from "../models/objectives.js";
import { formatSpeculative, measureSpeculative } from "../eval/speculative.js";
import { parseFlags, SEED_FLAG, UsageError, type FlagSpec } from "./args.js";

export const EVAL_HELP = `stlm eval --checkpoint DIR [--json] [--max-bytes N] [--subset N | --limit N] [--threads N]

Bits per byte on each corpus's test split (${CORPUS_NAMES.join(", ")}), minimal-pair
accuracy overall and by type, and next-sentence acc_norm and acc (each choice
scored by its log-probability given the context; acc_norm divides it by the
choice's length in bytes). The evaluation page scores the same subsets.

  --checkpoint DIR  a run folder (or its checkpoint file)
  --max-bytes N     score the first N bytes of each test split, N >= 2 (default: all)
  --subset N        score the first N items of each evaluation set in the lab's
                    seeded order (a shuffle with seed ${SUBSET_SEED}, lib/eval/subset.ts),
                    N >= 1 (default: all); a larger N holds the smaller subset
  --limit N         score N evenly spaced items of each evaluation set, N >= 1
                    (the subsets of earlier precomputed results; they do not nest)
  --threads N       threads for the lab's wasm kernels, 1 to 32 (default: every core;
                    the scores are the same bits at every thread count)
  --json            print one JSON object; with scoringSeconds (the wall time of
                    scoring) and bytesPerSecond (the test bytes and the items'
                    text scored, over that time)`;

export const SAMPLE_HELP = `stlm sample --checkpoint DIR --prompt TEXT --tokens N [--temperature T] [--top-k K] [--seed S] [--speculative] [--threads N]

  --tokens N        bytes to generate, 0 to 100000 (default 200)
  --temperature T   >= 0; 0 always picks the most likely byte (default 0.8)
  --top-k K         sample among the K most likely bytes; 0: all of them (default 40)
  --seed S          0 to 4294967295 (default 1)
  --threads N       threads for the lab's wasm kernels, 1 to 32 (default: every core)
  --speculative     with a multi-byte model (trained with --objective mtp:N): heads
                    2..N draft bytes that head 1 checks in one forward pass; the
                    text has head 1's distribution. Prints the acceptance rate by
                    draft position, bytes per forward pass, and the wall-clock
                    speed-up over plain sampling of the same length (timed too)`;

export const EVAL_FLAGS: FlagSpec = {
  checkpoint: "string",
  json: "boolean",
  "max-bytes": { kind: "int", min: 2, example: 20000 },
  subset: { kind: "int", min: 1, example: 100 },
  limit: { kind: "int", min: 1, example: 100 },
  threads: { kind: "int", min: 1, max: 32, example: 2 }
};

export const SAMPLE_FLAGS: FlagSpec = {
  checkpoint: "string",
  prompt: "string",
  // Each byte is one forward pass; 100000 is hours on a CPU, so more is a typo.
  tokens: { kind: "int", min: 0, max: 100_000, example: 200 },
  temperature: { kind: "number", min: 0, note: "0: always the most likely byte", example: 0.8 },
  "top-k": { kind: "int", min: 0, note: "0: no top-k", example: 40 },
  seed: SEED_FLAG,
  speculative: "boolean",
  threads: { kind: "int", min: 1, max: 32, example: 2 }
};

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, EVAL_FLAGS, "eval");
  if (f.checkpoint === undefined) throw new UsageError("stlm eval: --checkpoint DIR is required");
  if (f.subset !== undefined && f.limit !== undefined) throw new UsageError("stlm eval: give --subset N (the first N items in seeded order) or --limit N (N evenly spaced items), not both");
  const { kernelThreads } = await initNodeThreads((f.threads as number | undefined) ?? Math.min(32, availableCores()));
  const ckpt = await loadCheckpointFile(String(f.checkpoint));
  // Every kind of model is scored on bytes, through its byte scorer.
  const model = labModelFromCheckpoint(ckpt);
  const say = (s: string) => {
    if (!f.json) process.stderr.write(s);
  };
  try {
    const limit = f.limit as number | undefined;
    const corpora = [];
    for (const name of CORPUS_NAMES) corpora.push({ name, test: (await loadCorpus(name)).test });
    const data = {
      corpora,
      minimalPairs: spread(await loadEvalSet("minimal-pairs"), limit),
      nextSentence: spread(await loadEvalSet("next-sentence"), limit)
    };
    const evaluator = new Evaluator(model.byteScorer, data);
    let last = "";
    const t0 = performance.now();
    const report = await evaluator.evaluate(
      { bytes: f["max-bytes"] as number | undefined, items: f.subset as number | undefined },
      {
        onProgress: ({ metric }) => {
          if (metric !== last) say(`scoring ${metric}\n`);
          last = metric;
        }
      }
    );
    const scoringSeconds = (performance.now() - t0) / 1000;
    // Bytes scored: every test byte, and the items' text (mean bytes per item x items scored).
    const meanBytes = <T>(items: T[], bytes: (item: T) => number) => items.reduce((n, it) => n + bytes(it), 0) / Math.max(1, items.length);
    const scoredBytes =
      Object.values(report.size.bytes).reduce((n, x) => n + x, 0) +
      report.minimalPairs.n * meanBytes(data.minimalPairs, (p) => encodeText(p.good).length + encodeText(p.bad).length) +
      report.nextSentence.n * meanBytes(data.nextSentence, (it) => it.choices.reduce((n, c) => n + encodeText(it.context + " ").length + encodeText(c).length, 0));
    const bytesPerSecond = Math.round(scoredBytes / scoringSeconds);
    say(`scored about ${Math.round(scoredBytes).toLocaleString("en-US")} bytes in ${scoringSeconds.toFixed(1)} s: ${bytesPerSecond.toLocaleString("en-US")} bytes/s on ${kernelThreads} thread(s)\n`);
    for (const name of CORPUS_NAMES) say(`${name.padEnd(10)} test ${report.testBitsPerByte[name].toFixed(3)} bits/byte (${report.size.bytes[name]} bytes)\n`);
    const mp = report.minimalPairs;
    say(`minimal pairs  ${mp.accuracy.toFixed(3)} (${mp.n} pairs)\n`);
    for (const [type, r] of Object.entries(mp.byType)) say(`  ${type.padEnd(18)} ${r.accuracy.toFixed(3)} (${r.n})\n`);
    const ns = report.nextSentence;
    say(`next sentence  acc_norm ${ns.accNorm.toFixed(3)}, acc ${ns.acc.toFixed(3)} (${ns.n} items; chance 0.25)\n`);
    const subset = limit !== undefined ? { ...report.size, order: "evenly spaced (--limit)" } : report.size;
    const result = { checkpoint: String(f.checkpoint), parameters: model.parameterCount(), subset, testBitsPerByte: report.testBitsPerByte, minimalPairs: mp, nextSentence: ns, scoringSeconds: Math.round(scoringSeconds * 10) / 10, bytesPerSecond, threads: kernelThreads };
    if (f.json) process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    model.dispose();
  }
}

export { spread };

export async function sampleCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, SAMPLE_FLAGS, "sample");
  if (f.checkpoint === undefined) throw new UsageError("stlm sample: --checkpoint DIR is required");
  await initNodeThreads((f.threads as number | undefined) ?? Math.min(32, availableCores()));
  const model = labModelFromCheckpoint(await loadCheckpointFile(String(f.checkpoint)));
  try {
    const prompt = String(f.prompt ?? "");
    const options = {
      tokens: (f.tokens as number | undefined) ?? 200,
      temperature: (f.temperature as number | undefined) ?? 0.8,
      topK: (f["top-k"] as number | undefined) ?? 40,
      seed: (f.seed as number | undefined) ?? 1
    };
    if (!f.speculative) {
      process.stdout.write(prompt + decodeBytes(await model.generate(encodeText(prompt), options)) + "\n");
      return;
    }
    if (!(model instanceof ObjectiveLM) || model.headCount < 2) {
      throw new UsageError(`stlm sample: --speculative needs a multi-byte model, one trained with --objective mtp:N; ${String(f.checkpoint)} holds a ${model.spec.kind === "bytes" ? objectiveLabel(model.spec.objective) : model.spec.kind} model`);
    }
    const r = await measureSpeculative(model, encodeText(prompt), options);
    process.stdout.write(prompt + decodeBytes(r.speculative.bytes) + "\n");
    process.stderr.write(formatSpeculative(r) + "\n");
  } finally {
    model.dispose();
  }
}
