import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.js";
import { type WordChainState, checkAnswer, randomWordPlayer, validAnswers, vocabularyFromText, vocabularyFromWords, wordChain } from "../../lib/games/wordchain.js";
import { loadCorpus } from "../../lib/node/data.js";
import { decodeBytes } from "../../lib/text/tokenizer.js";

const vocab = vocabularyFromWords(["apple", "egg", "garden", "night", "tea", "ant", "elephant"]);
const enc = (s: string) => new TextEncoder().encode(s);

test("the vocabulary holds the words a text writes in lower case at least twice", () => {
  const v = vocabularyFromText("The cat sat. the cat ran; Emma saw the dog. Emma, the dog! a a");
  assert.deepEqual(v.words, ["cat", "dog", "the"]);
  assert.deepEqual(v.startingWith("d"), ["dog"]);
  assert.equal(v.has("emma"), false, "a name written only with a capital is not a word");
});

test("the checker takes a word that starts with the last letter, in any case", () => {
  const s = { words: ["apple"], ply: 0 };
  assert.deepEqual(checkAnswer(vocab, s, "egg"), { ok: true, move: "egg" });
  assert.deepEqual(checkAnswer(vocab, s, "Egg"), { ok: true, move: "egg" });
  assert.deepEqual(checkAnswer(vocab, s, " EGG "), { ok: true, move: "egg" });
});

test("the checker refuses repeats, non-words, wrong letters, non-ASCII and empty answers, saying why", () => {
  const s = { words: ["apple", "egg", "garden", "night", "tea"], ply: 4 };
  assert.match(String((checkAnswer(vocab, s, "apple") as { reason: string }).reason), /already said/);
  assert.match(String((checkAnswer(vocab, s, "aardvark") as { reason: string }).reason), /not a word/);
  assert.match(String((checkAnswer(vocab, s, "egg") as { reason: string }).reason), /does not start with "a"/);
  assert.match(String((checkAnswer(vocab, s, "äpple") as { reason: string }).reason), /not ASCII/);
  assert.match(String((checkAnswer(vocab, s, "") as { reason: string }).reason), /empty/);
  assert.match(String((checkAnswer(vocab, s, "   ") as { reason: string }).reason), /empty/);
  assert.match(String((checkAnswer(vocab, s, "an t") as { reason: string }).reason), /not one word/);
  assert.deepEqual(checkAnswer(vocab, s, "ant"), { ok: true, move: "ant" });
});

test("the game judges a model's bytes: a comma ends the answer, raw non-ASCII bytes are refused", () => {
  const game = wordChain(vocab, { maxAnswers: 4, promptBytes: 24 });
  const s = { words: ["apple"], ply: 0 };
  assert.deepEqual(game.judge(s, enc("egg,")), { ok: true, move: "egg" });
  assert.match((game.judge(s, enc("egg")) as { reason: string }).reason, /no comma/);
  assert.match((game.judge(s, Uint8Array.from([0xc3, 0xa4, 0x2c])) as { reason: string }).reason, /not ASCII/);
  assert.match((game.judge(s, enc(",")) as { reason: string }).reason, /empty/);
  const p = new TextDecoder().decode(game.prompt({ words: ["apple", "egg"], ply: 1 }));
  assert.equal(p.length, 24);
  assert.ok(p.endsWith("apple, egg, ") && /^\n+apple/.test(p), JSON.stringify(p));
  assert.equal(new TextDecoder().decode(game.formatMove("garden")), "garden,");
});

test("a refused answer loses for its writer, and a chain of maxAnswers answers is a draw", () => {
  const game = wordChain(vocab, { maxAnswers: 2 });
  let s: WordChainState = { words: ["apple"], ply: 0 };
  assert.deepEqual(game.outcome(game.forfeit(s)), { winner: 1, illegal: 0 });
  s = game.apply(s, "egg");
  assert.equal(game.outcome(s), null);
  s = game.apply(s, "garden");
  assert.deepEqual(game.outcome(s), { winner: null });
});

test("the random-word player answers only valid words, on austen's vocabulary", async () => {
  const corpus = await loadCorpus("austen");
  const v = vocabularyFromText(decodeBytes(corpus.train));
  assert.ok(v.words.length > 3000, `${v.words.length} words`);
  for (const w of ["house", "sister", "letter"]) assert.ok(v.has(w), w);
  const game = wordChain(v);
  const player = randomWordPlayer(v);
  const rng = new Rng(1);
  for (let g = 0; g < 20; g++) {
    let s = game.initial(rng);
    while (!game.outcome(s)) {
      const w = player(s, rng);
      assert.ok(validAnswers(v, s).includes(w));
      const verdict = game.judge(s, game.formatMove(w));
      assert.ok(verdict.ok);
      s = game.apply(s, w);
    }
  }
});
