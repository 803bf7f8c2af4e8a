// Counts live tensors while a model trains, to show that nothing accumulates.
//   node --import tsx scripts/tensor-count.ts [--preset nano] [--steps 1000] [--small]
// --small trains a 2-layer, width-16 model with the same code path (fast).
import { initNode } from "../lib/node/runtime.js";
import { tf } from "../lib/tf.js";
import { presetConfig } from "../lib/config.js";
import { TinyLM } from "../lib/models/model.js";
import { Trainer } from "../lib/train/trainer.js";
import { BatchSampler } from "../lib/text/data.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { loadCorpus } from "../lib/node/data.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg("steps", "1000"));
const small = process.argv.includes("--small");
await initNode();
const corpus = await loadCorpus("austen");
const { model: mc, train } = presetConfig(arg("preset", "nano"), {
  model: small ? { dModel: 16, nLayer: 2, nHead: 2, nKvHead: 2, ffnHidden: 32, blockSize: 32 } : {},
  train: { steps, evalEvery: 100, evalBytes: 2048, batchSize: small ? 8 : 16 }
});
const atStart = tf.memory().numTensors;
const model = TinyLM.create(mc, 1);
const trainer = new Trainer({ model, data: new BatchSampler(corpus.train), train, evaluate: () => bitsPerByte(model, corpus.val, { maxBytes: 2048 }) });
const counts: number[] = [];
for await (const e of trainer.run()) {
  if (e.kind === "step" && e.step % 100 === 0) {
    counts.push(tf.memory().numTensors);
    console.log(`step ${e.step}: ${tf.memory().numTensors} tensors, ${(tf.memory().numBytes / 1e6).toFixed(2)} MB, loss ${e.loss.toFixed(3)}`);
  }
}
trainer.dispose();
model.dispose();
console.log(JSON.stringify({ steps, countsEvery100Steps: counts, flat: new Set(counts).size === 1, leftAfterDispose: tf.memory().numTensors - atStart }));
