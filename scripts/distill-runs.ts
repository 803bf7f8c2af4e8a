// The distillation page's precomputed runs (lib/experiments/distill.ts):
//
//   node --import tsx scripts/distill-runs.ts teacher      # trains the teacher into data/runs/distill/teacher/
//   node --import tsx scripts/distill-runs.ts students [--seeds 1,2,3] [--only alone,forward-t1] [--limit 300]
//
// The teacher folder is a run folder like `stlm train` writes (config.json,
// metrics.jsonl, summary.json, a weights-only checkpoint.safetensors), so
// `stlm eval --checkpoint data/runs/distill/teacher` and
// `stlm train --teacher data/runs/distill/teacher` read it. The students' results go
// to data/runs/distill/students.json (merged by arm and seed with what is there).
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus, loadEvalSet, REPO_ROOT } from "../lib/node/data.js";
import { loadCheckpointFile } from "../lib/node/files.js";
import { encodeCheckpoint, labModelFromCheckpoint, CHECKPOINT_FILE } from "../lib/train/checkpoint.js";
import { parseFlags } from "../lib/cli/args.js";
import { spread } from "../lib/cli/evaluate.js";
import { BatchSampler } from "../lib/text/data.js";
import { bitsPerByte, minimalPairs, nextSentence } from "../lib/eval/eval.js";
import { TinyLM } from "../lib/models/model.js";
import { Trainer } from "../lib/train/trainer.js";
import { DISTILL_ARMS, runDistillArm, STUDENT_MODEL, STUDENT_TRAIN, TEACHER_MODEL, TEACHER_TRAIN } from "../lib/experiments/distill.js";
import { presetConfig, validateTrainConfig } from "../lib/config.js";

const [mode, ...rest] = process.argv.slice(2);
const f = parseFlags(rest, { seeds: "string", only: "string", limit: "number" }, "distill-runs");
const OUT = path.join(REPO_ROOT, "data", "runs", "distill");
const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const backend = await initNode("wasm");
const corpus = await loadCorpus("austen");
await mkdir(OUT, { recursive: true });

if (mode === "teacher") {
  const dir = path.join(OUT, "teacher");
  await mkdir(dir, { recursive: true });
  const model = TinyLM.create(TEACHER_MODEL, TEACHER_TRAIN.seed);
  const metrics: string[] = [];
  const trainer = new Trainer({ model, data: new BatchSampler(corpus.train), train: TEACHER_TRAIN, evaluate: () => bitsPerByte(model, corpus.val, { maxBytes: TEACHER_TRAIN.evalBytes }) });
  let last = { loss: NaN, val: NaN, ms: 0 };
  for await (const e of trainer.run()) {
    if (e.kind === "step") {
      metrics.push(JSON.stringify({ step: e.step, loss: round(e.loss, 5), lr: e.lr, dropout: e.dropout, gradNorm: round(e.gradNorm, 5), tokensPerSecond: Math.round(e.tokensPerSecond), elapsedMs: Math.round(e.elapsedMs) }));
      last.loss = e.loss;
      last.ms = e.elapsedMs;
    } else if (e.kind === "eval") {
      metrics.push(JSON.stringify({ step: e.step, valBitsPerByte: round(e.valBitsPerByte, 5), elapsedMs: Math.round(e.elapsedMs) }));
      last.val = e.valBitsPerByte;
      process.stderr.write(`teacher step ${e.step}: val ${e.valBitsPerByte.toFixed(3)} bits/byte\n`);
    }
  }
  const spec = { kind: "bytes" as const, model: TEACHER_MODEL };
  const source = { corpus: "austen" };
  // Weights only (no optimizer state): the teacher is read, never trained on, and the file stays small.
  await writeFile(path.join(dir, CHECKPOINT_FILE), encodeCheckpoint({ spec, trainConfig: TEACHER_TRAIN, weights: await model.weights(), meta: { preset: "micro", source, backend: backend.name, savedAt: new Date().toISOString(), madeBy: "scripts/distill-runs.ts teacher" } }));
  await writeFile(path.join(dir, "config.json"), JSON.stringify({ preset: "micro", source, model: TEACHER_MODEL, spec, train: TEACHER_TRAIN, backend, createdAt: new Date().toISOString(), madeBy: "scripts/distill-runs.ts teacher" }, null, 2) + "\n");
  await writeFile(path.join(dir, "metrics.jsonl"), metrics.join("\n") + "\n");
  await writeFile(path.join(dir, "summary.json"), JSON.stringify({ preset: "micro", source, kind: "bytes", parameters: model.parameterCount(), steps: TEACHER_TRAIN.steps, finalLoss: round(last.loss, 5), valBitsPerByte: round(last.val, 5), trainingSeconds: round(last.ms / 1000, 1), backend, finishedAt: new Date().toISOString() }, null, 2) + "\n");
  trainer.dispose();
  model.dispose();
} else if (mode === "students") {
  const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
  const only = f.only ? String(f.only).split(",") : null;
  const limit = (f.limit as number | undefined) ?? 300;
  const teacherCkpt = await loadCheckpointFile(path.join(OUT, "teacher"));
  const teacher = labModelFromCheckpoint(teacherCkpt);
  const pairs = spread(await loadEvalSet("minimal-pairs"), limit);
  const items = spread(await loadEvalSet("next-sentence"), limit);
  const studentParams = (() => {
    const m = TinyLM.create(STUDENT_MODEL, 1);
    const n = m.parameterCount();
    m.dispose();
    return n;
  })();
  const file = path.join(OUT, "students.json");
  const previous = existsSync(file) ? JSON.parse(await readFile(file, "utf8")) : { runs: [] };
  const runs: Record<string, unknown>[] = previous.runs;
  const evalOf = async (m: TinyLM | typeof teacher) => {
    const scorer = "byteScorer" in m ? m.byteScorer : m;
    const mp = await minimalPairs(scorer, pairs);
    const ns = await nextSentence(scorer, items);
    return { minimalPairs: round(mp.accuracy), nextSentenceAccNorm: round(ns.accNorm), nextSentenceAcc: round(ns.acc) };
  };
  const teacherScores = { valBitsPerByte: round(await bitsPerByte(teacher.byteScorer, corpus.val, { maxBytes: 8192 })), ...(await evalOf(teacher)), parameters: teacher.parameterCount() };
  process.stderr.write(`teacher: ${JSON.stringify(teacherScores)}\n`);
  for (const arm of DISTILL_ARMS) {
    if (only && !only.includes(arm.id)) continue;
    for (const seed of seeds) {
      let scores = {};
      const r = await runDistillArm({
        arm,
        seed,
        teacher,
        train: corpus.train,
        val: corpus.val,
        onStudent: async (s) => {
          scores = await evalOf(s);
          // The page's per-byte view compares the teacher with this student (seed 1, trained alone).
          if (arm.id === "alone" && seed === 1) {
            await mkdir(path.join(OUT, "student"), { recursive: true });
            await writeFile(path.join(OUT, "student", CHECKPOINT_FILE), encodeCheckpoint({ spec: { kind: "bytes", model: STUDENT_MODEL }, trainConfig: validateTrainConfig({ ...presetConfig("nano").train, ...STUDENT_TRAIN, seed: 1 }), weights: await s.weights(), meta: { preset: "nano", source: { corpus: "austen" }, backend: backend.name, savedAt: new Date().toISOString(), madeBy: "scripts/distill-runs.ts students (arm alone, seed 1)" } }));
          }
        }
      });
      const row = { ...r, valBitsPerByte: round(r.valBitsPerByte), curve: r.curve.map((p) => ({ step: p.step, valBitsPerByte: round(p.valBitsPerByte) })), losses: r.losses.filter((_, i) => i % 5 === 4).map((p) => ({ step: p.step, loss: round(p.loss) })), tokensPerSecond: Math.round(r.tokensPerSecond), trainingSeconds: round(r.trainingSeconds, 1), ...scores };
      const i = runs.findIndex((x) => x.arm === arm.id && x.seed === seed);
      if (i >= 0) runs[i] = row;
      else runs.push(row);
      process.stderr.write(`${arm.id} seed ${seed}: val ${row.valBitsPerByte} bits/byte, ${row.tokensPerSecond} tokens/s, ${JSON.stringify(scores)}\n`);
      await writeFile(file, JSON.stringify({ madeBy: "node --import tsx scripts/distill-runs.ts students", corpus: "austen", student: { model: STUDENT_MODEL, parameters: studentParams }, teacher: { ...teacherScores, model: TEACHER_MODEL }, evalLimit: limit, backend, arms: DISTILL_ARMS, runs }, null, 1) + "\n");
    }
  }
  teacher.dispose();
} else {
  process.stderr.write("usage: distill-runs.ts teacher | students [--seeds 1,2,3] [--only ARM,…] [--limit N]\n");
  process.exit(2);
}
