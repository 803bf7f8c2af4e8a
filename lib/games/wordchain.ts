// The word chain as a rules engine. A host says a first word; then the two
// players take turns, each answering with an English word that starts with the
// last letter of the word before and has not been said in this game. "English
// word" means a word of the vocabulary: the words a corpus's train split writes
// in lower case (so names, which it writes capitalised, are not words here).
// An answer the checker refuses loses the game; a chain that reaches
// `maxAnswers` answers is a draw.
//
// The model reads the chain as text, "apple, egg, ", left-filled with newlines
// to a fixed width, and writes its answer and a comma: "garden,".
import type { Rng } from "../rng.js";
import type { Game, Outcome, ScriptedPlayer, Seat, Verdict } from "./game.js";

export interface Vocabulary {
  /** Every word, sorted. */
  readonly words: readonly string[];
  has(word: string): boolean;
  /** The words that start with a letter, sorted. */
  startingWith(letter: string): readonly string[];
}

export interface VocabularyOptions {
  /** Times a word must occur in lower case to count (default 2: drops typos). */
  minCount?: number;
  /** Shortest word (default 2). */
  minLength?: number;
  /** Longest word (default 12: an answer must fit in a move). */
  maxLength?: number;
}

/** The vocabulary of a text: its lower-case ASCII words, each seen at least minCount times. */
export function vocabularyFromText(text: string, { minCount = 2, minLength = 2, maxLength = 12 }: VocabularyOptions = {}): Vocabulary {
  const counts = new Map<string, number>();
  // A word is a run of letters between non-letters; one with a capital is left out (a name, or a sentence's first word, seen elsewhere in lower case).
  for (const m of text.matchAll(/(?<![A-Za-z])[a-z]+(?![A-Za-z])/g)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words = [...counts].filter(([w, n]) => n >= minCount && w.length >= minLength && w.length <= maxLength).map(([w]) => w);
  return vocabularyFromWords(words);
}

export function vocabularyFromWords(list: readonly string[]): Vocabulary {
  const words = [...new Set(list)].sort();
  for (const w of words) if (!/^[a-z]+$/.test(w)) throw new Error(`a vocabulary word is lower-case ASCII letters (got ${JSON.stringify(w)})`);
  const set = new Set(words);
  const byLetter = new Map<string, string[]>();
  for (const w of words) {
    const l = w[0];
    if (!byLetter.has(l)) byLetter.set(l, []);
    byLetter.get(l)!.push(w);
  }
  return { words, has: (w) => set.has(w), startingWith: (l) => byLetter.get(l) ?? [] };
}

export interface WordChainState {
  /** The chain so far: the host's word, then the answers, in lower case. */
  readonly words: readonly string[];
  /** Answers given so far. */
  readonly ply: number;
  readonly illegal?: Seat;
}

export interface WordChainOptions {
  /** Answers after which the game is a draw (default 8). */
  maxAnswers?: number;
  /** Bytes of every prompt (default 40). */
  promptBytes?: number;
  /** Bytes an answer may take, its comma included (default 14). */
  maxMoveBytes?: number;
}

const COMMA = 0x2c;
const encoder = new TextEncoder();

/** The letter the next answer must start with. */
export function requiredLetter(s: WordChainState): string {
  const last = s.words[s.words.length - 1];
  return last[last.length - 1];
}

/**
 * The checker: whether `answer` (text as written, without the comma) may follow
 * this chain. Case is ignored ("Garden" is "garden"); everything else is refused
 * with the reason.
 */
export function checkAnswer(vocab: Vocabulary, s: WordChainState, answer: string): Verdict<string> {
  const text = answer.trim();
  if (text === "") return { ok: false, reason: "an empty answer" };
  if (/[^\x00-\x7f]/.test(text)) return { ok: false, reason: `${JSON.stringify(text)} is not ASCII` };
  if (!/^[A-Za-z]+$/.test(text)) return { ok: false, reason: `${JSON.stringify(text)} is not one word of letters` };
  const word = text.toLowerCase();
  if (!vocab.has(word)) return { ok: false, reason: `"${word}" is not a word of the vocabulary` };
  const letter = requiredLetter(s);
  if (word[0] !== letter) return { ok: false, reason: `"${word}" does not start with "${letter}"` };
  if (s.words.includes(word)) return { ok: false, reason: `"${word}" was already said` };
  return { ok: true, move: word };
}

/** The word-chain game over a vocabulary. */
export function wordChain(vocab: Vocabulary, options: WordChainOptions = {}): Game<WordChainState, string> & { vocab: Vocabulary; maxAnswers: number } {
  const maxAnswers = options.maxAnswers ?? 8;
  const promptBytes = options.promptBytes ?? 40;
  const maxMoveBytes = options.maxMoveBytes ?? 14;
  // A first word must have an answer.
  const starters = vocab.words.filter((w) => vocab.startingWith(w[w.length - 1]).some((v) => v !== w));
  if (starters.length === 0) throw new Error("the vocabulary has no word that another word can follow");
  const outcome = (s: WordChainState): Outcome | null => {
    if (s.illegal !== undefined) return { winner: (1 - s.illegal) as Seat, illegal: s.illegal };
    return s.ply >= maxAnswers ? { winner: null } : null;
  };
  return {
    name: "wordchain",
    vocab,
    maxAnswers,
    promptBytes,
    maxMoveBytes,
    moveEnd: COMMA,
    initial: (rng: Rng) => ({ words: [starters[rng.int(starters.length)]], ply: 0 }),
    toMove: (s) => (s.ply % 2) as Seat,
    prompt: (s) => {
      const text = s.words.join(", ") + ", ";
      const bytes = encoder.encode(text.length >= promptBytes ? text.slice(text.length - promptBytes) : "\n".repeat(promptBytes - text.length) + text);
      return bytes;
    },
    judge: (s, bytes) => {
      if (bytes.some((b) => b >= 0x80)) return { ok: false, reason: "the answer is not ASCII" };
      const text = String.fromCharCode(...bytes);
      if (!text.endsWith(",")) return { ok: false, reason: `no comma ends the answer within ${maxMoveBytes} bytes` };
      return checkAnswer(vocab, s, text.slice(0, -1));
    },
    formatMove: (w) => encoder.encode(w + ","),
    apply: (s, w) => {
      const v = checkAnswer(vocab, s, w);
      if (!v.ok) throw new Error(`"${w}" is not a legal answer here: ${v.reason}`);
      return { words: [...s.words, v.move], ply: s.ply + 1 };
    },
    forfeit: (s) => ({ ...s, illegal: (s.ply % 2) as Seat }),
    outcome,
    describeMove: (w) => w
  };
}

/** Every answer the checker would take now. */
export function validAnswers(vocab: Vocabulary, s: WordChainState): string[] {
  return vocab.startingWith(requiredLetter(s)).filter((w) => !s.words.includes(w));
}

/** The reference player: a random valid word; with none left it answers "" (and loses). */
export function randomWordPlayer(vocab: Vocabulary): ScriptedPlayer<WordChainState, string> {
  return (s, rng) => {
    const words = validAnswers(vocab, s);
    return words.length ? words[rng.int(words.length)] : "";
  };
}
