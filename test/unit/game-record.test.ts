// Game runs as run records (kind "game"): the self-play page's precomputed runs and
// `stlm selfplay`'s run.json share the record's envelope and checks; records written
// before game runs existed (no kind) read as they did; a malformed game part is refused
// with what was wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeCheckpoint } from "../../lib/train/checkpoint.js";
import { selfPlayRunRecord, type SelfPlayFile } from "../../lib/runs/precomputed-games.js";
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
    assert.equal(r.data.sha256, null);
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
