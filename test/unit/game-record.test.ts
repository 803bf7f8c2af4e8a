// Game runs as run records (kind "game"): the self-play page's precomputed runs and
// `stlm selfplay`'s run.json share the record's envelope and checks; records written
// before game runs existed (no kind) read as they did; a malformed game part is refused
// with what was wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { selfPlayRunRecord, type SelfPlayFile } from "../../lib/runs/precomputed-games.js";
import { dataIdentity, TICTACTOE_DATA } from "../../lib/runs/build.js";
import { loadCorpus } from "../../lib/node/data.js";
import { isGameRecord, metricsCsv, parseRunRecord, RunRecordError, validateRunRecord, type RunRecord } from "../../lib/runs/record.js";
import { gameRows } from "../../lib/node/runrecord.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = path.join(ROOT, "data", "runs", "selfplay");
const file = JSON.parse(await readFile(path.join(dir, "tictactoe.json"), "utf8")) as SelfPlayFile;
const spec = decodeCheckpoint(new Uint8Array(await readFile(path.join(dir, "tictactoe-model.safetensors")))).spec;
const records = file.runs.map((run) => selfPlayRunRecord(file, run, spec));
const refused = (re: RegExp) => (e: Error) => e instanceof RunRecordError && re.test(e.message);
const edited = (r: RunRecord, edit: (x: Record<string, any>) => void) => {
  const x = structuredClone(r) as unknown as Record<string, any>;
  edit(x);
  return JSON.stringify(x);
};

test("a precomputed tic-tac-toe run is a game record that survives JSON unchanged, its figures the file's", () => {
  assert.equal(records.length, file.runs.length);
  assert.equal(new Set(records.map((r) => r.id)).size, records.length, "every arm and seed its own id");
  for (const [i, r] of records.entries()) {
    const run = file.runs[i];
    assert.ok(isGameRecord(r));
    assert.deepEqual(parseRunRecord(JSON.stringify(r)), r);
    assert.equal(r.train.seed, run.seed);
    assert.equal(r.game!.arm, run.arm);
    assert.equal(r.final!.steps, run.config.imitationIterations + run.config.iterations);
    const lastRandom = run.evals.filter((e) => e.opponent === "random").at(-1)!.stats;
    assert.equal(r.final!.evaluations!["random: loss rate"], lastRandom.loss);
    assert.equal(r.final!.evaluations!["exact: loses to random"], run.exact!.random.mean.loss);
    assert.equal(r.metrics.steps.length, run.iterations.filter((x) => x.loss !== null).length);
    // Tic-tac-toe reads no text: no hash, and the record says what identifies its data (the rules).
    assert.deepEqual(r.data, { name: "tictactoe", sha256: null, bytes: null, identifiedBy: TICTACTOE_DATA });
  }
  // The CSV: one row per iteration and per evaluation, with the shares of games.
  const csv = metricsCsv(records[0]).trim().split("\n");
  assert.equal(csv[0], "iteration,phase,opponent,trainLoss,meanReward,games,win,draw,lossRate,illegalRate,meanLength");
  assert.equal(csv.length, 1 + file.runs[0].iterations.length + file.runs[0].evals.length);
  assert.match(csv.at(-1)!, /^100,(eval|selfplay),/);
});

test("a record written before game runs (no kind) reads as a language-model run; a run folder's metrics read as game rows", async () => {
  const old = await readFile(path.join(ROOT, "data", "runs", "nano-austen", "run.json"), "utf8");
  assert.ok(!("kind" in JSON.parse(old)));
  const r = parseRunRecord(old);
  assert.equal(r.kind, undefined);
  assert.ok(!isGameRecord(r));
  assert.ok(r.metrics.steps.length > 0);
  const rows = gameRows([
    JSON.stringify({ step: 0, opponent: "random", games: 4, win: 0, draw: 0, loss: 1, illegalRate: 1, meanLength: 0.5, moves: 4 }),
    JSON.stringify({ step: 1, phase: "imitation", imitationLoss: 2.5, meanReward: null, games: 2, win: 0.5, draw: 0, loss: 0.5, illegalRate: 0, meanLength: 7, moves: 8, elapsedMs: 12 }),
    '{"step": 2, "phase": "selfp' // a line cut short by a kill
  ].join("\n"));
  assert.deepEqual(rows.evals.map((e) => [e.iteration, e.opponent, e.stats.loss]), [[0, "random", 1]]);
  assert.deepEqual(rows.iterations.map((x) => [x.iteration, x.phase, x.loss]), [[1, "imitation", 2.5]]);
});

test("a malformed game record is refused, saying what is wrong", () => {
  const r = records[0];
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.kind = "chess"))), refused(/kind must be "game" or absent/));
  assert.throws(() => parseRunRecord(edited(r, (x) => delete x.game)), refused(/without its "game" part/));
  assert.throws(() => parseRunRecord(edited(r, (x) => delete x.kind)), refused(/"game" part but no kind "game"/));
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.game.evals[3].stats.loss = 1.5))), refused(/game\.evals\[3\]\.stats\.loss must be a share of games from 0 to 1/));
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.game.iterations[2].phase = "warmup"))), refused(/game\.iterations\[2\] must be \{iteration/));
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.game.iterations = "all of them"))), refused(/game\.iterations and game\.evals must be lists/));
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.game.name = ""))), refused(/game\.name must name the game/));
  // JSON cannot write NaN; a hand-edited 1e999 reads as Infinity and is refused by path.
  assert.throws(() => parseRunRecord(edited(r, (x) => (x.game.evals[0].stats.draw = 0.123457)).replace('"draw":0.123457', '"draw":1e999')), refused(/game\.evals\[0\]\.stats\.draw is Infinity/));
  assert.throws(() => validateRunRecord({ ...r, game: { ...r.game, config: null } }), refused(/game\.config must be/));
});

test("a word-chain run's record carries the SHA-256 of the corpus its word list came from: the file's, or for an older file the corpus's, saying so", async () => {
  const wc = JSON.parse(await readFile(path.join(dir, "wordchain.json"), "utf8")) as SelfPlayFile;
  const wcSpec = decodeCheckpoint(new Uint8Array(await readFile(path.join(dir, "wordchain-model.safetensors")))).spec;
  const austen = await loadCorpus("austen");
  const expected = dataIdentity("austen", austen);
  if (!wc.data) {
    // Made before scripts/selfplay-runs.ts wrote its data: the hash is of the corpus the file's runs name, read now.
    const older = selfPlayRunRecord(wc, wc.runs[0], wcSpec, { corpus: austen });
    assert.equal(older.data.name, "wordchain:austen");
    assert.equal(older.data.sha256, expected.sha256);
    assert.equal(older.data.bytes, expected.bytes);
    assert.match(older.data.identifiedBy!, /words of austen's train split/);
    assert.ok(older.notes!.some((n) => /predates data hashes/.test(n)), older.notes!.join(" | "));
    assert.equal(selfPlayRunRecord(wc, wc.runs[0], wcSpec).data.sha256, null, "no corpus given, no hash made up");
  }
  // A file the script writes now keeps its data, the checkpoint it started from, and the lab and Node that made it.
  const init = { file: "data/runs/nano-austen/checkpoint.safetensors", sha256: "cd".repeat(32) };
  const made = { ...wc, data: { ...expected, name: "wordchain:austen", identifiedBy: "the words of austen's train split" }, init, lab: { version: "0.1.0", commit: "abc" }, platform: "node v22.0.0" };
  const r = selfPlayRunRecord(made, wc.runs[0], wcSpec);
  assert.deepEqual(r.data, made.data);
  assert.deepEqual(r.lab, made.lab);
  assert.equal(r.runtime.platform, "node v22.0.0");
  assert.ok(r.notes!.some((n) => n.includes(init.sha256)), r.notes!.join(" | "));
  assert.ok(!r.notes!.some((n) => /keeps no/.test(n)), r.notes!.join(" | "));
  assert.deepEqual(parseRunRecord(JSON.stringify(r)), r);
});

// What src/data/selfplay-runs.json.ts wrote before it sent each run once (the file's runs, then the same runs again as
// records): 508,945 bytes at 4d7076c. Sent once, 259,021; the limit leaves room for a regeneration's few more fields.
const LOADER_BYTES_BEFORE = 508_945;
const LOADER_BYTES_MAX = 290_000;

test("the self-play page's data loader sends each run once, as its record, with only what the page draws beside it", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", path.join(ROOT, "src/data/selfplay-runs.json.ts")], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
  assert.ok(stdout.length <= LOADER_BYTES_MAX, `the loader's output is ${stdout.length.toLocaleString("en-US")} bytes, more than ${LOADER_BYTES_MAX.toLocaleString("en-US")} (${LOADER_BYTES_BEFORE.toLocaleString("en-US")} before)`);
  const out = JSON.parse(stdout) as Record<string, { records: RunRecord[]; cpuSeconds: (number | null)[]; lastGames?: unknown[]; command: string } | null>;
  for (const game of ["tictactoe", "wordchain"]) {
    const f = JSON.parse(await readFile(path.join(dir, `${game}.json`), "utf8")) as SelfPlayFile;
    const sent = out[game]!;
    assert.ok(!("runs" in sent), `${game}: the file's runs are not sent beside their records`);
    assert.equal(sent.command, f.command);
    assert.equal(sent.records.length, f.runs.length);
    for (const [i, r] of sent.records.entries()) {
      const run = f.runs[i];
      assert.deepEqual(parseRunRecord(JSON.stringify(r)), r, `${game} ${i}: a valid record`);
      // What the charts draw comes from the record: every evaluation, the settings, the exact results; and every iteration is kept.
      assert.deepEqual(r.game!.evals, run.evals.map((e) => ({ iteration: e.iteration, opponent: e.opponent, stats: e.stats })));
      assert.deepEqual(r.game!.config, run.config);
      assert.deepEqual(r.game!.exact, run.exact);
      assert.equal(r.game!.iterations.length, run.iterations.length);
      assert.equal(r.train.seed, run.seed);
      assert.equal(sent.cpuSeconds[i], run.cpuSeconds ?? null);
    }
  }
  const wc = JSON.parse(await readFile(path.join(dir, "wordchain.json"), "utf8")) as SelfPlayFile;
  // The word chain's replay (seed 1's self-play run, its last evaluation's last two games) is the only replay drawn.
  assert.deepEqual(out.wordchain!.lastGames, wc.runs.find((r) => r.arm === "self-play")!.replay.eval["random words"].slice(-2));
  assert.equal(out.tictactoe!.lastGames, undefined);
  // Every word-chain record names the corpus its word list came from, with that corpus's hash.
  const austen = dataIdentity("austen", await loadCorpus("austen"));
  for (const r of out.wordchain!.records) assert.equal(r.data.sha256, wc.data?.sha256 ?? austen.sha256);
  for (const r of out.tictactoe!.records) assert.equal(r.data.identifiedBy, TICTACTOE_DATA);
  assert.deepEqual(out.expert, JSON.parse(await readFile(path.join(dir, "expert.json"), "utf8")));
});
