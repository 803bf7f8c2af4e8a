// Training snapshots: every N steps, what the model does on a fixed probe text
// (attention of every layer and head; for pooled and local-stack models, the
// chunk boundaries and the core's attention over chunks) and what it writes after
// a fixed prompt with a fixed seed, so a reader can replay a run step by step.
//
// The snapshot of step s depends only on the weights after step s (sampling has
// its own seeded stream, tracing runs without dropout), so a resumed run's
// snapshots are bit-identical to an uninterrupted run's.
//
// Format (version 1): one JSON object per snapshot, a line each in a run folder's
// snapshots.jsonl. Attention is quantised: only the lower triangle (query q,
// keys 0..q; a causal map is 0 above it) is kept, row after row, each weight as
// round(255 w), an integer 0..255, so a weight is off by at most 1/510 and a
// P-position map costs P(P+1)/2 small integers.
import { probeTrace, type LabModel } from "../models/models.js";
import type { ProbeUnit } from "../models/probe.js";
import type { Span } from "../text/boundaries.js";
import { decodeBytes, encodeText } from "../text/tokenizer.js";

export const SNAPSHOT_VERSION = 1;

/** What is snapshotted, and how often: stored with the run (config.json "snapshots"). */
export interface SnapshotConfig {
  /** Snapshot at step 0, every `every` steps and at the run's last planned step. */
  every: number;
  /** The text whose attention is traced. */
  probe: string;
  /** The text the sample continues. */
  prompt: string;
  /** Bytes sampled after the prompt. */
  sampleBytes: number;
  temperature: number;
  topK: number;
  /** The sample's seed: the same at every step, so only the weights differ. */
  seed: number;
}

/** The probe and the prompt: the opening of Pride and Prejudice (the training page's attention text), 38 bytes. */
export const DEFAULT_PROBE = "It is a truth universally acknowledged";
export const DEFAULT_PROMPT = "It is a truth universally acknowledged";

/** About this many snapshots per run when the interval is "auto". */
export const AUTO_SNAPSHOTS = 20;

export function defaultSnapshotConfig(every: number): SnapshotConfig {
  return { every, probe: DEFAULT_PROBE, prompt: DEFAULT_PROMPT, sampleBytes: 120, temperature: 0.8, topK: 40, seed: 1 };
}

/** The "auto" interval: about `count` (default AUTO_SNAPSHOTS) snapshots over a run of `steps`. */
export function autoSnapshotEvery(steps: number, count = AUTO_SNAPSHOTS): number {
  return Math.max(1, Math.ceil(steps / count));
}

/** Whether step `step` (0: before any training) of a run planned for `total` steps is snapshotted. */
export function isSnapshotStep(step: number, every: number, total: number): boolean {
  return every > 0 && (step % every === 0 || step === total);
}

/** A traced map, quantised: the lower triangle row by row, round(255 w). */
export type QuantisedMap = number[];

export interface Snapshot {
  v: typeof SNAPSHOT_VERSION;
  step: number;
  /** What the attended positions are, and the probe's bytes each reads ([0, 0]: none, e.g. a start vector). */
  unit: ProbeUnit;
  spans: Span[];
  /** A pooled or local-stack model's chunks of the probe (its boundaries at this step). */
  chunks?: Span[];
  layers: number;
  heads: number;
  /** attention[layer][head]: quantised (see the top of this module). */
  attention: QuantisedMap[][];
  /** A learned-boundary pooled model's boundary probability per probe byte, to 3 decimals. */
  boundaryProbs?: number[];
  /** The continuation of the prompt (the prompt itself not repeated). */
  sample: string;
}

export function quantiseMap(map: ArrayLike<number>, P: number): QuantisedMap {
  if (map.length !== P * P) throw new Error(`an attention map of ${P} positions has ${P * P} weights, got ${map.length}`);
  const out: number[] = [];
  for (let q = 0; q < P; q++) for (let k = 0; k <= q; k++) out.push(Math.round(Math.min(1, Math.max(0, map[q * P + k])) * 255));
  return out;
}

/** A quantised map back as a P x P row-major map (0 above the diagonal). */
export function dequantiseMap(quantised: readonly number[], P: number): Float32Array {
  if (quantised.length !== (P * (P + 1)) / 2) throw new Error(`a quantised map of ${P} positions has ${(P * (P + 1)) / 2} values, got ${quantised.length}`);
  const out = new Float32Array(P * P);
  let i = 0;
  for (let q = 0; q < P; q++) for (let k = 0; k <= q; k++) out[q * P + k] = quantised[i++] / 255;
  return out;
}

/** The snapshot of `model` as it is now, labelled `step`. Leaves no tensors behind. */
export async function takeSnapshot(model: LabModel, step: number, config: SnapshotConfig): Promise<Snapshot> {
  const trace = await probeTrace(model, encodeText(config.probe));
  const P = trace.spans.length;
  const written = await model.generate(encodeText(config.prompt), { tokens: config.sampleBytes, temperature: config.temperature, topK: config.topK, seed: config.seed });
  return {
    v: SNAPSHOT_VERSION,
    step,
    unit: trace.unit,
    spans: trace.spans.map(([a, b]) => [a, b] as Span),
    ...(trace.chunks ? { chunks: trace.chunks.map(([a, b]) => [a, b] as Span) } : {}),
    layers: trace.layers,
    heads: trace.heads,
    attention: trace.attention.map((layer) => layer.map((map) => quantiseMap(map, P))),
    ...(trace.boundaryProbs ? { boundaryProbs: trace.boundaryProbs.map((p) => Math.round(p * 1000) / 1000) } : {}),
    sample: decodeBytes(written)
  };
}

/** Checks one parsed snapshot row (e.g. a line of snapshots.jsonl); throws saying what is wrong. */
export function checkSnapshot(row: unknown, where = "snapshot"): Snapshot {
  const s = row as Partial<Snapshot> | null;
  if (!s || typeof s !== "object") throw new Error(`${where}: not an object`);
  if (s.v !== SNAPSHOT_VERSION) throw new Error(`${where}: format version ${JSON.stringify(s.v)}; this lab reads version ${SNAPSHOT_VERSION}`);
  if (!Number.isInteger(s.step) || s.step! < 0) throw new Error(`${where}: "step" must be a whole number >= 0`);
  if (!Array.isArray(s.spans) || !Array.isArray(s.attention) || typeof s.sample !== "string") throw new Error(`${where}: needs "spans", "attention" and "sample"`);
  const P = s.spans.length;
  if (s.attention.length !== s.layers || s.attention.some((l) => !Array.isArray(l) || l.length !== s.heads || l.some((m) => !Array.isArray(m) || m.length !== (P * (P + 1)) / 2))) {
    throw new Error(`${where}: "attention" must hold ${s.layers} layers of ${s.heads} maps of ${(P * (P + 1)) / 2} values (${P} positions)`);
  }
  return s as Snapshot;
}

/** Parses snapshots.jsonl text; a bad line is named. */
export function parseSnapshots(text: string, file = "snapshots.jsonl"): Snapshot[] {
  const out: Snapshot[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}, line ${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    out.push(checkSnapshot(row, `${file}, line ${i + 1}`));
  });
  return out;
}
