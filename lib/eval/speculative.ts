// Self-speculative sampling from a multi-byte model (Gloeckle et al. 2024, section
// 3.2; blockwise parallel decoding, Stern et al. 2018; the acceptance rule of
// speculative sampling, Leviathan et al. 2023 and Chen et al. 2023).
//
// One forward pass over the text so far plus the pending drafts gives, at every
// position, head 1's distribution of the next byte and heads 2..n's of the bytes
// further on. The drafts are checked in order against head 1: draft d ~ q (head
// k's distribution, drawn in the pass before) is kept with probability
// min(1, p(d) / q(d)), p being head 1's distribution at the position before it;
// the first rejected draft is replaced by a byte drawn from norm(max(0, p - q)),
// and the drafts after it are dropped. When every draft is kept, head 1 at the
// last position gives one more byte. Either way the pass ends with one byte drawn
// from head 1, and heads 2..n at that byte's position draft the next n-1. Each
// byte kept is then distributed exactly as plain sampling from head 1 would draw
// it (with the same temperature and top-k), and at temperature 0 the output is
// plain greedy decoding's, byte for byte, while the text fits the context: past
// blockSize bytes, one pass gives every verified position the window that ends at
// the last draft, so those positions see up to n-1 bytes less context than plain
// sampling's sliding window would give them.
import type { ObjectiveLM } from "../models/objectives.js";
import { Rng } from "../rng.js";
import { promptIds, type SampleOptions } from "./sample.js";

/** What one speculative run did. */
export interface SpeculativeResult {
  bytes: Uint8Array;
  /** Per output byte: true where it was drafted by heads 2..n and accepted. */
  drafted: boolean[];
  forwardPasses: number;
  /** Per draft position j (head j+2): drafts checked, and drafts kept. A draft is checked only when every draft before it was kept. */
  checked: number[];
  accepted: number[];
}

/**
 * The distribution `pickToken` (lib/eval/sample.ts) draws from, as probabilities
 * over the vocabulary: banned ids excluded, the topK most likely kept (ties broken
 * the same way), softmax at the temperature; at temperature 0, all mass on the
 * byte pickToken would pick.
 */
export function samplingDistribution(logits: Float32Array, temperature: number, topK: number, banned: readonly number[]): Float64Array {
  const n = logits.length;
  const p = new Float64Array(n);
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !banned.includes(i));
  if (temperature <= 0) {
    p[order.reduce((best, i) => (logits[i] > logits[best] ? i : best), order[0])] = 1;
    return p;
  }
  order.sort((a, b) => logits[b] - logits[a]);
  const kept = topK > 0 ? order.slice(0, topK) : order;
  const max = logits[kept[0]];
  let total = 0;
  for (const i of kept) total += p[i] = Math.exp((logits[i] - max) / temperature);
  for (const i of kept) p[i] /= total;
  return p;
}

/** One id drawn from probabilities p (need not be normalised). */
export function drawFrom(p: Float64Array, rng: Rng): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += p[i];
  let r = rng.next() * total;
  let last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] <= 0) continue;
    last = i;
    r -= p[i];
    if (r < 0) return i;
  }
  return last;
}

/** Continue `prompt` by `options.tokens` bytes, drafting with heads 2..n of a multi-byte model and verifying with head 1. */
export async function speculativeSample(model: ObjectiveLM, prompt: Uint8Array, options: SampleOptions): Promise<SpeculativeResult> {
  const { tokens, temperature = 0.8, topK = 0, seed = 1 } = options;
  if (model.headCount < 2) throw new RangeError(`speculative sampling needs a multi-byte model (objective mtp:N); this model has ${model.headCount} head`);
  if (!Number.isInteger(tokens) || tokens < 0) throw new RangeError(`tokens must be a whole number >= 0 (got ${tokens})`);
  if (!(temperature >= 0)) throw new RangeError(`temperature must be >= 0 (got ${temperature})`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new RangeError(`topK must be a whole number >= 0 (0: no top-k; got ${topK})`);
  const V = model.config.vocabSize;
  const banned = options.banned ?? [256, 257].filter((id) => id < V);
  const dist = (logits: Float32Array) => samplingDistribution(logits, temperature, topK, banned);
  const rng = new Rng(seed);
  const n = model.headCount;
  const ids = promptIds(prompt);
  const out: number[] = [];
  const drafted: boolean[] = [];
  const checked = new Array(n - 1).fill(0);
  const accepted = new Array(n - 1).fill(0);
  let drafts: { id: number; q: Float64Array }[] = [];
  let passes = 0;
  const keep = (id: number, wasDraft: boolean) => {
    ids.push(id);
    out.push(id);
    drafted.push(wasDraft);
  };
  while (out.length < tokens) {
    const context = [...ids, ...drafts.map((d) => d.id)].slice(-model.blockSize);
    const base = context.length - 1 - drafts.length; // the last kept byte's position in the context window
    const logits = await model.headLogitsAt(context, base);
    passes += 1;
    let r = 0;
    let next = -1;
    for (; r < drafts.length; r++) {
      const p = dist(logits[0][r]);
      const { id, q } = drafts[r];
      checked[r] += 1;
      // Kept with probability min(1, p/q); at temperature 0, p and q are one-hot and this is p(d) == 1.
      if (rng.next() * q[id] < p[id]) {
        accepted[r] += 1;
        keep(id, true);
        if (out.length >= tokens) break;
        continue;
      }
      const residual = p.map((pi, i) => Math.max(0, pi - q[i]));
      next = drawFrom(residual, rng);
      break;
    }
    if (out.length >= tokens) break;
    if (next < 0) next = drawFrom(dist(logits[0][r]), rng);
    keep(next, false);
    // Heads 2..n at the position before `next` predict the bytes after it.
    const room = Math.min(n - 1, tokens - out.length);
    drafts = [];
    for (let h = 1; h <= room; h++) {
      const q = dist(logits[h][r]);
      drafts.push({ id: drawFrom(q, rng), q });
    }
  }
  return { bytes: Uint8Array.from(out), drafted, forwardPasses: passes, checked, accepted };
}

/** Acceptance rate per draft position (kept / checked; NaN where none was checked) and bytes per forward pass. */
export function speculativeStats(r: SpeculativeResult): { acceptance: number[]; bytesPerPass: number } {
  return { acceptance: r.checked.map((c, j) => (c > 0 ? r.accepted[j] / c : NaN)), bytesPerPass: r.bytes.length / Math.max(1, r.forwardPasses) };
}

/** A speculative run beside a plain one of the same length and options, both timed. */
export interface SpeculativeMeasurement {
  speculative: SpeculativeResult;
  /** The plain run's bytes. */
  plain: Uint8Array;
  acceptance: number[];
  bytesPerPass: number;
  speculativeMs: number;
  plainMs: number;
  /** plainMs / speculativeMs. */
  speedup: number;
  /** Whether the plain run wrote the same bytes (always at temperature 0 within the context; by chance otherwise). */
  sameAsPlain: boolean;
}

/** Sample `options.tokens` bytes speculatively and plainly (head 1 alone, one forward pass a byte), timing both. */
export async function measureSpeculative(model: ObjectiveLM, prompt: Uint8Array, options: SampleOptions): Promise<SpeculativeMeasurement> {
  const t0 = performance.now();
  const speculative = await speculativeSample(model, prompt, options);
  const t1 = performance.now();
  const plain = await model.generate(prompt, options);
  const t2 = performance.now();
  const { acceptance, bytesPerPass } = speculativeStats(speculative);
  const speculativeMs = t1 - t0;
  const plainMs = t2 - t1;
  const sameAsPlain = plain.length === speculative.bytes.length && plain.every((b, i) => b === speculative.bytes[i]);
  return { speculative, plain, acceptance, bytesPerPass, speculativeMs, plainMs, speedup: plainMs / Math.max(speculativeMs, 1e-3), sameAsPlain };
}

/** The lines `stlm sample --speculative` prints. */
export function formatSpeculative(m: SpeculativeMeasurement): string {
  const r = m.speculative;
  const rates = m.acceptance.map((a, j) => `+${j + 2} ${Number.isNaN(a) ? "-" : a.toFixed(2)} (${r.accepted[j]}/${r.checked[j]})`).join(", ");
  return [
    `speculative: ${r.bytes.length} bytes in ${r.forwardPasses} forward passes (${m.bytesPerPass.toFixed(2)} bytes a pass); ${r.drafted.filter(Boolean).length} drafted bytes kept`,
    `acceptance by draft position: ${rates}`,
    `wall clock: ${(m.speculativeMs / 1000).toFixed(2)} s speculative vs ${(m.plainMs / 1000).toFixed(2)} s plain (${m.speedup.toFixed(2)}x)${m.sameAsPlain ? "; same text as plain sampling" : ""}`
  ].join("\n");
}
