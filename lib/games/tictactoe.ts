// Tic-tac-toe as a rules engine: state, whose turn, legal moves, the move as
// text and back, the outcome, a random player and an exact minimax player.
//
// The text a model reads is the board's eight lines (three rows, three columns,
// two diagonals), each three squares with an empty square shown by its number,
// then whose turn it is: "XX3 456 789 X47 X58 369 X59 357|O>" (34 bytes). A
// move is one byte, the number of an empty square. So a legal move is a digit
// the prompt holds (a tiny transformer learns to copy), and the tactics are
// local patterns: "XX3" anywhere says square 3 wins for X, or must be blocked
// by O. (With a board of 9 characters alone, "XX3O56789|O>", the model has to
// find the lines itself; in exploratory runs, imitating the perfect player on
// it needed about four times as many games to reach the same strength.)
import type { Rng } from "../rng.js";
import type { Game, Outcome, ScriptedPlayer, Seat, Verdict } from "./game.js";

/** Cells 0..8, row by row; "" for an empty square. */
export type Cell = "" | "X" | "O";

export interface TicTacToeState {
  readonly cells: readonly Cell[];
  /** Moves played so far. */
  readonly ply: number;
  /** Set when a player's text was refused: that seat lost. */
  readonly illegal?: Seat;
}

/** Squares 0..8. */
export type TicTacToeMove = number;

export const LINES: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6]
];

const MARKS: readonly ["X", "O"] = ["X", "O"];

export function emptyBoard(): TicTacToeState {
  return { cells: Array<Cell>(9).fill(""), ply: 0 };
}

/** A state from a board string of 9 characters "X", "O" or "." (for tests and the page). */
export function boardFrom(text: string): TicTacToeState {
  if (!/^[XO.]{9}$/.test(text)) throw new Error(`a board is 9 characters X, O or . (got ${JSON.stringify(text)})`);
  const cells = [...text].map((c) => (c === "." ? "" : c) as Cell);
  const x = cells.filter((c) => c === "X").length;
  const o = cells.filter((c) => c === "O").length;
  if (x !== o && x !== o + 1) throw new Error(`X moves first, so a board holds as many X as O or one more (got ${x} X, ${o} O)`);
  return { cells, ply: x + o };
}

export function toMove(s: TicTacToeState): Seat {
  return (s.ply % 2) as Seat;
}

export function markOf(seat: Seat): "X" | "O" {
  return MARKS[seat];
}

export function legalMoves(s: TicTacToeState): TicTacToeMove[] {
  if (outcome(s)) return [];
  const out: number[] = [];
  for (let i = 0; i < 9; i++) if (s.cells[i] === "") out.push(i);
  return out;
}

/** The mark that holds a full line, or null. */
export function lineWinner(cells: readonly Cell[]): "X" | "O" | null {
  for (const [a, b, c] of LINES) if (cells[a] !== "" && cells[a] === cells[b] && cells[b] === cells[c]) return cells[a] as "X" | "O";
  return null;
}

export function outcome(s: TicTacToeState): Outcome | null {
  if (s.illegal !== undefined) return { winner: (1 - s.illegal) as Seat, illegal: s.illegal };
  const w = lineWinner(s.cells);
  if (w) return { winner: w === "X" ? 0 : 1 };
  if (s.ply === 9) return { winner: null };
  return null;
}

export function play(s: TicTacToeState, m: TicTacToeMove): TicTacToeState {
  if (!(Number.isInteger(m) && m >= 0 && m < 9) || s.cells[m] !== "" || outcome(s)) throw new Error(`square ${m + 1} is not a legal move here`);
  const cells = s.cells.slice();
  cells[m] = markOf(toMove(s));
  return { cells, ply: s.ply + 1 };
}

/** The game lost by the player to move, whose text the engine refused. */
export function forfeit(s: TicTacToeState): TicTacToeState {
  return { ...s, illegal: toMove(s) };
}

const encoder = new TextEncoder();

/** "XX3 456 789 X47 X58 369 X59 357|O>": the eight lines (empty squares by number), "|", whose turn, ">". */
export function promptText(s: TicTacToeState): string {
  const sq = (i: number) => s.cells[i] || String(i + 1);
  return LINES.map((l) => l.map(sq).join("")).join(" ") + "|" + markOf(toMove(s)) + ">";
}

export function formatMove(m: TicTacToeMove): string {
  return String(m + 1);
}

/** A move's text back to a square; null when it is not one digit 1-9. */
export function parseMove(text: string): TicTacToeMove | null {
  return /^[1-9]$/.test(text) ? Number(text) - 1 : null;
}

export function judge(s: TicTacToeState, bytes: Uint8Array): Verdict<TicTacToeMove> {
  const text = String.fromCharCode(...bytes);
  const m = parseMove(text);
  if (m === null) return { ok: false, reason: `${JSON.stringify(text)} is not a square number 1-9` };
  if (s.cells[m] !== "") return { ok: false, reason: `square ${m + 1} is taken` };
  return { ok: true, move: m };
}

export const randomPlayer: ScriptedPlayer<TicTacToeState, TicTacToeMove> = (s, rng) => {
  const moves = legalMoves(s);
  return moves[rng.int(moves.length)];
};

// Minimax over the whole game tree, memoised by board: 5,478 reachable positions.
const values = new Map<string, number>();

/** The game's value for the player to move under perfect play: 1 win, 0 draw, -1 loss. */
export function minimaxValue(s: TicTacToeState): number {
  const key = s.cells.map((c) => c || ".").join("");
  const known = values.get(key);
  if (known !== undefined) return known;
  const o = outcome(s);
  let v: number;
  if (o) v = o.winner === null ? 0 : o.winner === toMove(s) ? 1 : -1;
  else {
    v = -Infinity;
    for (const m of legalMoves(s)) v = Math.max(v, -minimaxValue(play(s, m)));
  }
  v = v === 0 ? 0 : v; // not -0
  values.set(key, v);
  return v;
}

/** Every move that keeps the minimax value: the perfect player chooses among them. */
export function optimalMoves(s: TicTacToeState): TicTacToeMove[] {
  const moves = legalMoves(s);
  const scored = moves.map((m) => ({ m, v: -minimaxValue(play(s, m)) }));
  const best = Math.max(...scored.map((x) => x.v));
  return scored.filter((x) => x.v === best).map((x) => x.m);
}

/** The perfect player: a uniformly random choice among the optimal moves (so its games vary). */
export const perfectPlayer: ScriptedPlayer<TicTacToeState, TicTacToeMove> = (s, rng) => {
  const moves = optimalMoves(s);
  return moves[rng.int(moves.length)];
};

export const ticTacToe: Game<TicTacToeState, TicTacToeMove> = {
  name: "tictactoe",
  promptBytes: 34,
  maxMoveBytes: 1,
  moveEnd: null,
  initial: () => emptyBoard(),
  toMove,
  prompt: (s) => encoder.encode(promptText(s)),
  judge,
  formatMove: (m) => encoder.encode(formatMove(m)),
  apply: play,
  outcome,
  forfeit,
  describeMove: (m) => `square ${m + 1}`,
  legalMoves
};
