// Building a run's record from what a training run knows, the same way wherever it
// trains: `stlm train` (lib/node/runrecord.ts, run.json) and a page's live run
// (src/components/runs-library.ts) both hand their facts to buildRunRecord, so a
// CLI run folder's run.json and a page's "download run" are one shape, checked by
// the same rules (lib/runs/record.ts).
//
// Pure and DOM-free: the data's hash is the lab's own SHA-256 (lib/train/sha256.ts),
// the platform is a string the caller reads (Node's version, a browser's user agent).
import { sha256 } from "../train/sha256.js";
import {
  makeRunRecord,
  RunRecordError,
  summarizeMetrics,
  type RecordParts,
  type RunDataIdentity,
  type RunRecord,
  type RunRuntime
} from "./record.js";

/** The data a run read: its name and the SHA-256 of its training then validation bytes. */
export function dataIdentity(name: string, corpus: { train: Uint8Array; val: Uint8Array }): RunDataIdentity {
  return { name, sha256: sha256([corpus.train, corpus.val]), bytes: corpus.train.length + corpus.val.length };
}

/** What a backend reports about itself (lib/backend.ts BackendInfo, or a worker's reply). */
export interface BackendFacts {
  name: string;
  threads: number;
  simd: boolean;
  /** Whether the lab's matrix products used FMA (relaxed SIMD); null or absent when unknown. */
  fma?: boolean | null;
}

/** A record's runtime: the backend's facts and where it ran ("node v20.19.0", a browser's user agent). */
export function runtimeOf(info: BackendFacts, platform: string): RunRuntime {
  return { backend: info.name, threads: info.threads, simd: info.simd, fma: info.fma ?? null, platform };
}

/** What buildRunRecord is given: the record's parts, with how the run ended instead of its final figures. */
export type BuildParts = Omit<RecordParts, "final"> & {
  /** Whether the run was stopped before its planned steps (false while it runs or when it finished). */
  stopped?: boolean;
  /** Final evaluations beyond the training curve (e.g. "test/austen bits/byte"). */
  evaluations?: Record<string, number>;
  /** Throughput measured over the whole run, for a run whose step rows carry none. */
  tokensPerSecond?: number;
};

/**
 * A run's record from its parts: the final figures are summarised from its metrics
 * (last loss, last validation, mean tokens/s, against the planned steps), so no two
 * callers summarise a run differently. Checked before it is returned (makeRunRecord).
 */
export function buildRunRecord(p: BuildParts): RunRecord {
  const { stopped = false, evaluations, tokensPerSecond, ...parts } = p;
  const steps = parts.steps ?? [];
  const evals = parts.evals ?? [];
  // JSON would write NaN as null and the check would then blame the shape; say what happened.
  for (const row of steps) {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === "number" && !Number.isFinite(v)) throw new RunRecordError(`${parts.label}: the ${k} at step ${row.step} is ${v} (did the run diverge?); a run record holds finite numbers only, so this run cannot be recorded`);
    }
  }
  for (const row of evals) {
    if (!Number.isFinite(row.valBitsPerByte)) throw new RunRecordError(`${parts.label}: the validation bits/byte at step ${row.step} is ${row.valBitsPerByte} (did the run diverge?); a run record holds finite numbers only, so this run cannot be recorded`);
  }
  const measured = summarizeMetrics(steps, evals, parts.train.steps, stopped);
  const summary = measured && measured.meanTokensPerSecond === null && tokensPerSecond !== undefined && Number.isFinite(tokensPerSecond) ? { ...measured, meanTokensPerSecond: Math.round(tokensPerSecond) } : measured;
  const final = summary && evaluations && Object.keys(evaluations).length ? { ...summary, evaluations } : summary;
  return makeRunRecord({ ...parts, steps, evals, final });
}

/** The record with the identity of the checkpoint file saved from it (a download or a run folder's checkpoint). */
export function withCheckpoint(record: RunRecord, checkpoint: Uint8Array): RunRecord {
  return { ...record, checkpoint: { sha256: sha256(checkpoint), bytes: checkpoint.byteLength } };
}

/** The key under which a checkpoint's metadata (`stlm.meta`) carries the record of the run it came from. */
export const CHECKPOINT_RECORD_KEY = "runRecord";
