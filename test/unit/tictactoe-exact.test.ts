import { test } from "node:test";
import assert from "node:assert/strict";
import { tf } from "../../lib/tf.js";
import { initNode } from "../../lib/node/runtime.js";
import { loadCheckpointFile } from "../../lib/node/files.js";
import { modelFromCheckpoint } from "../../lib/train/checkpoint.js";
import { Rng } from "../../lib/rng.js";
import { playGames, scoreFor, type Player } from "../../lib/games/match.js";
import { legalMoves, optimalMoves, outcome, play, randomPlayer, ticTacToe, toMove, emptyBoard, type TicTacToeState, type TicTacToeMove } from "../../lib/games/tictactoe.js";
import { boardKey, exactBothSeats, exactEvaluation, exactMatch, greedyPolicy, reachablePositions, type ExactResult, type FixedPolicy } from "../../lib/games/tictactoe-exact.js";

const sum = (r: ExactResult) => r.win + r.draw + r.loss;

test("every reachable position with a player to move: 4,520, none finished, none twice", () => {
  const all = reachablePositions();
  assert.equal(all.length, 4520);
  assert.equal(new Set(all.map(boardKey)).size, all.length);
  assert.ok(all.every((s) => outcome(s) === null));
});

test("a perfect player never loses to the random player on either seat, and only draws with the perfect player", () => {
  const perfect: FixedPolicy = (s) => optimalMoves(s)[0];
  for (const seat of [0, 1] as const) {
    const r = exactMatch(perfect, "random", seat);
    assert.equal(r.loss, 0);
    assert.ok(Math.abs(sum(r) - 1) < 1e-12);
    assert.ok(r.win > 0.5, `wins most games against random on seat ${seat}: ${r.win}`);
    const p = exactMatch(perfect, "perfect", seat);
    assert.equal(p.win, 0);
    assert.equal(p.loss, 0);
    assert.ok(Math.abs(p.draw - 1) < 1e-12, `draws every game: ${p.draw}`);
  }
});

test("a player whose text is always refused loses every game; one refused only in some positions loses exactly those games", () => {
  assert.deepEqual(exactMatch(() => null, "random", 0), { win: 0, draw: 0, loss: 1 });
  // O refuses only after X opened in a corner: 4 of the random X's 9 openings.
  const corners = new Set([0, 2, 6, 8]);
  const policy: FixedPolicy = (s) => (s.ply === 1 && s.cells.some((c, i) => c === "X" && corners.has(i)) ? null : optimalMoves(s)[0]);
  const r = exactMatch(policy, "random", 1);
  assert.ok(r.loss >= 4 / 9 - 1e-12 && r.loss < 4 / 9 + 1e-12, `loses exactly 4/9: ${r.loss}`);
});

// The same probabilities by brute force: every path of the game tree, no memo.
function enumerate(policy: FixedPolicy, opponent: (s: TicTacToeState) => TicTacToeMove[], seat: 0 | 1, s: TicTacToeState = emptyBoard(), p = 1, acc: ExactResult = { win: 0, draw: 0, loss: 0 }): ExactResult {
  const o = outcome(s);
  if (o) { if (o.winner === null) acc.draw += p; else if (o.winner === seat) acc.win += p; else acc.loss += p; return acc; }
  if (toMove(s) === seat) {
    const m = policy(s);
    if (m === null || s.cells[m] !== "") acc.loss += p;
    else enumerate(policy, opponent, seat, play(s, m), p, acc);
  } else for (const m of opponent(s)) enumerate(policy, opponent, seat, play(s, m), p / opponent(s).length, acc);
  return acc;
}

test("the memoised sum equals a brute-force walk over every game, for a weak fixed player on both seats against both references", () => {
  // "the lowest free square, but the highest after a centre opening": deterministic and beatable.
  const weak: FixedPolicy = (s) => { const m = legalMoves(s); return s.cells[4] !== "" && s.ply % 2 === 1 ? m[m.length - 1] : m[0]; };
  for (const seat of [0, 1] as const) {
    for (const [name, moves] of [["random", legalMoves], ["perfect", optimalMoves]] as const) {
      const a = exactMatch(weak, name, seat);
      const b = enumerate(weak, moves, seat);
      for (const k of ["win", "draw", "loss"] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-12, `${name} seat ${seat} ${k}: ${a[k]} vs ${b[k]}`);
    }
  }
  const both = exactBothSeats(weak, "random");
  assert.ok(Math.abs(both.mean.loss - (both.X.loss + both.O.loss) / 2) < 1e-15);
});

test("a trained model's exact results agree with sampled games of its greedy moves, and no tensor is left", async () => {
  await initNode("wasm");
  const model = modelFromCheckpoint(await loadCheckpointFile("data/runs/selfplay/tictactoe-model.safetensors"));
  const before = tf.memory().numTensors;
  const exact = await exactEvaluation(model);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(exact.positions, 4520);
  assert.ok(exact.illegalPositions < exact.positions);
  const { policy } = await greedyPolicy(model);
  assert.equal(tf.memory().numTensors, before);
  for (const ref of ["random", "perfect"] as const) assert.deepEqual(exactBothSeats(policy, ref), exact[ref]);
  // The table is the model's greedy move: a game played by the model itself takes it.
  const me: Player<TicTacToeState, TicTacToeMove> = { kind: "policy", name: "model", model, temperature: 0 };
  const rnd: Player<TicTacToeState, TicTacToeMove> = { kind: "scripted", name: "random", play: randomPlayer };
  const n = 120;
  for (const seat of [0, 1] as const) {
    const pairs: [Player<TicTacToeState, TicTacToeMove>, Player<TicTacToeState, TicTacToeMove>][] = Array.from({ length: n }, () => (seat === 0 ? [me, rnd] : [rnd, me]));
    const records = await playGames(ticTacToe, pairs, new Rng(11 + seat));
    for (const r of records) {
      let s = r.start;
      for (const m of r.moves) {
        if (m.seat === seat) {
          const want = policy(s);
          const v = ticTacToe.judge(s, m.text);
          assert.equal(v.ok ? v.move : null, want, `the model's move in ${boardKey(s)}`);
        }
        const v = ticTacToe.judge(s, m.text);
        if (!v.ok) break;
        s = play(s, v.move);
      }
    }
    const lossRate = records.filter((r) => scoreFor(r.outcome, seat) < 0).length / n;
    const p = seat === 0 ? exact.random.X.loss : exact.random.O.loss;
    const sd = Math.sqrt(Math.max(p * (1 - p), 1e-4) / n);
    assert.ok(Math.abs(lossRate - p) < 5 * sd, `seat ${seat}: sampled loss rate ${lossRate} vs exact ${p}`);
  }
  model.dispose();
});
