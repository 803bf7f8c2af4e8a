// Reference floors for the evaluation view: what byte count models (a unigram
// and a 5-gram, lib/eval/ngram.ts) score on the same subset as the model.
//
// scripts/eval-floors.ts scores each n-gram once on everything and stores, per
// test split, the running sum of bits every FLOOR_BYTE_STEP bytes, and per item
// of each evaluation set its outcome. floorOnSubset reads a subset's numbers
// off those, for exactly the bytes and items an Evaluator scored at that size.
import type { MinimalPair, NextSentenceItem } from "../text/data.js";
import { minimalPairsResult, nextSentenceResult, type MinimalPairsResult, type NextSentenceResult } from "./eval.js";
import type { EvalReport } from "./evaluation.js";
import { subsetOrder } from "./subset.js";

/** Byte subsets the floors can be read at: multiples of this, or a whole split. */
export const FLOOR_BYTE_STEP = 1024;

export interface FloorRecord {
  id: string;
  label: string;
  /** The corpus whose train split the counts come from. */
  train: string;
  order: number;
  /** Per test split: cum[k] = bits over bytes 1 .. (k + 1) * FLOOR_BYTE_STEP - 1; total over bytes 1 .. length - 1. */
  testBits: Record<string, { cum: number[]; total: number; length: number }>;
  /** Per minimal pair, in file order: "1" when good scored strictly higher, else "0". */
  minimalPairs: string;
  /** Per next-sentence item, in file order: the choice picked by summed log-probability (acc) and per byte (acc_norm). */
  nextSentence: { acc: string; accNorm: string };
}

export interface FloorNumbers {
  /** Undefined for a split whose subset size is not a multiple of FLOOR_BYTE_STEP (nor the whole split). */
  testBitsPerByte: Record<string, number | undefined>;
  minimalPairs: MinimalPairsResult;
  nextSentence: NextSentenceResult;
}

/** A floor's numbers on the subset an Evaluator reported as `size`. */
export function floorOnSubset(
  floor: FloorRecord,
  sets: { minimalPairs: readonly MinimalPair[]; nextSentence: readonly NextSentenceItem[] },
  size: EvalReport["size"]
): FloorNumbers {
  if (floor.minimalPairs.length !== sets.minimalPairs.length || floor.nextSentence.accNorm.length !== sets.nextSentence.length) {
    throw new Error(`the floor "${floor.label}" was computed on ${floor.minimalPairs.length} pairs and ${floor.nextSentence.accNorm.length} next-sentence items, not on these sets (${sets.minimalPairs.length}, ${sets.nextSentence.length}); rerun scripts/eval-floors.ts.`);
  }
  const testBitsPerByte: Record<string, number | undefined> = {};
  for (const [name, n] of Object.entries(size.bytes)) {
    const t = floor.testBits[name];
    if (!t) testBitsPerByte[name] = undefined;
    else if (n === t.length) testBitsPerByte[name] = t.total / (n - 1);
    else if (n % FLOOR_BYTE_STEP === 0 && n / FLOOR_BYTE_STEP <= t.cum.length) testBitsPerByte[name] = t.cum[n / FLOOR_BYTE_STEP - 1] / (n - 1);
    else testBitsPerByte[name] = undefined;
  }
  const pairs = Array.from(subsetOrder(sets.minimalPairs.length, size.seed).subarray(0, size.minimalPairs), (i) => ({ type: sets.minimalPairs[i].type, correct: floor.minimalPairs[i] === "1" }));
  const picks = Array.from(subsetOrder(sets.nextSentence.length, size.seed).subarray(0, size.nextSentence), (i) => ({
    label: sets.nextSentence[i].label,
    pickRaw: Number(floor.nextSentence.acc[i]),
    pickNorm: Number(floor.nextSentence.accNorm[i])
  }));
  return { testBitsPerByte, minimalPairs: minimalPairsResult(pairs), nextSentence: nextSentenceResult(picks) };
}

/**
 * What a model that finds every byte equally likely scores on the subset: it
 * prefers the shorter sentence of a pair (a tie, equal lengths, counts as
 * wrong), picks the shortest next-sentence choice by summed log-probability
 * (the first on a tie) and, per byte, ties everywhere and picks choice 0.
 * These are data/README.md's length-only baselines, read on a subset; the
 * bits per byte of such a model are 8.
 */
export function lengthOnlyOnSubset(
  sets: { minimalPairs: readonly MinimalPair[]; nextSentence: readonly NextSentenceItem[] },
  size: EvalReport["size"]
): Omit<FloorNumbers, "testBitsPerByte"> {
  const len = (s: string) => new TextEncoder().encode(s).length;
  const pairs = Array.from(subsetOrder(sets.minimalPairs.length, size.seed).subarray(0, size.minimalPairs), (i) => {
    const p = sets.minimalPairs[i];
    return { type: p.type, correct: len(p.good) < len(p.bad) };
  });
  const picks = Array.from(subsetOrder(sets.nextSentence.length, size.seed).subarray(0, size.nextSentence), (i) => {
    const item = sets.nextSentence[i];
    const lengths = item.choices.map(len);
    let shortest = 0;
    for (let j = 1; j < lengths.length; j++) if (lengths[j] < lengths[shortest]) shortest = j;
    return { label: item.label, pickRaw: shortest, pickNorm: 0 };
  });
  return { minimalPairs: minimalPairsResult(pairs), nextSentence: nextSentenceResult(picks) };
}

/** A floor quoted from elsewhere, on the full sets only (scripts/eval-floors.ts's `stated`). */
export interface StatedFloor {
  label: string;
  source: string;
  testBitsPerByte: Record<string, number>;
  minimalPairs: { accuracy: number; byType: Record<string, number> };
  nextSentence: { accNorm: number };
}
