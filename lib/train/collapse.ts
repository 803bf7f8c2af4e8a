// The collapse guard of a pooled byte model. When the byte encoder's update
// swamps its input (a learning rate too high for it), every chunk's pooled
// vector becomes the same: the core then reads nothing that tells chunks apart,
// and the model can do no better than byte frequencies (the unigram), while its
// loss curve looks merely flat. The guard measures the between-chunk variance of
// the pooled vectors (PooledLM.chunkVariance) on a fixed probe of held-out rows
// and says so, as a Trainer diagnostic, when it falls below a floor.
import type { PooledLM } from "../models/pooled.js";
import type { Diagnostic } from "./trainer.js";

/** The diagnostic's name, and the field of a metrics.jsonl row that holds it. */
export const CHUNK_VARIANCE = "chunkVariance";

/**
 * Below this between-chunk variance the pooled vectors have collapsed.
 *
 * An absolute floor (a resumed run does not know its value at initialisation),
 * set from the stride-4 presets on austen, 8 probe rows = 1,032 chunks, measured
 * every 25 steps over 300 (scripts/tokenizer-free-decoders.ts, 3 seeds; data in
 * data/runs/tokenizer-free/decoders-austen.json):
 *  - at initialisation the variance is 0.186-0.196;
 *  - healthy runs (lr 1e-3, paper and causal decoders, 6 runs) all pass through
 *    a near-unigram phase at the end of warmup, where it dips, but never below
 *    0.0048 (lowest: causal, seed 3, step 75); they end at 0.60-0.75;
 *  - at lr 4e-3 two of three paper runs collapsed for good (val 4.43-4.44
 *    bits/byte, the byte unigram) and sat at 0.0003-0.0022 from step 100 to 300;
 *    the third dipped to 0.0024 at step 25 and recovered (4.17).
 * 0.003 (about 1.5% of the initial value) lies below every healthy value and
 * above every value of the collapsed runs from step 100 on. The margin is
 * narrow (1.6x below the healthy minimum), because the dip at the end of warmup
 * is itself a brief collapse that most runs climb out of: a warning at the
 * first evaluations says what the model is doing then, and it is the ones that
 * persist that matter.
 */
export const COLLAPSE_VARIANCE_FLOOR = 0.003;

/**
 * Up to `count` rows of `length` bytes spread evenly over `bytes` (held-out
 * text): the probe the guard measures at every evaluation, the same rows each
 * time. No two rows start at the same byte (repeated rows would repeat chunks
 * and understate their spread), so a short text gives fewer rows: one when it
 * is no longer than a row.
 */
export function probeRows(bytes: Uint8Array, count: number, length: number): Uint8Array[] {
  if (bytes.length < 2) throw new RangeError(`the probe needs at least 2 bytes of text (got ${bytes.length})`);
  const n = Math.min(length, bytes.length);
  const span = bytes.length - n;
  const starts = new Set<number>();
  for (let i = 0; i < count; i++) starts.add(count === 1 ? 0 : Math.floor((span * i) / (count - 1)));
  return [...starts].map((start) => bytes.subarray(start, start + n));
}

/** The warning a collapsed run prints (stlm train writes it to stderr as "warning: step N: ..."). */
export function collapseWarning(variance: number, floor: number, learningRate: number): string {
  return (
    `the pooled vectors have collapsed (variance ${variance.toPrecision(3)} < threshold ${floor}): every chunk looks the same to the core, ` +
    `so the model is falling back to byte frequencies; lower the learning rate (now ${learningRate})`
  );
}

export interface CollapseGuardOptions {
  /** The run's peak learning rate, named in the warning. */
  learningRate: number;
  /** Probe rows (default 8, each byteWindow + 1 bytes). */
  rows?: number;
  floor?: number;
}

/**
 * A Trainer `diagnose` hook for a pooled model: the chunk variance on a fixed
 * probe of `heldOut`, with a warning when it is below the floor. One read-back
 * per call. A held-out text too short to hold 2 chunks gives no diagnostic.
 */
export function collapseGuard(model: PooledLM, heldOut: Uint8Array, { learningRate, rows = 8, floor = COLLAPSE_VARIANCE_FLOOR }: CollapseGuardOptions): () => Promise<Diagnostic[]> {
  const probe = probeRows(heldOut, rows, model.config.byteWindow + 1);
  return async () => {
    const value = await model.chunkVariance(probe);
    if (Number.isNaN(value)) return [];
    return [{ name: CHUNK_VARIANCE, value, ...(value < floor ? { warning: collapseWarning(value, floor, learningRate) } : {}) }];
  };
}
