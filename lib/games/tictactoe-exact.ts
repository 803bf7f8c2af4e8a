// Exact match results for a deterministic tic-tac-toe player. A model playing
// its most likely bytes is a fixed function of the position, and tic-tac-toe has
// 4,520 positions a game can reach with a player to move, so instead of
// sampling games against the random or the perfect player we can ask the model
// once for its move in every position and then sum over every game those
// players can play, each weighted by its probability (the random player picks
// uniformly among the legal moves, the perfect player uniformly among the
// optimal ones, as in lib/games/tictactoe.ts). The result is the exact
// win / draw / loss probability: what infinitely many evaluation games would
// give, with no sampling noise.
import { sampleMoves, type PolicyModel } from "../models/moves.js";
import { Rng } from "../rng.js";
import type { Seat } from "./game.js";
import { emptyBoard, legalMoves, optimalMoves, outcome, play, ticTacToe, toMove, type TicTacToeMove, type TicTacToeState } from "./tictactoe.js";

/** A player's move in a position, or null when what it wrote is refused (it loses the game). */
export type FixedPolicy = (s: TicTacToeState) => TicTacToeMove | null;

export interface ExactResult {
  win: number;
  draw: number;
  loss: number;
}

export type ReferenceName = "random" | "perfect";

export function boardKey(s: TicTacToeState): string {
  return s.cells.map((c) => c || ".").join("");
}

/** Every position a game can reach in which a player is to move (4,520), in a fixed order. */
export function reachablePositions(): TicTacToeState[] {
  const seen = new Map<string, TicTacToeState>();
  const walk = (s: TicTacToeState): void => {
    const k = boardKey(s);
    if (seen.has(k) || outcome(s)) return;
    seen.set(k, s);
    for (const m of legalMoves(s)) walk(play(s, m));
  };
  walk(emptyBoard());
  return [...seen.values()];
}

function referenceMoves(name: ReferenceName, s: TicTacToeState): TicTacToeMove[] {
  return name === "random" ? legalMoves(s) : optimalMoves(s);
}

/**
 * The exact result for `policy` on `seat` against a reference player: the
 * probability of each outcome over every game the reference's random choices
 * can make.
 */
export function exactMatch(policy: FixedPolicy, reference: ReferenceName, seat: Seat): ExactResult {
  const memo = new Map<string, ExactResult>();
  const from = (s: TicTacToeState): ExactResult => {
    const o = outcome(s);
    if (o) return o.winner === null ? { win: 0, draw: 1, loss: 0 } : o.winner === seat ? { win: 1, draw: 0, loss: 0 } : { win: 0, draw: 0, loss: 1 };
    const k = boardKey(s);
    const known = memo.get(k);
    if (known) return known;
    let r: ExactResult;
    if (toMove(s) === seat) {
      const m = policy(s);
      r = m === null || s.cells[m] !== "" ? { win: 0, draw: 0, loss: 1 } : from(play(s, m));
    } else {
      const moves = referenceMoves(reference, s);
      r = { win: 0, draw: 0, loss: 0 };
      for (const m of moves) {
        const c = from(play(s, m));
        r.win += c.win / moves.length;
        r.draw += c.draw / moves.length;
        r.loss += c.loss / moves.length;
      }
    }
    memo.set(k, r);
    return r;
  };
  return from(emptyBoard());
}

/** Both seats' exact results against a reference, and their mean (half the games on each seat, as evaluation plays them). */
export function exactBothSeats(policy: FixedPolicy, reference: ReferenceName): SeatResults {
  const X = exactMatch(policy, reference, 0);
  const O = exactMatch(policy, reference, 1);
  const mean = { win: (X.win + O.win) / 2, draw: (X.draw + O.draw) / 2, loss: (X.loss + O.loss) / 2 };
  return { X, O, mean };
}

/**
 * A model's greedy move (its most likely byte, as evaluation plays) in every
 * reachable position, judged by the rules engine, as a fixed policy. Batched
 * `batch` positions at a time.
 */
export async function greedyPolicy(model: PolicyModel, batch = 512): Promise<{ policy: FixedPolicy; illegal: number; positions: number }> {
  const states = reachablePositions();
  const table = new Map<string, TicTacToeMove | null>();
  let illegal = 0;
  for (let i = 0; i < states.length; i += batch) {
    const chunk = states.slice(i, i + batch);
    const out = await sampleMoves(model, chunk.map((s) => ticTacToe.prompt(s)), { maxBytes: ticTacToe.maxMoveBytes, end: ticTacToe.moveEnd, temperature: 0, rng: new Rng(1) });
    chunk.forEach((s, j) => {
      const v = ticTacToe.judge(s, out[j]);
      if (!v.ok) illegal++;
      table.set(boardKey(s), v.ok ? v.move : null);
    });
  }
  return {
    policy: (s) => {
      const m = table.get(boardKey(s));
      if (m === undefined) throw new Error(`position ${boardKey(s)} is not a reachable position with a player to move`);
      return m;
    },
    illegal,
    positions: states.length
  };
}

export interface SeatResults {
  X: ExactResult;
  O: ExactResult;
  mean: ExactResult;
}

export interface TicTacToeExact {
  /** Positions asked (every reachable one with a player to move) and those where the model's move was refused. */
  positions: number;
  illegalPositions: number;
  random: SeatResults;
  perfect: SeatResults;
}

/** A model's exact results against both reference players (greedy moves), with its illegal-move count over every position. */
export async function exactEvaluation(model: PolicyModel): Promise<TicTacToeExact> {
  const { policy, illegal, positions } = await greedyPolicy(model);
  return { positions, illegalPositions: illegal, random: exactBothSeats(policy, "random"), perfect: exactBothSeats(policy, "perfect") };
}
