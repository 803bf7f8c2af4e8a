// The worker's inspecting commands (loadModel, speculative, disagreements, move, chunks),
// in Node on the committed checkpoints: the engines give what the pages computed on their
// own thread before (the same functions of lib/ on the same models), refuse what they
// cannot do in words, and leave no tensor behind when disposed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { initNode } from "../../lib/node/runtime.js";
import { loadCorpus, REPO_ROOT } from "../../lib/node/data.js";
import { tf } from "../../lib/tf.js";
import { ENGINES } from "../../src/components/lab-engines.js";
import { decodeCheckpoint, labModelFromCheckpoint, modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { measureSpeculative } from "../../lib/eval/speculative.js";
import { ObjectiveLM } from "../../lib/models/objectives.js";
import { byteDisagreements } from "../../lib/experiments/distill.js";
import { sampleMoves } from "../../lib/models/moves.js";
import { Rng } from "../../lib/rng.js";
import { emptyBoard, play, ticTacToe } from "../../lib/games/tictactoe.js";
import { encodeText } from "../../lib/text/tokenizer.js";
import { BpeTokenizer, trainBpe } from "../../lib/text/bpe.js";
import { bpeSpans } from "../../lib/text/boundaries.js";
import { entropySpans, trainEntropyModel } from "../../lib/text/entropy.js";
import { BPE_VOCAB } from "../../lib/experiments/tokenizer-free.js";

await initNode();
const read = async (...p: string[]) => new Uint8Array(await readFile(path.join(REPO_ROOT, "data", "runs", ...p)));
const busy = <T>(_task: string, work: () => Promise<T> | T) => Promise.resolve(work());

test("objectives: the loaded mtp:4 model samples both ways as measureSpeculative does on the page's old thread", async () => {
  const before = tf.memory().numTensors;
  const bytes = await read("objectives", "nano-mtp4.safetensors");
  const engine = ENGINES.objectives({}, busy);
  await assert.rejects(engine.speculative!("It is", { tokens: 20 }), /no multi-byte model loaded yet/);
  await assert.rejects(engine.loadModel!("teacher", bytes, "x"), /no model slot "teacher" in this run; it holds: mtp/);
  const who = await engine.loadModel!("mtp", bytes, "nano-mtp4.safetensors");
  assert.equal(who.label, "nano-mtp4.safetensors");
  const options = { tokens: 30, temperature: 0, topK: 0, seed: 1 };
  await assert.rejects(engine.speculative!("It is", { ...options, tokens: 0 }), /the sampler writes 1 to 4,096 bytes; got 0/);
  const got = await engine.speculative!("It is a truth", options);
  const reference = labModelFromCheckpoint(decodeCheckpoint(bytes, "ref"));
  assert.ok(reference instanceof ObjectiveLM);
  const want = await measureSpeculative(reference, encodeText("It is a truth"), options);
  reference.dispose();
  assert.deepEqual([...got.speculative.bytes], [...want.speculative.bytes]);
  assert.deepEqual(got.speculative.drafted, want.speculative.drafted);
  assert.deepEqual([...got.plain], [...want.plain]);
  assert.equal(got.sameAsPlain, true, "greedy speculative text is greedy plain text");
  assert.equal(got.model.label, "nano-mtp4.safetensors");
  await engine.dispose();
  assert.equal(tf.memory().numTensors, before, "the engine's models are disposed with it");
});

test("pair: the per-byte view compares the loaded teacher with the precomputed student, as byteDisagreements does", async () => {
  const before = tf.memory().numTensors;
  const teacherBytes = await read("distill", "teacher", "checkpoint.safetensors");
  const studentBytes = await read("distill", "student", "checkpoint.safetensors");
  const engine = ENGINES.pair({}, busy);
  assert.equal(await engine.disagreements!("It is a truth"), null, "nothing to compare before the models load");
  await engine.loadModel!("teacher", teacherBytes, "data/runs/distill/teacher");
  await engine.loadModel!("student", studentBytes, "data/runs/distill/student");
  assert.equal(await engine.disagreements!("I"), null, "one byte has nothing to predict");
  const text = "It is a truth universally acknowledged";
  const got = await engine.disagreements!(text);
  assert.equal(got?.student, "precomputed");
  const t = labModelFromCheckpoint(decodeCheckpoint(teacherBytes, "t"));
  const s = labModelFromCheckpoint(decodeCheckpoint(studentBytes, "s"));
  const want = byteDisagreements(t, s, encodeText(text));
  t.dispose();
  s.dispose();
  assert.equal(got!.bytes.length, text.length - 1);
  assert.deepEqual(got!.bytes, want);
  await engine.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("selfplay: the loaded player's move is sampleMoves' greedy move; an unknown player is refused in words", async () => {
  const before = tf.memory().numTensors;
  const bytes = await read("selfplay", "tictactoe-model.safetensors");
  const engine = ENGINES.selfplay({}, busy);
  await engine.loadModel!("tictactoe", bytes, "self-play tic-tac-toe model");
  const board = play(emptyBoard(), 4);
  const prompt = ticTacToe.prompt(board);
  const got = await engine.move!("tictactoe", prompt, ticTacToe.maxMoveBytes, ticTacToe.moveEnd);
  const ref = modelFromCheckpoint(decodeCheckpoint(bytes));
  const [want] = await sampleMoves(ref, [prompt], { maxBytes: ticTacToe.maxMoveBytes, end: ticTacToe.moveEnd, temperature: 0, rng: new Rng(1) });
  ref.dispose();
  assert.deepEqual([...got], [...want]);
  await assert.rejects(engine.move!("wordchain", prompt, 1, null), /no model "wordchain" loaded in this run/);
  await assert.rejects(engine.move!("live", prompt, 1, null), /no copy of the live run's model yet: pause or finish a run first/);
  assert.equal(await engine.call!("keepLearner", []), false, "no run, no learner to copy");
  await engine.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("tokenizer-free: chunks gives the page's BPE and entropy cuts and an untrained learned predictor's, and needs the training bytes first", async () => {
  const before = tf.memory().numTensors;
  const austen = await loadCorpus("austen");
  const train = austen.train.slice(0, 1 << 16);
  const engine = ENGINES["tokenizer-free"]({}, busy);
  const text = encodeText("It is a truth universally acknowledged, that a single man in possession of a good fortune");
  await assert.rejects(engine.chunks!(text, undefined), /the first chunks command needs the training bytes/);
  const cuts = await engine.chunks!(text, train);
  const bpe = trainBpe(train, BPE_VOCAB);
  assert.equal(cuts.bpeVocab, bpe.vocabSize);
  assert.deepEqual(cuts.bpe, bpeSpans(text, new BpeTokenizer(bpe), 12));
  const entropy = trainEntropyModel(train);
  assert.deepEqual(cuts.entropy, entropySpans(text, entropy, 12));
  assert.equal(cuts.threshold, entropy.threshold);
  assert.equal(cuts.entropies.length, text.length);
  assert.equal(cuts.learnedTrained, false);
  assert.equal(cuts.learned.at(-1)![1], text.length, "the learned chunks cover the text");
  // Trained once: a second text needs no training bytes.
  const again = await engine.chunks!(encodeText("a second text"), undefined);
  assert.equal(again.learned.at(-1)![1], 13);
  await engine.dispose();
  assert.equal(tf.memory().numTensors, before);
});
