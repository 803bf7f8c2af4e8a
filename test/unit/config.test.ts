import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, presetConfig, validateModelConfig, validateTrainConfig, type ModelConfig, type TrainConfig } from "../../lib/config.js";
import { decodeBytes, decodeUserBytes, encodeText, firstInvalidUtf8 } from "../../lib/text/tokenizer.js";

const { model, train } = presetConfig("nano");

const badModel: [keyof ModelConfig | string, unknown, RegExp][] = [
  ["dModel", 0, /dModel: must be an integer from 2 to 8192/],
  ["blockSize", 20000, /blockSize: must be an integer from 2 to 4096 \(a context of 20000 needs a 20000 x 20000 attention mask alone of 1.5 GiB/],
  ["dModel", 64.5, /dModel/],
  ["nLayer", 0, /nLayer/],
  ["nHead", 3, /nHead: must divide dModel=64/],
  ["nHead", 64, /head size\) must be even/],
  ["nKvHead", 3, /nKvHead: must divide nHead=4/],
  ["ffnHidden", -1, /ffnHidden/],
  ["blockSize", 1, /blockSize/],
  ["dropout", 1, /dropout: must be a number in \[0, 1\)/],
  ["tieEmbeddings", "yes", /tieEmbeddings: must be true or false/],
  ["vocabSize", 1, /vocabSize/],
  ["ropeTheta", 0, /ropeTheta/],
  ["normEps", 0, /normEps/],
  ["dmodel", 64, /dmodel: unknown model setting/]
];

for (const [field, value, message] of badModel) {
  test(`a model config with ${field} = ${JSON.stringify(value)} is refused naming the field`, () => {
    assert.throws(() => validateModelConfig({ ...model, [field]: value } as ModelConfig), (e: Error) => e instanceof ConfigError && message.test(e.message) && e.message.includes(typeof value === "number" && field !== "dmodel" ? String(value) : ""));
  });
}

const badTrain: [keyof TrainConfig | string, unknown, RegExp][] = [
  ["batchSize", 0, /batchSize/],
  ["steps", 2.5, /steps/],
  ["learningRate", 0, /learningRate: must be a number in \(0, 1\)/],
  ["learningRate", Number.NaN, /learningRate/],
  ["warmupSteps", -1, /warmupSteps/],
  ["minLrRatio", 2, /minLrRatio/],
  ["weightDecay", -0.1, /weightDecay/],
  ["beta1", 1, /beta1/],
  ["beta2", -1, /beta2/],
  ["eps", 0, /eps/],
  ["gradClip", -1, /gradClip/],
  ["evalEvery", -5, /evalEvery/],
  ["evalBytes", 1, /evalBytes/],
  ["seed", -1, /seed/]
];

for (const [field, value, message] of badTrain) {
  test(`a training config with ${field} = ${String(value)} is refused naming the field`, () => {
    assert.throws(() => validateTrainConfig({ ...train, [field]: value } as TrainConfig), (e: Error) => e instanceof ConfigError && message.test(e.message));
  });
}

test("an unknown preset is refused with the list of presets", () => {
  assert.throws(() => presetConfig("giant"), /unknown preset "giant"; choose one of: nano, micro/);
});

test("bytes round-trip through the tokenizer, multi-byte characters included", () => {
  const text = "naïve café — 𝄞 ok";
  assert.equal(decodeBytes(encodeText(text)), text);
  assert.equal(decodeBytes([104, 105, 256, 257]), "hi");
});

test("reader text that is empty, blank or not UTF-8 gets a message saying what to do", () => {
  assert.throws(() => decodeUserBytes(new Uint8Array(0), "notes.txt"), /notes\.txt is empty/);
  assert.throws(() => decodeUserBytes(encodeText(" \n\t "), "notes.txt"), /only whitespace/);
  assert.throws(() => decodeUserBytes(Uint8Array.from([104, 105, 0xe9, 33]), "notes.txt"), /notes\.txt is not valid UTF-8 \(first bad byte at offset 2, 0xe9\).*Save it as UTF-8/);
  assert.equal(firstInvalidUtf8(encodeText("fine ✓")), -1);
  assert.equal(firstInvalidUtf8(Uint8Array.from([0xed, 0xa0, 0x80])), 0, "UTF-16 surrogates are not UTF-8");
  assert.equal(firstInvalidUtf8(Uint8Array.from([65, 0xe2, 0x9c])), 1, "a character cut off at the end");
});
