import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.js";
import {
  boardFrom, emptyBoard, formatMove, judge, legalMoves, minimaxValue, optimalMoves, outcome, parseMove, perfectPlayer, play, promptText, randomPlayer, ticTacToe, toMove, type TicTacToeState
} from "../../lib/games/tictactoe.js";

test("the empty board offers all nine squares to X; a played square is no longer legal", () => {
  const s = emptyBoard();
  assert.deepEqual(legalMoves(s), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(toMove(s), 0);
  const t = play(s, 4);
  assert.equal(toMove(t), 1);
  assert.deepEqual(legalMoves(t), [0, 1, 2, 3, 5, 6, 7, 8]);
  assert.throws(() => play(t, 4), /not a legal move/);
});

test("a row, a column and a diagonal win; a full board without a line is a draw; a won game has no legal moves", () => {
  assert.deepEqual(outcome(boardFrom("XXXOO....")), { winner: 0 });
  assert.deepEqual(outcome(boardFrom("OXXOX.O..")), { winner: 1 });
  assert.deepEqual(outcome(boardFrom("X.O.XO..X")), { winner: 0 });
  assert.deepEqual(outcome(boardFrom("..X.XOX.O")), { winner: 0 });
  assert.deepEqual(outcome(boardFrom("XOXXOOOXX")), { winner: null });
  assert.equal(outcome(boardFrom("XO.......")), null);
  assert.deepEqual(legalMoves(boardFrom("XXXOO....")), []);
});

test("a move's text parses back to the same square, and the prompt shows free squares by number", () => {
  for (let m = 0; m < 9; m++) assert.equal(parseMove(formatMove(m)), m);
  for (const bad of ["0", "10", "a", "", " 5", "5\n", "٥"]) assert.equal(parseMove(bad), null, bad);
  const s = play(play(emptyBoard(), 0), 4);
  assert.equal(promptText(s), "X23 4O6 789 X47 2O8 369 XO9 3O7|X>");
  assert.equal(ticTacToe.prompt(s).length, ticTacToe.promptBytes);
  assert.deepEqual(judge(s, new TextEncoder().encode("3")), { ok: true, move: 2 });
  assert.deepEqual(judge(s, new TextEncoder().encode("5")), { ok: false, reason: "square 5 is taken" });
  assert.equal(judge(s, new TextEncoder().encode("x")).ok, false);
});

test("a refused move loses the game for its writer", () => {
  const s = ticTacToe.forfeit(play(emptyBoard(), 0));
  assert.deepEqual(outcome(s), { winner: 0, illegal: 1 });
});

test("minimax values the start as a draw, takes a win in one, blocks, and sees a lost position", () => {
  assert.equal(minimaxValue(emptyBoard()), 0);
  assert.deepEqual(optimalMoves(boardFrom("XX.OO....")), [2]);
  assert.equal(minimaxValue(boardFrom("XX.OO....")), 1);
  // O must block X's diagonal at square 9, and the game stays a draw.
  assert.deepEqual(optimalMoves(boardFrom("X.O.X....")), [8]);
  assert.equal(minimaxValue(boardFrom("X.O.X....")), 0);
  // Against two corners around X's centre, O answers on an edge (a corner loses to a fork).
  assert.deepEqual(optimalMoves(boardFrom("X...O...X")), [1, 3, 5, 7]);
  // Here X forks whatever O does.
  assert.equal(minimaxValue(boardFrom("XO.X.....")), -1);
});

test("the perfect player never loses from the start, on either seat, against every line of play", () => {
  // Every opponent move is tried; the perfect player plays each of its optimal moves.
  let positions = 0;
  const walk = (s: TicTacToeState, seat: 0 | 1) => {
    const o = outcome(s);
    if (o) {
      positions++;
      assert.notEqual(o.winner, 1 - seat, `lost as seat ${seat}: ${promptText(s)}`);
      return;
    }
    const moves = toMove(s) === seat ? optimalMoves(s) : legalMoves(s);
    for (const m of moves) walk(play(s, m), seat);
  };
  walk(emptyBoard(), 0);
  walk(emptyBoard(), 1);
  assert.ok(positions > 100);
});

test("the perfect player beats the random player often and never loses to it", () => {
  const rng = new Rng(3);
  let wins = 0;
  for (let g = 0; g < 200; g++) {
    let s = emptyBoard();
    const perfectSeat = g % 2;
    while (!outcome(s)) s = play(s, toMove(s) === perfectSeat ? perfectPlayer(s, rng) : randomPlayer(s, rng));
    const o = outcome(s)!;
    assert.notEqual(o.winner, 1 - perfectSeat);
    if (o.winner === perfectSeat) wins++;
  }
  assert.ok(wins > 120, `${wins} wins of 200`);
});
