// stlm train: train a preset on a corpus or a text file, into a run folder.
import { existsSync } from "node:fs";
import path from "node:path";
import { presetConfig, PRESETS, type ModelConfig, type TrainConfig } from "../config.js";
import { CHECKPOINT_FILE, encodeCheckpoint, modelFromCheckpoint } from "../checkpoint.js";
import { BatchSampler, type Corpus } from "../data.js";
import { bitsPerByte } from "../eval.js";
import { TinyLM } from "../model.js";
import { sample } from "../sample.js";
import { decodeBytes, encodeText } from "../tokenizer.js";
import { Trainer, type TrainEvent } from "../trainer.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus, loadTextCorpus } from "../node/data.js";
import { appendJsonl, loadCheckpointFile, readJson, writeFileAtomic, writeJson } from "../node/files.js";
import { formatDuration, parseFlags, progressLine, UsageError } from "./args.js";
import { isTokenizerFreePreset, trainTokenizerFree, TOKENIZER_FREE_PRESET_HELP } from "./train-tokenizer-free.js";

export const TRAIN_HELP = `stlm train --preset P (--corpus C | --text FILE) --steps N --seed S --out DIR
stlm train --resume DIR [--steps N]

Trains a byte-level model and writes DIR/config.json, DIR/metrics.jsonl,
DIR/${CHECKPOINT_FILE} (saved at every evaluation and at the end), DIR/samples.json
and DIR/summary.json.

  --preset P        ${Object.keys(PRESETS).join(", ")} (default nano), or a tokenizer-free preset:
${TOKENIZER_FREE_PRESET_HELP}
  --corpus C        austen, moby-dick, sotu, bible (from data/corpora)
  --text FILE       your own UTF-8 text file (last 10% held out for validation)
  --steps N         total training steps (on --resume: the new total)
  --seed S          seed for initialisation, batches and dropout (default 1)
  --lr X            peak learning rate (default: the preset's)
  --batch N         batch size (default: the preset's)
  --eval-every N    evaluate and checkpoint every N steps (default: the preset's)
  --out DIR         the run folder; refused if it already holds a checkpoint
  --resume DIR      continue the run saved in DIR
  --backend B       wasm (default) or cpu
  --quiet           no progress bar`;

interface RunConfig {
  preset: string;
  source: { corpus: string } | { text: string };
  model: ModelConfig;
  train: TrainConfig;
}

async function loadSource(source: RunConfig["source"]): Promise<Corpus> {
  return "corpus" in source ? loadCorpus(source.corpus) : loadTextCorpus(source.text);
}

export async function trainCommand(argv: string[]): Promise<void> {
  const f = parseFlags(
    argv,
    { preset: "string", corpus: "string", text: "string", steps: "number", seed: "number", lr: "number", batch: "number", "eval-every": "number", out: "string", resume: "string", backend: "string", quiet: "boolean" },
    "train"
  );
  if (isTokenizerFreePreset(f.preset)) return trainTokenizerFree(f);
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm train: --backend must be wasm or cpu in Node (got "${backend}")`);

  let run: RunConfig;
  let dir: string;
  let model: TinyLM;
  let resumeState;
  if (f.resume !== undefined) {
    dir = String(f.resume);
    for (const k of ["preset", "corpus", "text", "out", "seed", "lr", "batch"]) {
      if (f[k] !== undefined) throw new UsageError(`stlm train: --${k} cannot change on --resume; the run keeps the settings in ${path.join(dir, "config.json")}`);
    }
    if (!existsSync(path.join(dir, "config.json"))) throw new UsageError(`stlm train: ${dir} has no config.json; is it a run folder written by \`stlm train --out\`?`);
    run = await readJson<RunConfig>(path.join(dir, "config.json"));
    await initNode(backend);
    const ckpt = await loadCheckpointFile(dir);
    if (!ckpt.trainer) throw new UsageError(`stlm train: the checkpoint in ${dir} holds weights only (no optimizer state), so it cannot be resumed.`);
    run.train = { ...ckpt.trainConfig, ...(f.steps !== undefined ? { steps: Number(f.steps) } : {}) };
    presetConfig(run.preset, { model: run.model, train: run.train });
    if (ckpt.trainer.step >= run.train.steps) throw new UsageError(`stlm train: the run in ${dir} already finished ${ckpt.trainer.step} of ${run.train.steps} steps; pass --steps with a larger total to train on.`);
    model = modelFromCheckpoint(ckpt);
    resumeState = ckpt.trainer;
  } else {
    if (f.out === undefined) throw new UsageError("stlm train: --out DIR is required (the folder the run is written to)");
    dir = String(f.out);
    if (existsSync(path.join(dir, CHECKPOINT_FILE))) {
      throw new UsageError(`stlm train: ${dir} already holds a saved run; use --resume ${dir} to continue it, or choose another --out folder.`);
    }
    if ((f.corpus === undefined) === (f.text === undefined)) throw new UsageError("stlm train: give exactly one of --corpus NAME or --text FILE");
    const preset = (f.preset as string | undefined) ?? "nano";
    const overrides: Partial<TrainConfig> = {};
    if (f.steps !== undefined) overrides.steps = Number(f.steps);
    if (f.seed !== undefined) overrides.seed = Number(f.seed);
    if (f.lr !== undefined) overrides.learningRate = Number(f.lr);
    if (f.batch !== undefined) overrides.batchSize = Number(f.batch);
    if (f["eval-every"] !== undefined) overrides.evalEvery = Number(f["eval-every"]);
    const { model: mc, train } = presetConfig(preset, { train: overrides });
    run = { preset, source: f.corpus !== undefined ? { corpus: String(f.corpus) } : { text: path.resolve(String(f.text)) }, model: mc, train };
    await initNode(backend);
    model = TinyLM.create(mc, train.seed);
  }

  const corpus = await loadSource(run.source);
  const info = await initNode(backend);
  const log = (s: string) => process.stderr.write(s);
  log(`${run.preset}: ${model.parameterCount().toLocaleString("en-US")} parameters, ${corpus.name} (${corpus.train.length.toLocaleString("en-US")} training bytes), backend ${info.name}${info.simd ? "+simd" : ""}, ${info.threads} thread(s)\n`);
  const trainer = new Trainer({
    model,
    data: new BatchSampler(corpus.train),
    train: run.train,
    state: resumeState,
    evaluate: () => bitsPerByte(model, corpus.val, { maxBytes: run.train.evalBytes })
  });
  if (!resumeState) await writeJson(path.join(dir, "config.json"), { ...run, backend: info, createdAt: new Date().toISOString() });

  const samplesFile = path.join(dir, "samples.json");
  const samples: { step: number; text: string }[] = existsSync(samplesFile) ? await readJson(samplesFile) : [];
  const save = async () => {
    const ckpt = encodeCheckpoint({
      modelConfig: model.config,
      trainConfig: run.train,
      weights: await model.weights(),
      trainer: await trainer.state(),
      meta: { preset: run.preset, source: run.source, backend: info.name, savedAt: new Date().toISOString() }
    });
    await writeFileAtomic(path.join(dir, CHECKPOINT_FILE), ckpt);
  };

  let stopping = false;
  const onSigint = () => {
    if (stopping) process.exit(130);
    stopping = true;
    log("\nstopping after this step and saving the checkpoint (Ctrl-C again to quit without saving)\n");
    trainer.stop();
  };
  process.on("SIGINT", onSigint);

  const tty = process.stderr.isTTY && !f.quiet;
  let lastVal = NaN;
  let last: Extract<TrainEvent, { kind: "step" }> | null = null;
  const tokensPerSecond: number[] = [];
  let lastPrinted = 0;
  try {
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        last = e;
        tokensPerSecond.push(e.tokensPerSecond);
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, loss: round(e.loss), lr: e.lr, gradNorm: round(e.gradNorm), tokensPerSecond: Math.round(e.tokensPerSecond), elapsedMs: Math.round(e.elapsedMs) });
        const line = progressLine(e.step, run.train.steps, [
          `loss ${e.loss.toFixed(3)}`,
          `val ${Number.isNaN(lastVal) ? "-" : lastVal.toFixed(3)} bpb`,
          `${Math.round(e.tokensPerSecond).toLocaleString("en-US")} tok/s`,
          `ETA ${formatDuration(e.etaMs)}`
        ]);
        if (tty) log(`\r${line}`);
        else if (!f.quiet && (e.step - lastPrinted >= 25 || e.step === run.train.steps)) {
          log(line + "\n");
          lastPrinted = e.step;
        }
      } else if (e.kind === "eval") {
        lastVal = e.valBitsPerByte;
        await appendJsonl(path.join(dir, "metrics.jsonl"), { step: e.step, valBitsPerByte: round(e.valBitsPerByte), elapsedMs: Math.round(e.elapsedMs) });
        const text = decodeBytes(await sample(model, encodeText("\n\n"), { tokens: 160, temperature: 0.8, topK: 40, seed: e.step }));
        samples.push({ step: e.step, text });
        await writeJson(samplesFile, samples);
        await save();
      } else if (e.kind === "done") {
        await save();
        const summary = {
          preset: run.preset,
          source: run.source,
          parameters: model.parameterCount(),
          steps: e.step,
          stopped: e.stopped,
          finalLoss: last ? round(last.loss) : null,
          valBitsPerByte: Number.isNaN(lastVal) ? null : round(lastVal),
          meanTokensPerSecond: tokensPerSecond.length ? Math.round(tokensPerSecond.reduce((a, b) => a + b, 0) / tokensPerSecond.length) : null,
          trainingSeconds: Math.round(e.elapsedMs / 100) / 10,
          backend: info,
          finishedAt: new Date().toISOString()
        };
        await writeJson(path.join(dir, "summary.json"), summary);
        if (tty) log("\n");
        log(`${e.stopped ? "stopped" : "done"} at step ${e.step}: loss ${summary.finalLoss}, val ${summary.valBitsPerByte} bits/byte; run saved in ${dir}\n`);
      }
    }
  } catch (err) {
    if (tty) log("\n");
    throw new Error(`${(err as Error).message}\nThe last checkpoint saved in ${dir} (if any) is intact; continue with \`stlm train --resume ${dir}\`.`);
  } finally {
    process.off("SIGINT", onSigint);
    trainer.dispose();
    model.dispose();
  }
}

function round(x: number): number {
  return Math.round(x * 1e5) / 1e5;
}
