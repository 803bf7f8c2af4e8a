// Small configs and text for unit tests: big enough to be a real model, small
// enough that hundreds of steps take seconds.
import { presetConfig, type ModelConfig, type TrainConfig } from "../../lib/config.js";
import { BatchSampler } from "../../lib/text/data.js";
import { encodeText } from "../../lib/text/tokenizer.js";

export function tinyConfigs(model: Partial<ModelConfig> = {}, train: Partial<TrainConfig> = {}): { model: ModelConfig; train: TrainConfig } {
  return presetConfig("nano", {
    model: { dModel: 16, nLayer: 2, nHead: 2, nKvHead: 2, ffnHidden: 32, blockSize: 16, ...model },
    train: { batchSize: 4, steps: 200, warmupSteps: 10, learningRate: 1e-2, evalEvery: 0, ...train }
  });
}

export const TEXT = encodeText(
  "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. ".repeat(40)
);

export const sampler = () => new BatchSampler(TEXT);
