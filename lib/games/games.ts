// The lab's games by name, each with what self-play needs around its rules
// engine: the scripted player imitation learns from, the reference players
// evaluation plays against, and the byte model a fresh run starts from.
import { PRESETS, type ModelConfig } from "../config.js";
import type { Game, ScriptedPlayer } from "./game.js";
import { perfectPlayer, randomPlayer, ticTacToe } from "./tictactoe.js";
import { randomWordPlayer, vocabularyFromText, wordChain, type WordChainOptions } from "./wordchain.js";

export const GAME_NAMES = ["tictactoe", "wordchain"] as const;
export type GameName = (typeof GAME_NAMES)[number];

export interface GameSetup<S = unknown, M = unknown> {
  name: GameName;
  game: Game<S, M>;
  /** The scripted player imitation learns from. */
  teacher: ScriptedPlayer<S, M>;
  references: { name: string; play: ScriptedPlayer<S, M> }[];
  /** A fresh model's config: the nano preset with a context that fits a prompt and a move. */
  model: ModelConfig;
}

/** Tic-tac-toe: imitation of random legal moves, evaluation against the random and the perfect (minimax) player. */
export function ticTacToeSetup(): GameSetup {
  return {
    name: "tictactoe",
    game: ticTacToe as Game<unknown, unknown>,
    teacher: randomPlayer as ScriptedPlayer<unknown, unknown>,
    references: [
      { name: "random", play: randomPlayer as ScriptedPlayer<unknown, unknown> },
      { name: "perfect", play: perfectPlayer as ScriptedPlayer<unknown, unknown> }
    ],
    model: { ...PRESETS.nano.model, blockSize: 40 }
  };
}

/** The word chain over the vocabulary of a corpus's train split: imitation of and evaluation against random valid words. */
export function wordChainSetup(trainText: string, options: WordChainOptions = {}): GameSetup {
  const vocab = vocabularyFromText(trainText);
  const player = randomWordPlayer(vocab) as ScriptedPlayer<unknown, unknown>;
  return {
    name: "wordchain",
    game: wordChain(vocab, options) as unknown as Game<unknown, unknown>,
    teacher: player,
    references: [{ name: "random words", play: player }],
    model: { ...PRESETS.nano.model }
  };
}

export function isGameName(name: string): name is GameName {
  return (GAME_NAMES as readonly string[]).includes(name);
}
