// stlm train: train any preset (a byte model, a pooled byte model, a BPE-token
// model) on a corpus or a text file, into a run folder. One path for every kind:
// the model comes from the registry (lib/models.ts), so resume, Ctrl-C,
// sampling and checkpoint checks are the same for all of them.
import { existsSync } from "node:fs";
import path from "node:path";
import { validateTrainConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { CHECKPOINT_FILE, checkpointSpec, coreCheckpointFields, encodeCheckpoint, labModelFromCheckpoint } from "../checkpoint.js";
import type { Corpus } from "../data.js";
import { bitsPerByte } from "../eval.js";
import { createModel, trainingBatches, type LabModel, type ModelSpec } from "../models.js";
import { PooledLM } from "../pooled.js";
import { presetHelp, presetSpec } from "../presets.js";
import { decodeBytes, encodeText } from "../tokenizer.js";
import { Trainer, type TrainEvent } from "../trainer.js";
import { initNode } from "../node/runtime.js";
import { loadCorpus, loadTextCorpus } from "../node/data.js";
import { appendJsonl, loadCheckpointFile, readJson, writeFileAtomic, writeJson } from "../node/files.js";
import { formatDuration, parseFlags, progressLine, UsageError } from "./args.js";

export const TRAIN_HELP = `stlm train --preset P (--corpus C | --text FILE) --steps N --seed S --out DIR
stlm train --resume DIR [--steps N]

Trains a model and writes DIR/config.json, DIR/metrics.jsonl,
DIR/${CHECKPOINT_FILE} (saved at every evaluation and at the end), DIR/samples.json
and DIR/summary.json.

  --preset P        one of (default nano):
${presetHelp("                      ")}
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
  /** The byte model's config (plain presets); other kinds keep theirs in `spec`. */
  model?: ModelConfig;
  spec?: ModelSpec;
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
  const backend = (f.backend as string | undefined) ?? "wasm";
  if (backend !== "wasm" && backend !== "cpu") throw new UsageError(`stlm train: --backend must be wasm or cpu in Node (got "${backend}")`);

  let run: RunConfig;
  let dir: string;
  let model: LabModel;
  let corpus: Corpus;
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
    validateTrainConfig(run.train);
    if (ckpt.trainer.step >= run.train.steps) throw new UsageError(`stlm train: the run in ${dir} already finished ${ckpt.trainer.step} of ${run.train.steps} steps; pass --steps with a larger total to train on.`);
    run.spec = checkpointSpec(ckpt);
    model = labModelFromCheckpoint(ckpt);
    resumeState = ckpt.trainer;
    corpus = await loadSource(run.source);
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
    presetSpec(preset, new Uint8Array(0), overrides); // a bad preset or setting is refused before any file is read
    const source: RunConfig["source"] = f.corpus !== undefined ? { corpus: String(f.corpus) } : { text: path.resolve(String(f.text)) };
    corpus = await loadSource(source);
    const { spec, train } = presetSpec(preset, corpus.train, overrides);
    run = { preset, source, ...(spec.kind === "bytes" ? { model: spec.model } : { spec }), train };
    run.spec = spec;
    await initNode(backend);
    model = createModel(spec, train.seed);
  }

  const info = await initNode(backend);
  const { data, bytesPerPosition } = trainingBatches(model, corpus.train);
  const spec = run.spec!;
  const log = (s: string) => process.stderr.write(s);
  log(`${run.preset}: ${model.parameterCount().toLocaleString("en-US")} parameters, ${corpus.name} (${corpus.train.length.toLocaleString("en-US")} training bytes), backend ${info.name}${info.simd ? "+simd" : ""}, ${info.threads} thread(s)\n`);
  const trainer = new Trainer({
    model,
    data,
    train: run.train,
    state: resumeState,
    evaluate: () => bitsPerByte(model.byteScorer, corpus.val, { maxBytes: run.train.evalBytes })
  });
  if (!resumeState) {
    const { spec: _s, ...config } = run;
    await writeJson(path.join(dir, "config.json"), { ...config, ...(spec.kind === "bytes" ? {} : { spec }), backend: info, createdAt: new Date().toISOString() });
  }

  const samplesFile = path.join(dir, "samples.json");
  const samples: { step: number; text: string }[] = existsSync(samplesFile) ? await readJson(samplesFile) : [];
  const save = async () => {
    const ckpt = encodeCheckpoint({
      ...coreCheckpointFields(spec),
      trainConfig: run.train,
      weights: await model.weights(),
      trainer: await trainer.state(),
      meta: { ...coreCheckpointFields(spec).meta, preset: run.preset, source: run.source, backend: info.name, savedAt: new Date().toISOString() }
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
  const pooled = model instanceof PooledLM && model.config.strategy === "learned" ? model : null;
  let lastVal = NaN;
  let last: Extract<TrainEvent, { kind: "step" }> | null = null;
  const tokensPerSecond: number[] = [];
  let lastPrinted = 0;
  try {
    for await (const e of trainer.run()) {
      if (e.kind === "step") {
        last = e;
        tokensPerSecond.push(e.tokensPerSecond);
        await appendJsonl(path.join(dir, "metrics.jsonl"), {
          step: e.step,
          loss: round(e.loss),
          lr: e.lr,
          gradNorm: round(e.gradNorm),
          tokensPerSecond: Math.round(e.tokensPerSecond),
          ...(bytesPerPosition !== 1 ? { bytesPerSecond: Math.round(e.tokensPerSecond * bytesPerPosition) } : {}),
          ...(pooled ? { boundaryRate: round(pooled.lastBoundaryRate) } : {}),
          elapsedMs: Math.round(e.elapsedMs)
        });
        const line = progressLine(e.step, run.train.steps, [
          `loss ${e.loss.toFixed(3)}`,
          `val ${Number.isNaN(lastVal) ? "-" : lastVal.toFixed(3)} bpb`,
          `${Math.round(e.tokensPerSecond * bytesPerPosition).toLocaleString("en-US")} bytes/s`,
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
        const text = decodeBytes(await model.generate(encodeText("\n\n"), { tokens: 160, temperature: 0.8, topK: 40, seed: e.step }));
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
          meanBytesPerSecond: tokensPerSecond.length ? Math.round((bytesPerPosition * tokensPerSecond.reduce((a, b) => a + b, 0)) / tokensPerSecond.length) : null,
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
