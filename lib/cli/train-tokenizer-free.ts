// stlm train for the tokenizer-free presets (pooled bytes and BPE tokens): the
// same run folder as a byte model's (config.json, metrics.jsonl, checkpoint.stlm,
// summary.json), with the model's full config in the checkpoint's meta.
import path from "node:path";
import { existsSync } from "node:fs";
import { CHECKPOINT_FILE, encodeCheckpoint } from "../checkpoint.js";
import { bitsPerByte } from "../eval.js";
import { Trainer } from "../trainer.js";
import { TOKENIZER_FREE_PRESETS, buildPreset, tokenizerFreeCheckpoint } from "../tokenizer-free.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus, loadTextCorpus } from "../node/data.js";
import { appendJsonl, writeFileAtomic, writeJson } from "../node/files.js";
import { formatDuration, progressLine, UsageError, type Flags } from "./args.js";

export const TOKENIZER_FREE_PRESET_HELP = Object.values(TOKENIZER_FREE_PRESETS)
  .map((p) => `  ${p.name.padEnd(16)} ${p.description}`)
  .join("\n");

export function isTokenizerFreePreset(name: unknown): boolean {
  return typeof name === "string" && name in TOKENIZER_FREE_PRESETS && name !== "bytes-micro";
}

/** Train a tokenizer-free preset from parsed `stlm train` flags (no --resume: these runs start fresh). */
export async function trainTokenizerFree(f: Flags): Promise<void> {
  if (f.resume !== undefined) throw new UsageError("stlm train: --resume is not supported for the tokenizer-free presets yet; start a new run");
  if (f.out === undefined) throw new UsageError("stlm train: --out DIR is required (the folder the run is written to)");
  const dir = String(f.out);
  if (existsSync(path.join(dir, CHECKPOINT_FILE))) throw new UsageError(`stlm train: ${dir} already holds a saved run; choose another --out folder.`);
  if ((f.corpus === undefined) === (f.text === undefined)) throw new UsageError("stlm train: give exactly one of --corpus NAME or --text FILE");
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm train: --backend must be wasm or cpu in Node (got "${backend}")`);
  const preset = TOKENIZER_FREE_PRESETS[String(f.preset)];
  const train = { ...preset.train };
  if (f.steps !== undefined) train.steps = Number(f.steps);
  if (f.seed !== undefined) train.seed = Number(f.seed);
  if (f.lr !== undefined) train.learningRate = Number(f.lr);
  if (f.batch !== undefined) train.batchSize = Number(f.batch);
  if (f["eval-every"] !== undefined) train.evalEvery = Number(f["eval-every"]);
  const info = await initNode(backend);
  const corpus = f.corpus !== undefined ? await loadCorpus(String(f.corpus)) : await loadTextCorpus(String(f.text));
  const log = (s: string) => process.stderr.write(s);
  const built = buildPreset(preset, corpus.train, train.seed);
  log(`${preset.name}: ${built.model.parameterCount().toLocaleString("en-US")} parameters, ${corpus.name} (${corpus.train.length.toLocaleString("en-US")} training bytes), backend ${info.name}\n`);
  const trainer = new Trainer({ model: built.model, data: built.data, train, evaluate: () => bitsPerByte(built.scorer, corpus.val, { maxBytes: train.evalBytes }) });
  const source = f.corpus !== undefined ? { corpus: String(f.corpus) } : { text: path.resolve(String(f.text)) };
  await writeJson(path.join(dir, "config.json"), { preset: preset.name, source, tokenizerFree: built.config, train, backend: info, createdAt: new Date().toISOString() });
  const save = async () => {
    const ckpt = await tokenizerFreeCheckpoint(built, train, { preset: preset.name, source, backend: info.name, savedAt: new Date().toISOString() });
    await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), encodeCheckpoint({ ...ckpt, trainer: await trainer.state() }));
  };
  let lastVal = NaN;
  const speeds: number[] = [];
  try {
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        const bytesPerSecond = e.tokensPerSecond * built.bytesPerPosition;
        speeds.push(bytesPerSecond);
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, loss: e.loss, lr: e.lr, bytesPerSecond: Math.round(bytesPerSecond), elapsedMs: Math.round(e.elapsedMs), ...(built.pooled?.config.strategy === "learned" ? { boundaryRate: built.pooled.lastBoundaryRate } : {}) });
        if (!f.quiet && (e.step % 25 === 0 || e.step === train.steps)) {
          log(progressLine(e.step, train.steps, [`loss ${e.loss.toFixed(3)}`, `val ${Number.isNaN(lastVal) ? "-" : lastVal.toFixed(3)} bpb`, `${Math.round(bytesPerSecond)} bytes/s`, `ETA ${formatDuration(e.etaMs)}`]) + "\n");
        }
      } else if (e.kind === "eval") {
        lastVal = e.valBitsPerByte;
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, valBitsPerByte: e.valBitsPerByte, elapsedMs: Math.round(e.elapsedMs) });
        await save();
      } else if (e.kind === "done") {
        await save();
        const summary = {
          preset: preset.name,
          source,
          parameters: built.model.parameterCount(),
          steps: e.step,
          valBitsPerByte: lastVal,
          meanBytesPerSecond: Math.round(speeds.reduce((a, b) => a + b, 0) / Math.max(1, speeds.length)),
          trainingSeconds: Math.round(e.elapsedMs / 100) / 10,
          finishedAt: new Date().toISOString()
        };
        await writeJson(path.join(dir, "summary.json"), summary);
        log(`done at step ${e.step}: val ${lastVal.toFixed(4)} bits/byte; run saved in ${dir}\n`);
      }
    }
  } finally {
    trainer.dispose();
    built.model.dispose();
  }
}
