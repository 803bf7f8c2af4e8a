// The lab's evaluation of one model, the same in `stlm eval`, the evaluation
// page and the training page's card: test bits/byte on each corpus, minimal
// pairs overall and by type, next-sentence acc_norm and acc.
//
// An Evaluator holds one model and the evaluation data, and keeps what it has
// scored: asked for a larger subset it scores only what is new (more bytes of
// each test split, more items in lib/eval/subset.ts's seeded order), and asked
// for a smaller one it scores nothing. The numbers for a size do not depend on
// the sizes asked for before (every window and item is scored on its own; only
// the batching differs, which moves a sum by float rounding, ~1e-7).
import type { MinimalPair, NextSentenceItem } from "../text/data.js";
import {
  continuationRows,
  EMPTY_CONTEXT_PREFIX,
  minimalPairsResult,
  nextSentenceContinuations,
  nextSentencePicks,
  nextSentenceResult,
  sumLogProbs,
  windowCount,
  windowRows,
  type Continuation,
  type MinimalPairsResult,
  type NextSentenceResult,
  type Row,
  type ScoringModel
} from "./eval.js";
import { encodeText } from "../text/tokenizer.js";
import { SUBSET_SEED, subsetOrder } from "./subset.js";

export interface EvalData {
  /** Each corpus's test split, as bytes (lib/text/data.ts's Corpus.test). */
  corpora: readonly { name: string; test: Uint8Array }[];
  minimalPairs: readonly MinimalPair[];
  nextSentence: readonly NextSentenceItem[];
}

/** How much to score. Undefined: everything. */
export interface EvalSize {
  /** The first `bytes` bytes of each test split (>= 2). */
  bytes?: number;
  /** The first `items` items of each evaluation set, in subset order (>= 1). */
  items?: number;
}

export interface EvalProgress {
  /** What is being scored now, e.g. "test bits/byte (austen)". */
  metric: string;
  /** Rows (windows of bytes) scored so far in this call, and how many it scores in all. */
  done: number;
  total: number;
}

export interface EvalRunOptions {
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
  /** Awaited after each batch (a page or worker yields to its event loop here). */
  afterBatch?: () => Promise<void>;
}

export interface EvalReport {
  size: {
    /** Bytes of each test split read (every one but the first is predicted). */
    bytes: Record<string, number>;
    minimalPairs: number;
    nextSentence: number;
    /** How items were chosen: the first n of a seeded shuffle (lib/eval/subset.ts). */
    order: "seeded shuffle";
    seed: number;
  };
  testBitsPerByte: Record<string, number>;
  minimalPairs: MinimalPairsResult;
  nextSentence: NextSentenceResult;
}

/** The evaluation page's first subset: 16 KiB of each test split, 100 items of each set. */
export const DEFAULT_EVAL_SIZE = { bytes: 16384, items: 100 } as const;

/** An evaluation that could not score the model: `metric` says which number, the message why. */
export class EvaluationError extends Error {
  constructor(readonly metric: string, readonly reason: string) {
    super(`${metric}: this model cannot be scored: ${reason}`);
    this.name = "EvaluationError";
  }
}

const BPB_BATCH = 16;
const ITEM_BATCH = 32;

interface Stage {
  metric: string;
  rows: Row[];
  batchSize: number;
  /** Receives each row's summed log-probability (nats), in the order of `rows`. */
  accept(sums: Float64Array): void;
}

export class Evaluator {
  /** Per corpus: the summed log-probability of each window scored, keyed "index:end" (a window cut short by a subset's end is a different window). */
  private readonly windows = new Map<string, Map<string, number>>();
  private readonly pairScores: number[] = []; // [good, bad] per subset position
  private readonly choiceScores: number[] = []; // four per subset position
  private readonly pairOrder: Int32Array;
  private readonly itemOrder: Int32Array;
  private readonly seed: number;

  constructor(
    readonly model: ScoringModel,
    readonly data: EvalData,
    { seed = SUBSET_SEED }: { seed?: number } = {}
  ) {
    if (data.corpora.length === 0) throw new RangeError("the evaluation needs at least one corpus's test split.");
    if (data.minimalPairs.length === 0) throw new RangeError("the evaluation needs minimal pairs (loadEvalSet(\"minimal-pairs\")).");
    if (data.nextSentence.length === 0) throw new RangeError("the evaluation needs next-sentence items (loadEvalSet(\"next-sentence\")).");
    this.seed = seed;
    this.pairOrder = subsetOrder(data.minimalPairs.length, seed);
    this.itemOrder = subsetOrder(data.nextSentence.length, seed);
    for (const c of data.corpora) this.windows.set(c.name, new Map());
  }

  /** The sizes `size` stands for, set by set. */
  resolve(size: EvalSize = {}): EvalReport["size"] {
    if (size.bytes !== undefined && (!Number.isInteger(size.bytes) || size.bytes < 2)) throw new RangeError(`bytes must be a whole number >= 2 (got ${size.bytes}).`);
    if (size.items !== undefined && (!Number.isInteger(size.items) || size.items < 1)) throw new RangeError(`items must be a whole number >= 1 (got ${size.items}).`);
    const bytes: Record<string, number> = {};
    for (const c of this.data.corpora) bytes[c.name] = Math.min(size.bytes ?? c.test.length, c.test.length);
    const items = (n: number) => Math.min(size.items ?? n, n);
    return { bytes, minimalPairs: items(this.data.minimalPairs.length), nextSentence: items(this.data.nextSentence.length), order: "seeded shuffle", seed: this.seed };
  }

  /** Windows of bytes evaluate(size) still has to score (0 when it has scored them all before). */
  pending(size: EvalSize = {}): number {
    return this.stages(this.resolve(size)).reduce((n, s) => n + s.rows.length, 0);
  }

  /** Score what `size` needs that has not been scored yet, and report the numbers for `size`. */
  async evaluate(size: EvalSize = {}, { onProgress, signal, afterBatch }: EvalRunOptions = {}): Promise<EvalReport> {
    const T = this.model.blockSize;
    if (!Number.isInteger(T) || T < 1) throw new EvaluationError("every metric", `its blockSize must be a positive integer (got ${T}).`);
    const resolved = this.resolve(size);
    const stages = this.stages(resolved);
    const total = stages.reduce((n, s) => n + s.rows.length, 0);
    let before = 0;
    for (const stage of stages) {
      onProgress?.({ metric: stage.metric, done: before, total });
      let sums: Float64Array;
      try {
        sums = await sumLogProbs(this.model, stage.rows, {
          batchSize: stage.batchSize,
          signal,
          afterBatch,
          onProgress: (done) => onProgress?.({ metric: stage.metric, done: before + done, total })
        });
      } catch (err) {
        if (signal?.aborted) throw err;
        throw new EvaluationError(stage.metric, err instanceof Error ? err.message : String(err));
      }
      stage.accept(sums);
      before += stage.rows.length;
    }
    return this.report(resolved);
  }

  private report(size: EvalReport["size"]): EvalReport {
    const testBitsPerByte: Record<string, number> = {};
    for (const c of this.data.corpora) {
      const n = size.bytes[c.name];
      const cache = this.windows.get(c.name)!;
      let s = 0;
      const T = this.model.blockSize;
      for (let w = 0; w < windowCount(n, T); w++) s += cache.get(`${w}:${Math.min(w * T + T + 1, n)}`)!;
      testBitsPerByte[c.name] = -s / (n - 1) / Math.LN2;
    }
    const pairs = Array.from(this.pairOrder.subarray(0, size.minimalPairs), (i, k) => ({
      type: this.data.minimalPairs[i].type,
      correct: this.pairScores[2 * k] > this.pairScores[2 * k + 1]
    }));
    const picks = Array.from(this.itemOrder.subarray(0, size.nextSentence), (i, k) => nextSentencePicks(this.data.nextSentence[i], this.choiceScores.slice(4 * k, 4 * k + 4)));
    return { size, testBitsPerByte, minimalPairs: minimalPairsResult(pairs), nextSentence: nextSentenceResult(picks) };
  }

  /** What is left to score for `size`, one stage per metric and corpus. */
  private stages(size: EvalReport["size"]): Stage[] {
    const T = this.model.blockSize;
    const stages: Stage[] = [];
    for (const c of this.data.corpora) {
      const n = size.bytes[c.name];
      const text = c.test.subarray(0, n);
      const cache = this.windows.get(c.name)!;
      const todo: number[] = [];
      for (let w = 0; w < windowCount(n, T); w++) if (!cache.has(`${w}:${Math.min(w * T + T + 1, n)}`)) todo.push(w);
      if (todo.length === 0) continue;
      const rows = todo.flatMap((w) => windowRows(text, T, w, w + 1));
      stages.push({
        metric: `test bits/byte (${c.name})`,
        rows,
        batchSize: BPB_BATCH,
        accept: (sums) => todo.forEach((w, k) => cache.set(`${w}:${Math.min(w * T + T + 1, n)}`, sums[k]))
      });
    }
    const prefix = encodeText(EMPTY_CONTEXT_PREFIX);
    const pairsFrom = this.pairScores.length / 2;
    if (size.minimalPairs > pairsFrom) {
      const items: Continuation[] = Array.from(this.pairOrder.subarray(pairsFrom, size.minimalPairs)).flatMap((i) => {
        const p = this.data.minimalPairs[i];
        return [
          { context: prefix, continuation: encodeText(p.good) },
          { context: prefix, continuation: encodeText(p.bad) }
        ];
      });
      stages.push(this.continuationStage("minimal pairs", items, (scores) => this.pairScores.push(...scores)));
    }
    const itemsFrom = this.choiceScores.length / 4;
    if (size.nextSentence > itemsFrom) {
      const items = Array.from(this.itemOrder.subarray(itemsFrom, size.nextSentence)).flatMap((i) => nextSentenceContinuations(this.data.nextSentence[i]));
      stages.push(this.continuationStage("next sentence", items, (scores) => this.choiceScores.push(...scores)));
    }
    return stages;
  }

  private continuationStage(metric: string, items: Continuation[], keep: (scores: number[]) => void): Stage {
    items.forEach((item, i) => {
      if (item.continuation.length === 0) throw new RangeError(`${metric}: item ${i} has an empty text to score.`);
    });
    const { rows, owner } = continuationRows(this.model.blockSize, items);
    return {
      metric,
      rows,
      batchSize: ITEM_BATCH,
      accept: (sums) => {
        const scores = new Array<number>(items.length).fill(0);
        sums.forEach((s, r) => (scores[owner[r]] += s));
        keep(scores);
      }
    };
  }
}
