// Which items an evaluation on a subset scores, so that a subset has a stated
// size, is the same on every machine, and can be extended without rescoring.
//
// The order: a seeded shuffle of each evaluation set (Fisher–Yates driven by
// lib/rng.ts's Rng, seed SUBSET_SEED). A subset of size n is the first n items of
// that order, so the subset of size 2n holds the subset of size n and extending
// scores only the items n .. 2n - 1. A shuffle rather than the file's first n
// items, because the files are sorted by source and type: the first 100 minimal
// pairs are all austen agreement pairs. (`stlm eval --limit`, kept for the
// commands that made earlier precomputed results, spreads items evenly instead;
// those subsets do not nest, so they cannot be extended.)
import { Rng } from "../rng.js";

/** The seed of the order subsets are taken in (`stlm eval --subset N` and the evaluation page). */
export const SUBSET_SEED = 1;

/** A permutation of 0 .. length - 1: the order in which subsets take the items of a set of `length` items. */
export function subsetOrder(length: number, seed = SUBSET_SEED): Int32Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`subsetOrder needs a whole number of items (got ${length}).`);
  const order = Int32Array.from({ length }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * The first `size` items of `items` in subset order (all of them, in that order,
 * when size is undefined or at least the set's length).
 */
export function takeSubset<T>(items: readonly T[], size: number | undefined, seed = SUBSET_SEED): T[] {
  if (size !== undefined && (!Number.isInteger(size) || size < 1)) throw new RangeError(`a subset needs a whole number of items >= 1 (got ${size}).`);
  const order = subsetOrder(items.length, seed);
  const n = size === undefined ? items.length : Math.min(size, items.length);
  return Array.from(order.subarray(0, n), (i) => items[i]);
}

/** `limit` items spread evenly over the set (all of them when limit is absent): what `stlm eval --limit` scores. */
export function spread<T>(items: readonly T[], limit: number | undefined): T[] {
  if (limit === undefined || limit >= items.length) return [...items];
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}
