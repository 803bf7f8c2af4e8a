// The weight-sharing A/B experiments: pairs of small byte-level models at (nearly)
// equal parameter counts, trained on the same batches in the same order, one step
// of each in turn. The sharing page runs them live; scripts/sharing-runs.ts runs
// them in Node for the page's precomputed curves.
import { anyPreset, GPT2_VOCAB_SIZE, PAPER_BYTE_CODEC, presetConfig, validateModelConfig, type ByteCodecConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { BatchSampler, type Corpus } from "../text/data.js";
import { bitsPerByte } from "../eval/eval.js";
import { ledger, type Ledger } from "../models/ledger.js";
import { TinyLM } from "../models/model.js";
import { Trainer, type TrainEvent } from "../train/trainer.js";
import type { InterruptCheck } from "../train/interrupt.js";
import { takeSnapshot, type SnapshotConfig } from "../train/snapshots.js";

export interface SharingArm {
  label: string;
  model: ModelConfig;
}

export interface SharingExperiment {
  id: string;
  title: string;
  /** What the pair asks, in a sentence. */
  question: string;
  arms: [SharingArm, SharingArm];
}

/** Small enough to train both arms in a few minutes on one CPU core. */
export const SHARING_TRAIN: Partial<TrainConfig> = {
  batchSize: 8,
  steps: 250,
  learningRate: 3e-3,
  warmupSteps: 20,
  evalEvery: 50,
  evalBytes: 8192,
  seed: 1
};

const small = (model: Partial<ModelConfig>): ModelConfig => presetConfig("nano", { model: { blockSize: 64, ...model } }).model;

export const SHARING_EXPERIMENTS: readonly SharingExperiment[] = [
  {
    id: "tying",
    title: "Untied vs tied embeddings",
    question: "With the head tied to the embedding, the saved 16,512 parameters go into a wider MLP. Which spends them better?",
    arms: [
      { label: "untied, SwiGLU 192", model: small({ tieEmbeddings: false }) },
      { label: "tied, SwiGLU 213", model: small({ ffnHidden: 213 }) }
    ]
  },
  {
    id: "shared-ffn",
    title: "4 layers vs 8 layers with one shared MLP",
    question: "At the same parameter count, is depth with a shared MLP worth more than four layers with their own?",
    arms: [
      { label: "4 layers, own MLPs (SwiGLU 192)", model: small({}) },
      { label: "8 layers, one shared MLP (SwiGLU 424)", model: small({ nLayer: 8, shareFfn: true, ffnHidden: 424 }) }
    ]
  },
  {
    id: "interior-lora",
    title: "Interior sharing with and without LoRA",
    question: "Eight layers whose middle six share one block: do per-layer rank-4 corrections beat spending the same parameters on a wider MLP?",
    arms: [
      { label: "interior shared, SwiGLU 245, no LoRA", model: small({ nLayer: 8, interiorMargin: 1, ffnHidden: 245 }) },
      { label: "interior shared, SwiGLU 192, LoRA rank 4", model: small({ nLayer: 8, interiorMargin: 1, loraRank: 4 }) }
    ]
  }
];

export function sharingExperiment(id: string): SharingExperiment {
  const e = SHARING_EXPERIMENTS.find((x) => x.id === id);
  if (!e) throw new Error(`unknown sharing experiment "${id}"; choose one of: ${SHARING_EXPERIMENTS.map((x) => x.id).join(", ")}`);
  return e;
}

/** One arm's record: what the table and the loss chart need, nothing tensor-shaped. */
export interface ArmRecord {
  label: string;
  model: ModelConfig;
  parameters: number;
  steps: { step: number; loss: number }[];
  evals: { step: number; valBitsPerByte: number }[];
  /** Mean over the run's steps; the two arms share the machine, one step each in turn. */
  tokensPerSecond: number;
  trainingSeconds: number;
}

export type ArmEvent = { arm: number; event: TrainEvent };

/**
 * Both arms of an experiment, stepped in turn on the same batches (each trainer
 * draws from its own copy of the same seeded data stream), so neither gets the
 * machine to itself and their curves are comparable step for step.
 */
export class SharingRun {
  readonly records: [ArmRecord, ArmRecord];
  private readonly models: TinyLM[];
  private readonly trainers: Trainer[];
  private disposed = false;

  /** The training config both arms run (their records' `train`). */
  readonly train: TrainConfig;

  /**
   * `options.snapshots`: each arm takes training snapshots (lib/train/snapshots.ts), yielded as "snapshot" events.
   * `options.interrupt`: asked between the kernels of each arm's steps (lib/train/interrupt.ts; a page's Stop).
   */
  constructor(readonly experiment: SharingExperiment, corpus: Pick<Corpus, "train" | "val">, train: Partial<TrainConfig> = {}, options: { snapshots?: SnapshotConfig; interrupt?: InterruptCheck } = {}) {
    const trainConfig = presetConfig("nano", { train: { ...SHARING_TRAIN, ...train } }).train;
    this.train = trainConfig;
    this.models = experiment.arms.map((a) => TinyLM.create(a.model, trainConfig.seed));
    this.trainers = this.models.map(
      (model) =>
        new Trainer({
          model,
          data: new BatchSampler(corpus.train),
          train: trainConfig,
          evaluate: () => bitsPerByte(model, corpus.val, { maxBytes: trainConfig.evalBytes }),
          ...(options.interrupt ? { interrupt: options.interrupt } : {}),
          ...(options.snapshots ? { snapshot: { every: options.snapshots.every, take: (step: number) => takeSnapshot(model, step, options.snapshots!) } } : {})
        })
    );
    const records = experiment.arms.map((a, i): ArmRecord => {
      const parameters = this.models[i].parameterCount();
      if (parameters !== ledger(a.model).unique) throw new Error(`${a.label}: the ledger and the model disagree`);
      return { label: a.label, model: a.model, parameters, steps: [], evals: [], tokensPerSecond: 0, trainingSeconds: 0 };
    });
    this.records = [records[0], records[1]];
  }

  /** Every event of both arms, in the order they happen; the records fill in as they go. */
  async *events(): AsyncGenerator<ArmEvent, void, undefined> {
    const runs = this.trainers.map((t) => t.run());
    const live = [true, true];
    const speeds: number[][] = [[], []];
    try {
      while (live.some(Boolean)) {
        for (let arm = 0; arm < runs.length; arm++) {
          if (!live[arm]) continue;
          // Advance this arm by one step (and whatever events that step brings).
          for (;;) {
            const next = await runs[arm].next();
            if (next.done) {
              live[arm] = false;
              break;
            }
            const event = next.value;
            const r = this.records[arm];
            if (event.kind === "step") {
              r.steps.push({ step: event.step, loss: event.loss });
              speeds[arm].push(event.tokensPerSecond);
              r.tokensPerSecond = speeds[arm].reduce((a, b) => a + b, 0) / speeds[arm].length;
              r.trainingSeconds = event.elapsedMs / 1000;
            } else if (event.kind === "eval") r.evals.push({ step: event.step, valBitsPerByte: event.valBitsPerByte });
            yield { arm, event };
            if (event.kind === "step" || event.kind === "done") break;
          }
        }
      }
    } finally {
      await Promise.all(runs.map((r) => r.return(undefined)));
    }
  }

  stop(): void {
    for (const t of this.trainers) t.stop();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.trainers) t.dispose();
    for (const m of this.models) m.dispose();
  }
}

/** The page's switches over a preset. */
export interface SharingToggles {
  tieEmbeddings: boolean;
  shareFfn: boolean;
  shareAttnOut: boolean;
  /** -1: no interior sharing. */
  interiorMargin: number;
  loraRank: number;
  vocabSize: number;
  /** Replace the vocabulary by the paper's byte encoder and decoder. */
  bytePooling: boolean;
}

/**
 * A preset with the page's switches applied, validated: the config, its byte
 * codec when pooled, and its ledger; or the reason the combination is invalid.
 */
export function sharingVariant(presetName: string, t: SharingToggles): { model: ModelConfig; bytes?: ByteCodecConfig; ledger: Ledger } | { error: string } {
  try {
    const base = anyPreset(presetName);
    const model = validateModelConfig({
      ...base.model,
      tieEmbeddings: t.tieEmbeddings,
      shareFfn: t.shareFfn,
      shareAttnOut: t.shareAttnOut,
      interiorMargin: t.interiorMargin,
      loraRank: t.interiorMargin >= 0 ? t.loraRank : 0,
      vocabSize: t.vocabSize
    });
    const bytes = t.bytePooling ? { ...PAPER_BYTE_CODEC } : undefined;
    return { model, ...(bytes ? { bytes } : {}), ledger: ledger(model, bytes) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The same core with GPT-2's vocabulary and no sharing at all: what the reductions are measured against. */
export function gpt2Baseline(model: ModelConfig, tied: boolean): Ledger {
  return ledger({ ...model, vocabSize: GPT2_VOCAB_SIZE, tieEmbeddings: tied, shareFfn: false, shareAttnOut: false, interiorMargin: -1, loraRank: 0 });
}
