import { test } from "node:test";
import assert from "node:assert/strict";
import { initNode } from "../../lib/node/runtime.js";
import { anyPreset, LEDGER_PRESETS, PAPER_BYTE_CODEC, PRESETS, type FfnType, type ModelConfig } from "../../lib/config.js";
import { byteCodecLedger, ledger, vocabularyReduction, type LedgerGroup } from "../../lib/models/ledger.js";
import { parameterShapes, TinyLM } from "../../lib/models/model.js";
import { paramsReport } from "../../lib/cli/params.js";
import { pooledConfig, pooledParameterShapes } from "../../lib/models/pooled.js";
import { Rng } from "../../lib/rng.js";

await initNode();

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The ledger group a parameter name belongs to, from the model's own naming. */
function groupOf(name: string, tied: boolean): LedgerGroup {
  if (name === "embed") return "embedding";
  if (name === "head") return tied ? "embedding" : "head";
  if (name.includes(".lora.")) return "lora";
  if (name.endsWith("Norm")) return "norms";
  if (name.includes(".attn.")) return "attention";
  if (name.includes(".mlp.")) return "ffn";
  throw new Error(`unclassified parameter ${name}`);
}

/** Builds the model (context cut to 16: it changes no parameter) and compares the ledger with its variables, in total and by group. */
function assertLedgerMatchesModel(c: ModelConfig, label: string): void {
  const model = TinyLM.create({ ...c, blockSize: 16 }, 1);
  try {
    const l = ledger(c);
    assert.equal(l.unique, model.parameterCount(), `${label}: total`);
    const byGroup = new Map<LedgerGroup, number>();
    for (const p of model.params) byGroup.set(groupOf(p.name, c.tieEmbeddings), (byGroup.get(groupOf(p.name, c.tieEmbeddings)) ?? 0) + p.variable.size);
    for (const [g, n] of Object.entries(l.byGroup)) assert.equal(n.unique, byGroup.get(g as LedgerGroup) ?? 0, `${label}: ${g}`);
  } finally {
    model.dispose();
  }
}

test("the ledger equals the variables of a built model for the trainable presets and the 10M target", () => {
  for (const name of [...Object.keys(PRESETS), "stlm-10m"]) assertLedgerMatchesModel(anyPreset(name).model, name);
});

test("the ledger equals the parameter list a model is built from for every paper preset", () => {
  // Building the 50M and 100M models takes a gigabyte and many seconds; the list
  // is what TinyLM's constructor makes its variables from (checked just above).
  for (const [name, p] of Object.entries(LEDGER_PRESETS)) {
    if (p.bytes) continue;
    assert.equal(ledger(p.model).unique, parameterShapes(p.model).reduce((n, s) => n + size(s.shape), 0), name);
  }
});

test("the ledger equals a built model's variable count for random configs under every combination of flags", () => {
  const rng = new Rng(42);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)];
  let checked = 0;
  for (const tieEmbeddings of [true, false])
    for (const ffnType of ["swiglu", "gelu"] as FfnType[])
      for (const shareFfn of [false, true])
        for (const shareAttnOut of [false, true])
          for (const interior of [false, true])
            for (const lora of interior ? [false, true] : [false]) {
              const nHead = pick([1, 2, 4]);
              const nLayer = interior ? pick([2, 3, 4, 5, 6]) : pick([1, 2, 3]);
              const c: ModelConfig = {
                ...PRESETS.nano.model,
                vocabSize: pick([50, 258, 300]),
                dModel: nHead * pick([2, 4, 6]),
                nLayer,
                nHead,
                nKvHead: pick([1, nHead]),
                ffnHidden: pick([5, 16, 24]),
                ffnType,
                tieEmbeddings,
                shareFfn,
                shareAttnOut,
                interiorMargin: interior ? pick([0, 1, 2].filter((m) => nLayer - 2 * m >= 2)) : -1,
                loraRank: lora ? pick([1, 2, 3]) : 0
              };
              assertLedgerMatchesModel(c, JSON.stringify(c));
              checked++;
            }
  assert.equal(checked, 48);
});

test("sharing leaves the applied parameters and the FLOPs unchanged and counts a shared weight at every use", () => {
  const base = { ...PRESETS.micro.model, nLayer: 6 };
  const shared = { ...base, shareFfn: true, shareAttnOut: true };
  const [a, b] = [ledger(base), ledger(shared)];
  assert.equal(b.applied, a.applied);
  assert.deepEqual(b.flopsPerPosition, a.flopsPerPosition);
  assert.equal(a.unique - b.unique, 5 * (3 * 128 * 384 + 128 * 128));
  const ffn = b.rows.find((r) => r.component.startsWith("shared FFN"))!;
  assert.equal(ffn.uses, 6);
  assert.equal(ffn.applied, 6 * 3 * 128 * 384);
  const interior = ledger({ ...base, interiorMargin: 1 });
  assert.equal(interior.applied, a.applied);
  assert.equal(a.unique - interior.unique, 3 * (4 * 128 * 128 + 3 * 128 * 384 + 2 * 128));
});

test("LoRA adds rank x (inputs + outputs) for each matrix an interior layer takes from the interior block", () => {
  const c = { ...PRESETS.nano.model, nLayer: 6, interiorMargin: 1, loraRank: 4 };
  const perLayer = 4 * ((64 + 64) * 2 + (64 + 64) * 2 + (64 + 192) * 3);
  assert.equal(ledger(c).byGroup.lora.unique, 4 * perLayer);
  assert.equal(ledger({ ...c, shareFfn: true, shareAttnOut: true }).byGroup.lora.unique, 4 * 4 * (64 + 64) * 3);
});

test("the ledger's training FLOPs for the trainable presets are the count stlm bench uses, 6 x (dense + 2 T C L) per token", () => {
  for (const name of Object.keys(PRESETS)) {
    const c = PRESETS[name].model;
    const kv = (c.nKvHead * c.dModel) / c.nHead;
    const dense = c.nLayer * (2 * c.dModel * c.dModel + 2 * c.dModel * kv + 3 * c.dModel * c.ffnHidden) + c.dModel * c.vocabSize;
    assert.equal(ledger(c).flopsPerPosition.training, 6 * (dense + 2 * c.blockSize * c.dModel * c.nLayer), name);
  }
});

test("the paper's byte codec has the parameters a hand count gives", () => {
  const w = 128, block = 4 * w * w + 2 * w * 512 + 2 * w;
  const byHand = 258 * w + 12 * w + 2 * block + w + w * 512 + 512 * 12 * w + 2 * block + w + w * 258;
  assert.equal(byteCodecLedger(PAPER_BYTE_CODEC, 512).unique, byHand);
  assert.equal(byHand, 1_707_264);
});

test("the byte-level presets spend 90–97% fewer parameters on ids than GPT-2's vocabulary, the whole model far less", () => {
  const r = paramsReport("stlm-50m-paper-bytes");
  assert.equal(r.vocabulary.gpt2Tied, 50257 * 512);
  assert.equal(r.vocabulary.parameters, 1_707_264);
  assert.ok(Math.abs(r.vocabulary.reductionVsTied - (1 - 1_707_264 / 25_731_584)) < 1e-12);
  for (const name of Object.keys(LEDGER_PRESETS).filter((n) => n.endsWith("-bytes"))) {
    const p = anyPreset(name);
    const v = vocabularyReduction(p.model, p.bytes);
    assert.ok(v.reductionVsTied > 0.9 && v.reductionVsTied < 0.96, `${name} vs tied: ${v.reductionVsTied}`);
    assert.ok(v.reductionVsUntied > 0.95 && v.reductionVsUntied < 0.98, `${name} vs untied: ${v.reductionVsUntied}`);
    assert.ok(1 - v.totals.model / v.totals.gpt2Tied < v.reductionVsTied, `${name}: the whole model shrinks by less than its vocabulary part`);
  }
});

test("the ledger's byte codec counts exactly the byte embedding, encoder and decoder of the pooled model in lib/models/pooled.ts", () => {
  const core = PRESETS.nano.model;
  for (const [strategy, byteDim, byteHeads, byteFfn, encoderLayers, decoderLayers] of [["stride", 32, 2, 64, 1, 2], ["word", 48, 4, 96, 2, 1]] as const) {
    const pc = pooledConfig({ strategy, stride: 4, byteWindow: 128, byteDim, byteHeads, byteFfn, encoderLayers, decoderLayers, reconstructionWeight: 0, core });
    const theirs = pooledParameterShapes(pc)
      .filter((s) => s.component !== "core")
      .reduce((n, s) => n + size(s.shape), 0);
    const codec = { byteVocabSize: 258, byteWidth: byteDim, chunkSize: pc.maxChunk, encoderLayers, decoderLayers, byteHeads, byteFfnHidden: byteFfn, byteFfnType: "swiglu" as const, tieByteEmbeddings: true };
    assert.equal(byteCodecLedger(codec, core.dModel).unique, theirs, strategy);
  }
});
