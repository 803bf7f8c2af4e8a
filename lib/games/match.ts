// Games played out between players, many at once: the model's moves for every
// game where it is to move are sampled in one batch, a scripted player's are
// computed, and the rules engine judges each text. A refused text ends the game:
// it is lost by the player that wrote it.
import type { Rng } from "../rng.js";
import { sampleMoves, type PolicyModel } from "../models/moves.js";
import type { Game, Outcome, ScriptedPlayer, Seat } from "./game.js";

export type Player<S, M> =
  | { kind: "scripted"; name: string; play: ScriptedPlayer<S, M> }
  | {
      kind: "policy";
      name: string;
      model: PolicyModel;
      temperature: number;
      /**
       * Exploration: the probability that a move of this player is a uniformly
       * random legal move instead of the model's (needs game.legalMoves; 0 or absent: never).
       */
      explore?: number;
    };

export interface PlayedMove {
  seat: Seat;
  player: string;
  /** The game text the player read. */
  prompt: Uint8Array;
  /** The bytes it wrote. */
  text: Uint8Array;
  /** The engine's verdict: the move, described, or why the text was refused. */
  ok: boolean;
  verdict: string;
}

export interface GameRecord<S> {
  start: S;
  final: S;
  moves: PlayedMove[];
  outcome: Outcome;
}

/**
 * Plays one game per pairing ([seat 0's player, seat 1's player]) to the end.
 * The same players in the same order with the same rng play the same games.
 * `between`, when given, is awaited before each turn (a run's pause point:
 * lib/train/selfplay.ts waits there while paused; it must not draw from `rng`).
 */
export async function playGames<S, M>(
  game: Game<S, M>,
  pairings: readonly (readonly [Player<S, M>, Player<S, M>])[],
  rng: Rng,
  { between }: { between?: () => Promise<void> } = {}
): Promise<GameRecord<S>[]> {
  const states = pairings.map(() => game.initial(rng));
  const records: GameRecord<S>[] = states.map((s) => ({ start: s, final: s, moves: [], outcome: { winner: null } }));
  for (;;) {
    if (between) await between();
    const active = states.map((s, i) => i).filter((i) => game.outcome(states[i]) === null);
    if (active.length === 0) break;
    // Who moves in each active game; the model's games go to it in one batch per player.
    const texts = new Map<number, Uint8Array>();
    const groups = new Map<Player<S, M>, number[]>();
    for (const i of active) {
      const p = pairings[i][game.toMove(states[i])];
      if (!groups.has(p)) groups.set(p, []);
      groups.get(p)!.push(i);
    }
    for (const [p, games] of groups) {
      if (p.kind === "scripted") {
        // A scripted player's move can be a search (the perfect player's opening: a few ms each), so a pause point comes before each.
        for (const i of games) {
          if (between) await between();
          texts.set(i, game.formatMove(p.play(states[i], rng)));
        }
      } else {
        let modelGames = games;
        if (p.explore) {
          if (!game.legalMoves) throw new Error(`exploration plays random legal moves, and ${game.name} does not list them`);
          modelGames = [];
          for (const i of games) {
            if (rng.next() < p.explore) {
              const legal = game.legalMoves(states[i]);
              texts.set(i, game.formatMove(legal[rng.int(legal.length)]));
            } else modelGames.push(i);
          }
        }
        const moves = await sampleMoves(p.model, modelGames.map((i) => game.prompt(states[i])), { maxBytes: game.maxMoveBytes, end: game.moveEnd, temperature: p.temperature, rng });
        modelGames.forEach((i, j) => texts.set(i, moves[j]));
      }
    }
    for (const i of active) {
      const s = states[i];
      const seat = game.toMove(s);
      const text = texts.get(i)!;
      const v = game.judge(s, text);
      records[i].moves.push({ seat, player: pairings[i][seat].name, prompt: game.prompt(s), text, ok: v.ok, verdict: v.ok ? game.describeMove(v.move) : v.reason });
      states[i] = v.ok ? game.apply(s, v.move) : game.forfeit(s);
    }
  }
  states.forEach((s, i) => {
    records[i].final = s;
    records[i].outcome = game.outcome(s)!;
  });
  return records;
}

/** A game's result for one seat: 1 win, 0 draw, -1 loss. */
export function scoreFor(outcome: Outcome, seat: Seat): number {
  return outcome.winner === null ? 0 : outcome.winner === seat ? 1 : -1;
}
