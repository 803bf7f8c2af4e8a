// What the self-play loop (lib/games/selfplay.ts) knows about a game: a pure
// rules engine whose state the model reads as bytes and whose moves the model
// writes as bytes. The engine is the only judge: a move it cannot parse, or an
// illegal one, loses the game for the player that wrote it.
import type { Rng } from "../rng.js";

/** The two seats: 0 moves first. */
export type Seat = 0 | 1;

/** How a finished game ended; `illegal` names the seat whose move the engine refused. */
export interface Outcome {
  /** The seat that won, or null for a draw. */
  winner: Seat | null;
  /** The engine refused a move of this seat (unparseable or illegal): it lost. */
  illegal?: Seat;
}

/** The engine's verdict on text a player wrote. */
export type Verdict<M> = { ok: true; move: M } | { ok: false; reason: string };

export interface Game<S, M> {
  readonly name: string;
  /** Bytes of every prompt (prompts are fixed-width so games batch without padding). */
  readonly promptBytes: number;
  /** The most bytes a move may take, its terminator included. */
  readonly maxMoveBytes: number;
  /** The byte that ends a move's text, or null when every move is exactly maxMoveBytes long. */
  readonly moveEnd: number | null;
  /** A new game (the word chain draws its first word). */
  initial(rng: Rng): S;
  toMove(s: S): Seat;
  /** The game as the player to move reads it: exactly promptBytes bytes. */
  prompt(s: S): Uint8Array;
  /** The engine's verdict on the bytes a player wrote (terminator included, when the game has one). */
  judge(s: S, text: Uint8Array): Verdict<M>;
  /** The text a move is written as (what parse reads back). */
  formatMove(m: M): Uint8Array;
  apply(s: S, m: M): S;
  /** The game lost by the player to move, whose text the engine refused. */
  forfeit(s: S): S;
  /** The outcome of a finished game, null while it goes on. */
  outcome(s: S): Outcome | null;
  /** A short human description of a move (for replays). */
  describeMove(m: M): string;
  /** Every legal move of the player to move (for a search over the rules; games too wide for one leave it out). */
  legalMoves?(s: S): M[];
}

/** A player that is not the model: given a state, its move (a scripted or reference player). */
export type ScriptedPlayer<S, M> = (s: S, rng: Rng) => M;
