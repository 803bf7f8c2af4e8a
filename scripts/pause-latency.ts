// How long Pause takes to act in the worker's own loops, measured in Node (wasm, one
// thread): from the moment Pause is asked to the moment the loop has stopped.
//   node --import tsx scripts/pause-latency.ts [--rounds 8] [--json]
// - nano on austen, the training page's run (snapshots and evaluations as /train takes
//   them): the interrupt flag (lib/train/interrupt.ts) set at a random time, to the
//   Trainer's "paused" event; and the same without the flag (the plain page), where the
//   pause waits for the step under way.
// - tic-tac-toe self-play with the page's recipe (TICTACTOE_RUN) and its pause points
//   (SelfPlay's onHold), pause() at a random time, to onHold(true); and without them (as
//   before: the loop pauses between iterations), to its "paused" event.
// Pause is asked at a set time: the flag reads "pause" from then on (as the page's write makes it, from
// its own thread), and the message is heard when the loop next awaits. The page adds a frame to draw.
// Wall-clock figures: they grow with the machine's load, so the load is printed too.
import { loadavg, cpus } from "node:os";
import { readFile } from "node:fs/promises";
import { initNode } from "../lib/node/runtime.js";
import { TinyLM } from "../lib/models/model.js";
import { presetConfig } from "../lib/config.js";
import { BatchSampler, corpusFromGzip } from "../lib/text/data.js";
import { bitsPerByte } from "../lib/eval/eval.js";
import { Trainer } from "../lib/train/trainer.js";
import { defaultSnapshotConfig, takeSnapshot } from "../lib/train/snapshots.js";
import { SelfPlay } from "../lib/train/selfplay.js";
import { TICTACTOE_RUN } from "../lib/experiments/selfplay.js";
import { ticTacToeSetup } from "../lib/games/games.js";
import { Rng } from "../lib/rng.js";

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? 8) || 8;
const json = args.includes("--json");
await initNode();
const rng = new Rng(7);
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};

const corpus = await corpusFromGzip("austen", new Uint8Array(await readFile(new URL("../data/corpora/austen.jsonl.gz", import.meta.url))));

/** One nano run of 60 steps (a snapshot every 6, evaluations every 10 as the page plans them); Pause asked `after` ms in. */
async function trainerPause(flag: boolean, after: number): Promise<number> {
  const { model: mc, train } = presetConfig("nano", { train: { steps: 60, evalEvery: 10, warmupSteps: 6 } });
  const model = TinyLM.create(mc, 1);
  // Pause is asked at `deadline`: the flag reads "pause" from then on (as the page's Atomics.store makes it, from
  // another thread), and the message (trainer.pause) is heard when this thread next runs its event loop.
  const asked = performance.now() + after;
  const snap = { ...defaultSnapshotConfig(6), sampleBytes: 120 };
  const trainer: Trainer = new Trainer({
    model,
    data: new BatchSampler(corpus.train),
    train,
    evaluate: () => bitsPerByte(model, corpus.val, { maxBytes: train.evalBytes }),
    snapshot: { every: snap.every, take: (step) => takeSnapshot(model, step, snap) },
    ...(flag ? { interrupt: () => (performance.now() >= asked ? "pause" : null) } : {})
  });
  const timer = setTimeout(() => trainer.pause(), after);
  let ms = NaN;
  for await (const e of trainer.run()) {
    if (e.kind === "paused") {
      ms = performance.now() - asked;
      trainer.stop();
    }
  }
  clearTimeout(timer);
  trainer.dispose();
  model.dispose();
  return ms;
}

/** The page's tic-tac-toe run; pause() asked `after` ms in, to the loop holding at its next pause point. */
async function selfPlayPause(after: number, pausePoints: boolean): Promise<number> {
  const setup = ticTacToeSetup();
  const model = TinyLM.create(setup.model, 1);
  const frozen = TinyLM.fromWeights(model.config, await model.weights());
  // Pause is asked at `asked`; the loop hears it when this thread next runs its event loop (as it hears the page's message).
  const asked = performance.now() + after;
  let ms = NaN;
  const loop: SelfPlay<unknown, unknown> = new SelfPlay({
    game: setup.game,
    model,
    frozen,
    teacher: setup.teacher,
    references: setup.references,
    config: TICTACTOE_RUN,
    ...(pausePoints
      ? {
          onHold: (held: boolean) => {
            if (held && Number.isNaN(ms)) {
              ms = performance.now() - asked;
              loop.stop();
            }
          }
        }
      : {})
  });
  const timer = setTimeout(() => loop.pause(), after);
  for await (const e of loop.run()) {
    if (e.kind === "paused" && Number.isNaN(ms)) {
      ms = performance.now() - asked;
      loop.stop();
    }
  }
  clearTimeout(timer);
  loop.dispose();
  model.dispose();
  frozen.dispose();
  return ms;
}

const load = () => loadavg()[0] / cpus().length;
const results: Record<string, number[]> = { "nano, flag": [], "nano, no flag": [], "self-play, pause points": [], "self-play, between iterations": [] };
const loads: number[] = [];
for (let r = 0; r < rounds; r++) {
  const after = 300 + rng.next() * 2500;
  results["nano, flag"].push(await trainerPause(true, after));
  results["nano, no flag"].push(await trainerPause(false, after));
  const later = 300 + rng.next() * 4000;
  results["self-play, pause points"].push(await selfPlayPause(later, true));
  results["self-play, between iterations"].push(await selfPlayPause(later, false));
  loads.push(load());
}
const out = { rounds, loadPerCore: summary(loads), ms: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { ...summary(v), all: v.map((x) => Math.round(x * 10) / 10) }])) };
if (json) console.log(JSON.stringify(out, null, 2));
else for (const [k, v] of Object.entries(out.ms)) console.log(`${k}: ${v.min.toFixed(1)} / ${v.median.toFixed(1)} / ${v.max.toFixed(1)} ms (min / median / max of ${v.n}); load ${out.loadPerCore.min.toFixed(1)}-${out.loadPerCore.max.toFixed(1)} per core`);
