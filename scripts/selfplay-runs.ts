// The self-play page's precomputed runs, 3 seeds each, into data/runs/selfplay/:
//   tictactoe.json  a fresh nano model (context 40): imitation of random legal
//                   moves, then self-play; evaluated against the random and the
//                   perfect player
//   wordchain.json  the nano model pretrained on austen (data/runs/nano-austen):
//                   evaluated as it is (pretrained only, iteration 0), after
//                   imitation of random valid words, then after self-play
// Each seed also runs the control arm "imitation only": the same run with
// imitation continued for every iteration instead of self-play (its first
// imitationIterations are the self-play arm's, bit for bit), so it takes as many
// optimizer updates on minibatches of the same size. Each run records the
// processor time it took (process.cpuUsage, user + system), imitation and
// self-play and evaluations together.
//   expert.json     the tic-tac-toe runs' expert (the search expert iteration
//                   learns from, lib/train/expert.ts) playing alone against the
//                   random and the perfect player: the teacher's own strength
//   tictactoe-model.safetensors, wordchain-model.safetensors: seed 1's final
//                   weights, which the page's "play the model" loads
//
//   nice -n 10 node --import tsx scripts/selfplay-runs.ts [--only tictactoe|wordchain|expert] [--seeds 1,2,3] [--keep-control] [--out FILE]
//
// Seeds in parallel (one process each, on a machine with cores to spare):
//   ... --only tictactoe --seeds 2 --out tictactoe.seed2.json    (one per seed)
//   ... --only tictactoe --merge tictactoe.seed1.json,tictactoe.seed2.json,tictactoe.seed3.json
// --out names the file written in data/runs/selfplay/ (default GAME.json);
// --merge puts the runs of such files into GAME.json in seed order, with each
// part's command, and deletes the parts. The model the page loads is seed 1's,
// whichever process runs it.
//
// Each tic-tac-toe run also records its final model's exact results against
// the random and the perfect player (lib/games/tictactoe-exact.ts): every game
// those players can play, weighted by its probability, instead of a sample.
//
// --keep-control runs only the self-play arm and keeps the control runs the
// file already holds, after checking that the imitation-only run reads none of
// the settings that changed (it would be the same run bit for bit): the file
// says so under "controlKept".
//
// Each game's file names its data (`data`, lib/runs/build.ts gameDataIdentity):
// the word chain's is "wordchain:austen" with austen's SHA-256 (its word list is the
// train split's words), and `init`, the checkpoint it starts from with its SHA-256;
// tic-tac-toe reads no text, so its hash is null and `identifiedBy` says what
// identifies it (the rules engine at the lab's commit, which the file keeps as
// `lab`, with Node's version as `platform`).
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { initNode } from "../lib/node/runtime.js";
import { loadCorpus } from "../lib/node/data.js";
import { loadCheckpointFile } from "../lib/node/files.js";
import { parseFlags } from "../lib/cli/args.js";
import { TinyLM } from "../lib/models/model.js";
import { decodeBytes } from "../lib/text/tokenizer.js";
import { encodeCheckpoint, modelFromCheckpoint } from "../lib/train/checkpoint.js";
import { SelfPlay, selfPlayTrainConfig, withSelfPlayDefaults, type SelfPlayConfig } from "../lib/train/selfplay.js";
import { ticTacToeSetup, wordChainSetup, type GameSetup } from "../lib/games/games.js";
import { playGames, type Player } from "../lib/games/match.js";
import { expertMove } from "../lib/train/expert.js";
import { gameStats } from "../lib/train/selfplay.js";
import { Rng } from "../lib/rng.js";
import type { Seat } from "../lib/games/game.js";
import { exactEvaluation } from "../lib/games/tictactoe-exact.js";
import { imitationOnly, RecordBuilder, TICTACTOE_RUN, WORDCHAIN_RUN, type SelfPlayRecord } from "../lib/experiments/selfplay.js";
import { gameDataIdentity } from "../lib/runs/build.js";
import { labIdentity } from "../lib/node/runrecord.js";
import type { RunDataIdentity } from "../lib/runs/record.js";
import { sha256 } from "../lib/train/sha256.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const f = parseFlags(process.argv.slice(2), { only: "string", seeds: "string", "keep-control": "boolean", out: "string", merge: "string" }, "selfplay-runs");
const keepControl = f["keep-control"] === true;
const seeds = String(f.seeds ?? "1,2,3").split(",").map(Number);
const only = f.only as string | undefined;
const outName = f.out as string | undefined;
const merge = f.merge === undefined ? null : String(f.merge).split(",");
if ((outName || merge) && only !== "tictactoe" && only !== "wordchain") throw new Error("--out and --merge need --only tictactoe or --only wordchain");
const backend = await initNode("wasm");
const outDir = path.join(ROOT, "data", "runs", "selfplay");
await mkdir(outDir, { recursive: true });
const INIT = path.join(ROOT, "data", "runs", "nano-austen", "checkpoint.safetensors");

/**
 * The settings an imitation-only run reads (with a replay buffer that never
 * fills: at most maxMoves rows an imitation game): equal ones make the same run.
 */
function sameControl(a: SelfPlayConfig, b: SelfPlayConfig, maxMoves: number): boolean {
  const keys = ["imitationIterations", "iterations", "imitationGames", "learningRate", "evalEvery", "evalGames", "updatesPerIteration", "batchSize", "seed"] as const;
  const fits = (c: SelfPlayConfig) => c.replayBuffer >= c.imitationIterations * Math.max(1, c.imitationGames) * maxMoves;
  return keys.every((k) => a[k] === b[k]) && fits(a) && fits(b);
}

/**
 * One game's runs into FILE. `data` is what the runs read (lib/runs/build.ts
 * gameDataIdentity: the word chain's corpus hash, or what identifies tic-tac-toe),
 * `init` the checkpoint the word chain starts from and its SHA-256; both go into the
 * file, so the page's run records carry them.
 */
async function runGame(setup: GameSetup, base: SelfPlayConfig, file: string, data: RunDataIdentity, init: { file: string; sha256: string } | null, initModel: () => Promise<TinyLM | null>) {
  const started = Date.now();
  const runs: SelfPlayRecord[] = [];
  let kept: { from: string; reason: string } | null = null;
  // Read once: the file is rewritten after every run.
  const old = keepControl ? (JSON.parse(await readFile(path.join(outDir, file), "utf8")) as { createdAt: string; command: string; runs: SelfPlayRecord[] }) : null;
  if (old) {
    for (const seed of seeds) {
      const control = old.runs.find((r) => r.arm === "imitation only" && r.seed === seed);
      if (!control) throw new Error(`--keep-control: ${file} has no imitation-only run of seed ${seed}`);
      if (!sameControl(withSelfPlayDefaults(control.config), imitationOnly({ ...base, seed }), 9)) throw new Error(`--keep-control: the imitation-only run of seed ${seed} in ${file} reads settings that changed; run without --keep-control`);
    }
    kept = { from: `${old.createdAt} (${old.command})`, reason: "the imitation-only run reads none of the settings that changed since: kept as it was" };
  }
  for (const seed of seeds) for (const arm of ["self-play", "imitation only"]) {
    if (old && arm === "imitation only") {
      runs.push(old.runs.find((r) => r.arm === arm && r.seed === seed)!);
      continue;
    }
    const config = arm === "self-play" ? { ...base, seed } : imitationOnly({ ...base, seed });
    const model = (await initModel()) ?? TinyLM.create(setup.model, seed);
    const frozen = TinyLM.fromWeights(model.config, await model.weights());
    const sp = new SelfPlay({ game: setup.game, model, frozen, teacher: setup.teacher, references: setup.references, config });
    const rec = new RecordBuilder(setup.name, config, arm);
    const cpu0 = process.cpuUsage();
    for await (const e of sp.run()) {
      rec.add(e);
      if (e.kind === "eval") process.stderr.write(`${setup.name} ${arm} seed ${seed} it ${e.iteration} vs ${e.opponent}: W ${e.stats.win.toFixed(2)} D ${e.stats.draw.toFixed(2)} L ${e.stats.loss.toFixed(2)} illegal ${e.stats.illegalRate.toFixed(3)} length ${e.stats.meanLength.toFixed(2)}\n`);
    }
    // Processor time of the whole run (imitation, self-play and its evaluations), this process only: the machine is shared.
    const cpu = process.cpuUsage(cpu0);
    rec.record.cpuSeconds = Math.round((cpu.user + cpu.system) / 1e5) / 10;
    process.stderr.write(`${setup.name} ${arm} seed ${seed}: ${rec.record.cpuSeconds} CPU-seconds\n`);
    if (setup.name === "tictactoe") {
      const round = (r: { win: number; draw: number; loss: number }) => ({ win: +r.win.toFixed(6), draw: +r.draw.toFixed(6), loss: +r.loss.toFixed(6) });
      const e = await exactEvaluation(model);
      const seats = (x: typeof e.random) => ({ X: round(x.X), O: round(x.O), mean: round(x.mean) });
      rec.record.exact = { positions: e.positions, illegalPositions: e.illegalPositions, random: seats(e.random), perfect: seats(e.perfect) };
      process.stderr.write(`${setup.name} ${arm} seed ${seed} exact: loses to random ${(100 * e.random.mean.loss).toFixed(1)}% (X ${(100 * e.random.X.loss).toFixed(1)}, O ${(100 * e.random.O.loss).toFixed(1)}), draws with perfect ${(100 * e.perfect.mean.draw).toFixed(1)}%, illegal in ${e.illegalPositions} of ${e.positions} positions\n`);
    }
    runs.push(rec.record);
    if (seed === 1 && arm === "self-play") {
      const bytes = encodeCheckpoint({ spec: model.spec, trainConfig: selfPlayTrainConfig(config), weights: await model.weights(), meta: { game: setup.name, seed, script: "scripts/selfplay-runs.ts" } });
      await writeFile(path.join(outDir, `${setup.name}-model.safetensors`), bytes);
    }
    sp.dispose();
    model.dispose();
    frozen.dispose();
    // Written after every run, so a long regeneration stopped part-way leaves the runs it finished (marked partial).
    await writeRecord(runs, runs.length < seeds.length * 2);
  }
  // Once more at the end: with --keep-control the last run may be a kept one, which writes nothing itself.
  await writeRecord(runs, false);
  process.stderr.write(`wrote ${outName ?? file} (${Math.round((Date.now() - started) / 1000)} s)\n`);

  async function writeRecord(done: unknown[], partial: boolean) {
    const record = {
      game: setup.name,
      command: `nice -n 10 node --import tsx scripts/selfplay-runs.ts --only ${setup.name} --seeds ${seeds.join(",")}${kept ? " --keep-control" : ""}`,
      backend: { name: backend.name, threads: backend.threads, simd: backend.simd },
      wallSeconds: Math.round((Date.now() - started) / 1000),
      createdAt: new Date().toISOString(),
      data,
      ...(init ? { init } : {}),
      lab: labIdentity(),
      platform: `node ${process.version}`,
      ...(partial ? { partial: true } : {}),
      ...(kept ? { controlKept: kept } : {}),
      runs: done
    };
    await writeFile(path.join(outDir, outName ?? file), JSON.stringify(record) + "\n");
  }
}

/** GAME.json from part files written by --out, runs in seed order. */
async function mergeParts(game: string, parts: string[]) {
  const read = await Promise.all(parts.map(async (p) => JSON.parse(await readFile(path.join(outDir, p), "utf8")) as { game: string; command: string; backend: unknown; wallSeconds: number; data?: RunDataIdentity; init?: unknown; lab?: unknown; platform?: string; partial?: boolean; runs: SelfPlayRecord[] }));
  read.forEach((r, i) => {
    if (r.game !== game) throw new Error(`--merge: ${parts[i]} holds ${r.game} runs, not ${game}`);
    if (r.partial) throw new Error(`--merge: ${parts[i]} is partial (its run stopped part-way)`);
    if (JSON.stringify([r.data, r.init]) !== JSON.stringify([read[0].data, read[0].init])) throw new Error(`--merge: ${parts[i]} read other data than ${parts[0]} (${JSON.stringify(r.data)})`);
  });
  const runs = read.flatMap((r) => r.runs).sort((a, b) => a.seed - b.seed || (a.arm === "self-play" ? -1 : 1));
  const record = {
    game,
    command: read.map((r, i) => `${r.command} --out ${parts[i]}`).join(" & ") + ` ; nice -n 10 node --import tsx scripts/selfplay-runs.ts --only ${game} --merge ${parts.join(",")}`,
    backend: read[0].backend,
    wallSeconds: Math.max(...read.map((r) => r.wallSeconds)),
    createdAt: new Date().toISOString(),
    ...(read[0].data ? { data: read[0].data } : {}),
    ...(read[0].init ? { init: read[0].init } : {}),
    ...(read[0].lab ? { lab: read[0].lab } : {}),
    ...(read[0].platform ? { platform: read[0].platform } : {}),
    runs
  };
  await writeFile(path.join(outDir, `${game}.json`), JSON.stringify(record) + "\n");
  for (const p of parts) await rm(path.join(outDir, p));
  process.stderr.write(`merged ${parts.length} parts into ${game}.json (${runs.length} runs)\n`);
}

/** The expert alone, with the tic-tac-toe runs' settings: 200 games against each reference player per seed, half on each seat. */
async function runExpert() {
  const started = Date.now();
  const setup = ticTacToeSetup();
  const settings = { depth: TICTACTOE_RUN.expertDepth, rollouts: TICTACTOE_RUN.expertRollouts };
  const expert: Player<unknown, unknown> = { kind: "scripted", name: "expert", play: (s, rng) => expertMove(setup.game, s, settings, rng) };
  const runs = [];
  for (const seed of seeds) {
    const rng = new Rng(seed);
    for (const ref of setup.references) {
      const other: Player<unknown, unknown> = { kind: "scripted", name: ref.name, play: ref.play };
      const seats = Array.from({ length: 200 }, (_, i) => (i % 2) as Seat);
      const records = await playGames(setup.game, seats.map((s): [Player<unknown, unknown>, Player<unknown, unknown>] => (s === 0 ? [expert, other] : [other, expert])), rng);
      const st = gameStats(records, seats);
      runs.push({ seed, opponent: ref.name, games: st.games, win: st.win, draw: st.draw, loss: st.loss });
      process.stderr.write(`expert seed ${seed} vs ${ref.name}: W ${st.win.toFixed(3)} D ${st.draw.toFixed(3)} L ${st.loss.toFixed(3)}\n`);
    }
  }
  const record = { command: `nice -n 10 node --import tsx scripts/selfplay-runs.ts --only expert --seeds ${seeds.join(",")}`, settings, wallSeconds: Math.round((Date.now() - started) / 1000), createdAt: new Date().toISOString(), runs };
  await writeFile(path.join(outDir, "expert.json"), JSON.stringify(record) + "\n");
}

if (merge) {
  await mergeParts(only!, merge);
  process.exit(0);
}
if (!only || only === "expert") await runExpert();
if (!only || only === "tictactoe") await runGame(ticTacToeSetup(), TICTACTOE_RUN, "tictactoe.json", gameDataIdentity("tictactoe"), null, async () => null);
if (!only || only === "wordchain") {
  const corpus = await loadCorpus("austen");
  const setup = wordChainSetup(decodeBytes(corpus.train));
  const init = { file: path.relative(ROOT, INIT), sha256: sha256([new Uint8Array(await readFile(INIT))]) };
  await runGame(setup, WORDCHAIN_RUN, "wordchain.json", gameDataIdentity("wordchain", corpus), init, async () => modelFromCheckpoint(await loadCheckpointFile(INIT)));
}
