// stlm eval and stlm sample: read a checkpoint, score it or continue a prompt.
import { CORPUS_NAMES } from "../text/data.js";
import { bitsPerByte, minimalPairs, nextSentence } from "../eval/eval.js";
import { labModelFromCheckpoint } from "../train/checkpoint.js";
import { decodeBytes, encodeText } from "../text/tokenizer.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus, loadEvalSet } from "../node/data.js";
import { loadCheckpointFile } from "../node/files.js";
import { ObjectiveLM, objectiveLabel } from "../models/objectives.js";
import { formatSpeculative, measureSpeculative } from "../eval/speculative.js";
import { parseFlags, SEED_FLAG, UsageError, type FlagSpec } from "./args.js";

export const EVAL_HELP = `stlm eval --checkpoint DIR [--json] [--max-bytes N] [--limit N]

Bits per byte on each corpus's test split (${CORPUS_NAMES.join(", ")}), minimal-pair
accuracy overall and by type, and next-sentence acc_norm (each choice scored by its
log-probability given the context, divided by its length in bytes).

  --checkpoint DIR  a run folder (or its checkpoint.stlm file)
  --max-bytes N     score at most N bytes of each test split, N >= 1 (default: all)
  --limit N         score N evenly spaced items of each evaluation set, N >= 1 (default: all)
  --json            print one JSON object`;

export const SAMPLE_HELP = `stlm sample --checkpoint DIR --prompt TEXT --tokens N [--temperature T] [--top-k K] [--seed S] [--speculative]

  --tokens N        bytes to generate, 0 to 100000 (default 200)
  --temperature T   >= 0; 0 always picks the most likely byte (default 0.8)
  --top-k K         sample among the K most likely bytes; 0: all of them (default 40)
  --seed S          0 to 4294967295 (default 1)
  --speculative     with a multi-byte model (trained with --objective mtp:N): heads
                    2..N draft bytes that head 1 checks in one forward pass; the
                    text has head 1's distribution. Prints the acceptance rate by
                    draft position, bytes per forward pass, and the wall-clock
                    speed-up over plain sampling of the same length (timed too)`;

export const EVAL_FLAGS: FlagSpec = {
  checkpoint: "string",
  json: "boolean",
  "max-bytes": { kind: "int", min: 1, example: 20000 },
  limit: { kind: "int", min: 1, example: 100 }
};

export const SAMPLE_FLAGS: FlagSpec = {
  checkpoint: "string",
  prompt: "string",
  // Each byte is one forward pass; 100000 is hours on a CPU, so more is a typo.
  tokens: { kind: "int", min: 0, max: 100_000, example: 200 },
  temperature: { kind: "number", min: 0, note: "0: always the most likely byte", example: 0.8 },
  "top-k": { kind: "int", min: 0, note: "0: no top-k", example: 40 },
  seed: SEED_FLAG,
  speculative: "boolean"
};

export async function evalCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, EVAL_FLAGS, "eval");
  if (f.checkpoint === undefined) throw new UsageError("stlm eval: --checkpoint DIR is required");
  await initNode();
  const ckpt = await loadCheckpointFile(String(f.checkpoint));
  // Every kind of model is scored on bytes, through its byte scorer.
  const lab = labModelFromCheckpoint(ckpt);
  const model = { blockSize: lab.byteScorer.blockSize, tokenLogProbs: lab.byteScorer.tokenLogProbs.bind(lab.byteScorer), parameterCount: () => lab.parameterCount(), dispose: () => lab.dispose() };
  const say = (s: string) => {
    if (!f.json) process.stderr.write(s);
  };
  try {
    const testBitsPerByte: Record<string, number> = {};
    for (const name of CORPUS_NAMES) {
      const corpus = await loadCorpus(name);
      testBitsPerByte[name] = await bitsPerByte(model, corpus.test, { maxBytes: f["max-bytes"] as number | undefined });
      say(`${name.padEnd(10)} test ${testBitsPerByte[name].toFixed(3)} bits/byte\n`);
    }
    const limit = f.limit as number | undefined;
    const mp = await minimalPairs(model, spread(await loadEvalSet("minimal-pairs"), limit));
    say(`minimal pairs  ${mp.accuracy.toFixed(3)} (${mp.n} pairs)\n`);
    for (const [type, r] of Object.entries(mp.byType)) say(`  ${type.padEnd(18)} ${r.accuracy.toFixed(3)} (${r.n})\n`);
    const ns = await nextSentence(model, spread(await loadEvalSet("next-sentence"), limit));
    say(`next sentence  acc_norm ${ns.accNorm.toFixed(3)}, acc ${ns.acc.toFixed(3)} (${ns.n} items; chance 0.25)\n`);
    const result = { checkpoint: String(f.checkpoint), parameters: model.parameterCount(), testBitsPerByte, minimalPairs: mp, nextSentence: ns };
    if (f.json) process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    model.dispose();
  }
}

/** `limit` items spread evenly over the set (all of them without a limit), so a subset still mixes sources and types. */
/** `limit` items spread evenly over the set (all of them when limit is absent): the subset `stlm eval --limit` scores. */
export function spread<T>(items: T[], limit: number | undefined): T[] {
  if (limit === undefined || limit >= items.length) return items;
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}

export async function sampleCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, SAMPLE_FLAGS, "sample");
  if (f.checkpoint === undefined) throw new UsageError("stlm sample: --checkpoint DIR is required");
  await initNode();
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
