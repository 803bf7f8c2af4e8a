// The parameter ledger: where every parameter of a config is, computed from the
// config alone by formula (no tensors, no model), so it can describe models far
// too big to build here and can be checked against the variables a real TinyLM
// creates. For each component it gives the parameters stored ("unique": a shared
// weight counted once) and the parameters applied per position ("applied": counted
// at every use), and from the applied counts the training FLOPs per position.
//
// The ownership rules (which layer reads which weight) are written out here again
// rather than imported from model.ts, so that the test comparing the two checks
// something.
import { GPT2_VOCAB_SIZE, type ByteCodecConfig, type ModelConfig } from "../config.js";

export type LedgerGroup = "embedding" | "head" | "attention" | "ffn" | "norms" | "lora" | "byte encoder" | "byte decoder";

/** The groups in the order the page stacks them. */
export const LEDGER_GROUPS: readonly LedgerGroup[] = ["embedding", "head", "byte encoder", "byte decoder", "attention", "ffn", "lora", "norms"];

export interface LedgerRow {
  /** "embedding", "block 3 attention", "shared FFN (all 18 layers)", "byte encoder blocks" ... */
  component: string;
  group: LedgerGroup;
  /** Which weights these are: "layer" (one layer's own), "interior" (the interior block), "shared" (every layer), or "model". */
  owner: "model" | "layer" | "interior" | "shared";
  /** The layer, for a layer's own weights. */
  layer?: number;
  /** Parameters stored. */
  unique: number;
  /** Times each of them is applied per position (2 for a tied embedding: lookup and head; L for a weight every layer shares). */
  uses: number;
  /** unique * uses. */
  applied: number;
}

export interface Ledger {
  rows: LedgerRow[];
  /** Trainable parameters: must equal the real model's variable count. */
  unique: number;
  applied: number;
  byGroup: Record<LedgerGroup, { unique: number; applied: number }>;
  /**
   * FLOPs per position (a token, or a chunk for a pooled byte model): 2 per
   * multiply-add of every applied matrix (the embedding lookup is free, the head
   * is not), plus attention scores and weighted sums (4 T C per layer at full
   * context T, as the dense causal attention here computes them); training is
   * three times the forward pass (forward, and backward to inputs and weights).
   */
  flopsPerPosition: { forward: number; training: number; attention: number };
  /** Parameters that turn ids into vectors and back: embedding + head, or the byte encoder + decoder. */
  vocabularyParameters: number;
}

const ffnMatrices = (type: ModelConfig["ffnType"]) => (type === "gelu" ? 2 : 3);

/** Layers that share the interior block, as [first, last] (0-based), or null. */
export function interiorLayers(c: Pick<ModelConfig, "nLayer" | "interiorMargin">): [number, number] | null {
  const m = c.interiorMargin ?? -1;
  return m >= 0 ? [m, c.nLayer - 1 - m] : null;
}

/** The ledger of a token model (bytes undefined) or of a pooled byte model whose core is `model`. */
export function ledger(model: ModelConfig, bytes?: ByteCodecConfig): Ledger {
  const c = model;
  const d = c.dModel;
  const kv = (c.nKvHead * d) / c.nHead;
  const L = c.nLayer;
  const r = c.loraRank ?? 0;
  const ffnType = c.ffnType ?? "swiglu";
  const interior = interiorLayers(c);
  const interiorCount = interior ? interior[1] - interior[0] + 1 : 0;
  const isInterior = (l: number) => interior !== null && l >= interior[0] && l <= interior[1];
  const span = interior ? `layers ${interior[0]}–${interior[1]}` : "";

  const rows: LedgerRow[] = [];
  const row = (component: string, group: LedgerGroup, owner: LedgerRow["owner"], unique: number, uses: number, layer?: number) => {
    if (unique > 0) rows.push({ component, group, owner, ...(layer !== undefined ? { layer } : {}), unique, uses, applied: unique * uses });
  };

  // Ids to vectors.
  let vocabularyParameters = 0;
  let forwardMatmul = 0; // multiply-adds per position outside the core blocks
  if (bytes) {
    const codec = byteCodecLedger(bytes, d);
    for (const x of codec.rows) rows.push(x);
    vocabularyParameters = codec.unique;
    forwardMatmul += codec.multiplyAddsPerChunk;
  } else {
    const table = c.vocabSize * d;
    if (c.tieEmbeddings) row("embedding (tied: also the head)", "embedding", "model", table, 2);
    else row("embedding", "embedding", "model", table, 1);
    vocabularyParameters = c.tieEmbeddings ? table : 2 * table;
    forwardMatmul += table; // the head; the lookup is a gather
  }

  // The blocks. Per layer: q/k/v, the output projection, the MLP, the two norms.
  const qkv = d * d + 2 * d * kv;
  const wo = d * d;
  const ffn = ffnMatrices(ffnType) * d * c.ffnHidden;
  const norms = 2 * d;
  const interiorAttn = qkv + (c.shareAttnOut ? 0 : wo);
  for (let l = 0; l < L; l++) {
    if (isInterior(l)) {
      // One LoRA pair per matrix taken from the interior block: r (in + out) each.
      const attnLora = r * (2 * d + 2 * (d + kv)) + (c.shareAttnOut ? 0 : r * 2 * d);
      const ffnLora = c.shareFfn ? 0 : ffnMatrices(ffnType) * r * (d + c.ffnHidden);
      row(`block ${l} LoRA`, "lora", "layer", attnLora + ffnLora, 1, l);
      continue;
    }
    row(`block ${l} attention${c.shareAttnOut ? " (q, k, v)" : ""}`, "attention", "layer", qkv + (c.shareAttnOut ? 0 : wo), 1, l);
    if (!c.shareFfn) row(`block ${l} FFN`, "ffn", "layer", ffn, 1, l);
    row(`block ${l} norms`, "norms", "layer", norms, 1, l);
  }
  if (interior) {
    row(`interior attention${c.shareAttnOut ? " (q, k, v)" : ""} (${span})`, "attention", "interior", interiorAttn, interiorCount);
    if (!c.shareFfn) row(`interior FFN (${span})`, "ffn", "interior", ffn, interiorCount);
    row(`interior norms (${span})`, "norms", "interior", norms, interiorCount);
  }
  if (c.shareAttnOut) row(`shared attention output (all ${L} layers)`, "attention", "shared", wo, L);
  if (c.shareFfn) row(`shared FFN (all ${L} layers)`, "ffn", "shared", ffn, L);
  row("final norm", "norms", "model", d, 1);
  if (!bytes && !c.tieEmbeddings) row("head", "head", "model", c.vocabSize * d, 1);

  const byGroup = Object.fromEntries(LEDGER_GROUPS.map((g) => [g, { unique: 0, applied: 0 }])) as Ledger["byGroup"];
  for (const x of rows) {
    byGroup[x.group].unique += x.unique;
    byGroup[x.group].applied += x.applied;
  }
  const unique = rows.reduce((n, x) => n + x.unique, 0);
  const applied = rows.reduce((n, x) => n + x.applied, 0);
  // Every applied block matrix (LoRA factors included) is one multiply-add per parameter per position.
  const blockMatmul = byGroup.attention.applied + byGroup.ffn.applied + byGroup.lora.applied;
  const attention = 4 * c.blockSize * d * L;
  const forward = 2 * (blockMatmul + forwardMatmul) + attention;
  return { rows, unique, applied, byGroup, flopsPerPosition: { forward, training: 3 * forward, attention }, vocabularyParameters };
}

/**
 * The byte encoder and decoder of a pooled byte model whose core is dModel wide,
 * as a pure function of the codec config (lib/config.ts ByteCodecConfig describes
 * the layout). multiplyAddsPerChunk counts the matrix work for one chunk of
 * chunkSize bytes, attention within the chunk included.
 */
export function byteCodecLedger(b: ByteCodecConfig, dModel: number): { rows: LedgerRow[]; unique: number; multiplyAddsPerChunk: number } {
  const w = b.byteWidth;
  const block = 4 * w * w + ffnMatrices(b.byteFfnType) * w * b.byteFfnHidden; // matrices of one byte block
  const blockNorms = 2 * w;
  const rows: LedgerRow[] = [];
  const add = (component: string, group: LedgerGroup, unique: number, uses: number) => {
    if (unique > 0) rows.push({ component, group, owner: "model", unique, uses, applied: unique * uses });
  };
  const table = b.byteVocabSize * w;
  add(b.tieByteEmbeddings ? "byte embedding (tied: also the byte head)" : "byte embedding", "byte encoder", table, b.tieByteEmbeddings ? 2 : 1);
  add("byte positions in a chunk", "byte encoder", b.chunkSize * w, 1);
  add(`byte encoder blocks (${b.encoderLayers})`, "byte encoder", b.encoderLayers * (block + blockNorms), 1);
  add("byte encoder norm", "byte encoder", w, 1);
  add("chunk projection (byte width → core width)", "byte encoder", w * dModel, 1);
  add("chunk expansion (core width → chunk × byte width)", "byte decoder", dModel * b.chunkSize * w, 1);
  add(`byte decoder blocks (${b.decoderLayers})`, "byte decoder", b.decoderLayers * (block + blockNorms), 1);
  add("byte decoder norm", "byte decoder", w, 1);
  if (!b.tieByteEmbeddings) add("byte head", "byte decoder", w * b.byteVocabSize, 1);
  const unique = rows.reduce((n, x) => n + x.unique, 0);
  const S = b.chunkSize;
  const perByteBlocks = (b.encoderLayers + b.decoderLayers) * (block + 2 * S * w); // matrices + attention over the chunk's S bytes
  const multiplyAddsPerChunk = S * perByteBlocks + w * dModel + dModel * S * w + S * w * b.byteVocabSize;
  return { rows, unique, multiplyAddsPerChunk };
}

/**
 * The STLM paper's comparison: the parameters that map ids to vectors and back
 * in a model with GPT-2's 50,257-token vocabulary at this core width (tied and
 * untied), against what this config spends on the same job.
 */
export function vocabularyReduction(model: ModelConfig, bytes?: ByteCodecConfig): {
  parameters: number;
  gpt2Tied: number;
  gpt2Untied: number;
  reductionVsTied: number;
  reductionVsUntied: number;
  totals: { model: number; gpt2Tied: number; gpt2Untied: number };
} {
  const mine = ledger(model, bytes);
  const gpt2Tied = GPT2_VOCAB_SIZE * model.dModel;
  const gpt2Untied = 2 * gpt2Tied;
  const core = mine.unique - mine.vocabularyParameters;
  return {
    parameters: mine.vocabularyParameters,
    gpt2Tied,
    gpt2Untied,
    reductionVsTied: 1 - mine.vocabularyParameters / gpt2Tied,
    reductionVsUntied: 1 - mine.vocabularyParameters / gpt2Untied,
    totals: { model: mine.unique, gpt2Tied: core + gpt2Tied, gpt2Untied: core + gpt2Untied }
  };
}
