// stlm tokenize: the chunks a boundary strategy makes of a text.
import { STRATEGIES, bpeSpans, strideSpans, wordSpans, DEFAULT_MAX_CHUNK, type Span, type Strategy } from "../text/boundaries.js";
import { BpeTokenizer, trainBpe, type Bpe } from "../text/bpe.js";
import { gpt2Spans } from "../text/gpt2.js";
import { PooledLM } from "../models/pooled.js";
import { BPE_VOCAB, tokenizerFreeConfig, tokenizerFreeFromCheckpoint } from "../experiments/tokenizer-free.js";
import { encodeText } from "../text/tokenizer.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus } from "../node/data.js";
import { loadCheckpointFile } from "../node/files.js";
import { specBpe } from "../models/models.js";
import { parseFlags, UsageError, type Flags, type FlagSpec } from "./args.js";

export const TOKENIZE_HELP = `stlm tokenize --strategy S --text TEXT [--stride K] [--max-chunk N] [--corpus C] [--vocab N] [--checkpoint DIR] [--json]

Prints the chunks a boundary strategy cuts TEXT into, one [chunk] each, then the
number of chunks and bytes per chunk. Strategies:

  stride    fixed chunks of --stride K bytes (1 to 1024, default 4)
  word      a word with the space before it, a number, punctuation, whitespace
  bpe       tokens of a byte-level BPE: the one in --checkpoint, else one of
            --vocab N ids (256 to 65536, default ${BPE_VOCAB}) trained now on --corpus C's training split (default austen)
  gpt2      GPT-2's BPE tokens (the r50k_base ranks, shipped offline by gpt-tokenizer)
  learned   the boundary predictor of a pooled model in --checkpoint; without one,
            an untrained predictor (boundaries near random), and it says so

Chunks are at most --max-chunk N bytes (1 to 1024; default ${DEFAULT_MAX_CHUNK}; 16 for learned).
A chunk that is not whole UTF-8 is shown as hex bytes <e6 97>.`;

export const TOKENIZE_FLAGS: FlagSpec = {
  strategy: "string",
  text: "string",
  // Past 1024 bytes a chunk is no longer a unit a pooled model could read.
  stride: { kind: "int", min: 1, max: 1024, example: 4 },
  "max-chunk": { kind: "int", min: 1, max: 1024, example: DEFAULT_MAX_CHUNK },
  corpus: "string",
  // 256 is the bytes alone; lib/text/bpe.ts packs a pair of ids into 16 bits each.
  vocab: { kind: "int", min: 256, max: 65536, note: "256: bytes alone", example: BPE_VOCAB },
  checkpoint: "string",
  json: "boolean"
};

export async function tokenizeCommand(argv: string[]): Promise<void> {
  const f = parseFlags(argv, TOKENIZE_FLAGS, "tokenize");
  const { strategy, bytes, spans, notes } = await tokenizeFromFlags(f);
  if (f.json) {
    process.stdout.write(JSON.stringify({ strategy, notes, spans, chunks: spans.map(([s, e]) => showChunk(bytes.subarray(s, e))) }) + "\n");
    return;
  }
  for (const n of notes) process.stderr.write(`${n}\n`);
  process.stdout.write(formatChunks(bytes, spans) + "\n");
}

/** The chunks as [chunk][chunk]..., then a line with their count and mean length. */
export function formatChunks(bytes: Uint8Array, spans: readonly Span[]): string {
  return (
    spans.map(([s, e]) => `[${showChunk(bytes.subarray(s, e))}]`).join("") +
    `\n${spans.length} chunks, ${bytes.length} bytes, ${(bytes.length / Math.max(1, spans.length)).toFixed(2)} bytes per chunk`
  );
}

/** The spans a strategy gives the text of parsed `stlm tokenize` flags, with notes on where its boundaries came from. */
export async function tokenizeFromFlags(f: Flags): Promise<{ strategy: Strategy; bytes: Uint8Array; spans: Span[]; notes: string[] }> {
  const strategy = f.strategy as Strategy | undefined;
  if (!strategy || !STRATEGIES.includes(strategy)) throw new UsageError(`stlm tokenize: --strategy must be one of ${STRATEGIES.join(", ")}`);
  if (f.text === undefined) throw new UsageError("stlm tokenize: --text TEXT is required (the text to cut into chunks)");
  const bytes = encodeText(String(f.text));
  const maxLen = (f["max-chunk"] as number | undefined) ?? (strategy === "learned" ? 16 : DEFAULT_MAX_CHUNK);
  const notes: string[] = [];
  let spans: Span[];
  switch (strategy) {
    case "stride":
      spans = strideSpans(bytes.length, (f.stride as number | undefined) ?? 4);
      break;
    case "word":
      spans = wordSpans(bytes, maxLen);
      break;
    case "gpt2":
      spans = gpt2Spans(bytes, maxLen);
      break;
    case "bpe": {
      let bpe: Bpe | undefined;
      if (f.checkpoint !== undefined) {
        bpe = specBpe((await loadCheckpointFile(String(f.checkpoint))).spec);
        if (!bpe) throw new UsageError(`stlm tokenize: the checkpoint in ${f.checkpoint} holds no BPE`);
        notes.push(`BPE of ${bpe.vocabSize} ids from ${f.checkpoint}`);
      } else {
        const name = (f.corpus as string | undefined) ?? "austen";
        const vocab = (f.vocab as number | undefined) ?? BPE_VOCAB;
        bpe = trainBpe((await loadCorpus(name)).train, vocab);
        notes.push(`BPE of ${bpe.vocabSize} ids trained just now on ${name}'s training split`);
      }
      spans = bpeSpans(bytes, new BpeTokenizer(bpe), maxLen);
      break;
    }
    case "learned": {
      await initNode();
      let model: PooledLM;
      if (f.checkpoint !== undefined) {
        const built = tokenizerFreeFromCheckpoint(await loadCheckpointFile(String(f.checkpoint)));
        if (!built?.pooled || built.pooled.config.strategy !== "learned") {
          built?.model.dispose();
          throw new UsageError(`stlm tokenize: ${f.checkpoint} is not a learned-boundary pooled model (train one with --preset pooled-learned)`);
        }
        model = built.pooled;
        notes.push(`learned boundaries of the model in ${f.checkpoint}`);
      } else {
        model = PooledLM.create(tokenizerFreeConfig("learned") as Parameters<typeof PooledLM.create>[0], 1);
        notes.push("no --checkpoint: an UNTRAINED boundary predictor, so these boundaries are near random (min 3, max 16 bytes)");
      }
      try {
        spans = await model.boundaries(bytes);
      } finally {
        model.dispose();
      }
      break;
    }
  }
  return { strategy, bytes, spans, notes };
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** A chunk as text (newlines and tabs escaped), or as hex bytes when it is not whole UTF-8. */
export function showChunk(chunk: Uint8Array): string {
  try {
    return strict.decode(chunk).replace(/\n/g, "\\n").replace(/\t/g, "\\t");
  } catch {
    return `<${Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join(" ")}>`;
  }
}
