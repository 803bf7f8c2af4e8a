// The expert of expert iteration (Anthony, Tian & Barber 2017, "Thinking Fast
// and Slow with Deep Learning and Tree Search", arXiv 1705.08439), at the scale
// of the lab: for a position the model reached in self-play, a shallow search
// over the rules engine's moves picks a move, and the model learns to write it.
// The search looks `depth` plies ahead exactly (every legal move of both
// players, outcomes judged by the engine); a position still open at that depth
// is worth the mean result of `rollouts` games finished by random legal moves
// (0 rollouts: worth a draw). No other knowledge of the game is used: no
// reference player, no hand-made evaluation.
import type { Rng } from "../rng.js";
import type { Game } from "../games/game.js";

export interface ExpertSettings {
  /** Plies searched exactly (1: the expert's own move only). */
  depth: number;
  /** Random playouts valuing a position still open at the search's depth (0: a draw). */
  rollouts: number;
}

function legal<S, M>(game: Game<S, M>, s: S): M[] {
  if (!game.legalMoves) throw new Error(`expert iteration needs the game's legal moves, and ${game.name} does not list them`);
  return game.legalMoves(s);
}

/** A finished game's result for the player to move in `s`, or null while it goes on. */
function result<S, M>(game: Game<S, M>, s: S): number | null {
  const o = game.outcome(s);
  if (!o) return null;
  return o.winner === null ? 0 : o.winner === game.toMove(s) ? 1 : -1;
}

function rollout<S, M>(game: Game<S, M>, s: S, rng: Rng): number {
  let sign = 1;
  for (;;) {
    const r = result(game, s);
    if (r !== null) return sign * r;
    const moves = legal(game, s);
    s = game.apply(s, moves[rng.int(moves.length)]);
    sign = -sign;
  }
}

/** The value of `s` for the player to move: exact for `depth` plies, then random playouts. */
export function searchValue<S, M>(game: Game<S, M>, s: S, depth: number, rollouts: number, rng: Rng): number {
  const r = result(game, s);
  if (r !== null) return r;
  if (depth <= 0) {
    if (rollouts <= 0) return 0;
    let sum = 0;
    for (let i = 0; i < rollouts; i++) sum += rollout(game, s, rng);
    return sum / rollouts;
  }
  let best = -Infinity;
  for (const m of legal(game, s)) best = Math.max(best, -searchValue(game, game.apply(s, m), depth - 1, rollouts, rng));
  return best;
}

/** Each legal move's value for the player to move (searched `depth` plies, its own move the first). */
export function expertValues<S, M>(game: Game<S, M>, s: S, settings: ExpertSettings, rng: Rng): { move: M; value: number }[] {
  return legal(game, s).map((move) => ({ move, value: -searchValue(game, game.apply(s, move), settings.depth - 1, settings.rollouts, rng) }));
}

/** The expert's move: the best by expertValues, ties broken by the rng. */
export function expertMove<S, M>(game: Game<S, M>, s: S, settings: ExpertSettings, rng: Rng): M {
  const scored = expertValues(game, s, settings, rng);
  if (scored.length === 0) throw new Error("the expert was asked for a move in a finished game");
  const top = Math.max(...scored.map((x) => x.value));
  const best = scored.filter((x) => x.value >= top - 1e-9);
  return best[rng.int(best.length)].move;
}
