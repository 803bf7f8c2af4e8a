// The reader plays the model: a tic-tac-toe board to click, or a word to type.
// The model answers with its most likely bytes; the rules engine judges both
// (the reader's refused input is asked again; the model's loses it the game).
//
// The model itself lives in the page's worker: a Mover asks it for a move's bytes
// (lab-client.ts's move), so nothing here touches tfjs.
import { html } from "htl";
import { Rng } from "../lib/rng.js";
import { emptyBoard, markOf, outcome, play, ticTacToe, toMove, type TicTacToeState } from "../lib/games/tictactoe.js";
import { requiredLetter, wordChain, type WordChainState } from "../lib/games/wordchain.js";

const decoder = new TextDecoder();

/** The model's greedy move for a game's prompt: at most maxBytes bytes, ending at `end` when it is not null. */
export type Mover = (prompt: Uint8Array, maxBytes: number, end: number | null) => Promise<Uint8Array>;

async function modelMove<S, M>(move: Mover, game: { prompt(s: S): Uint8Array; maxMoveBytes: number; moveEnd: number | null; judge(s: S, t: Uint8Array): { ok: true; move: M } | { ok: false; reason: string } }, s: S) {
  const text = await move(game.prompt(s), game.maxMoveBytes, game.moveEnd);
  return { text: decoder.decode(text), verdict: game.judge(s, text) };
}

/** A board the reader plays X (or O, with "model first") on against `model()`. */
export function TicTacToePlay(model: () => Mover | null): HTMLElement {
  let s: TicTacToeState = emptyBoard();
  let human: 0 | 1 = 0;
  let busy = false;
  const log = html`<ol class="stlm-play-log"></ol>` as HTMLElement;
  const status = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const cells = Array.from({ length: 9 }, (_, i) => html`<button type="button" class="stlm-cell" aria-label=${`square ${i + 1}`}></button>` as HTMLButtonElement);
  const board = html`<div class="stlm-board">${cells}</div>` as HTMLElement;
  const newGame = html`<button type="button">New game, I move first</button>` as HTMLButtonElement;
  const modelFirst = html`<button type="button">New game, the model moves first</button>` as HTMLButtonElement;
  const root = html`<div class="stlm-play">${board}<div>${status}<div class="stlm-buttons">${newGame}${modelFirst}</div>${log}</div></div>` as HTMLElement;
  const note = (text: string, cls = "") => log.append(html`<li class=${cls}>${text}</li>` as HTMLElement);
  const render = () => {
    s.cells.forEach((c, i) => {
      cells[i].textContent = c || "";
      cells[i].disabled = busy || c !== "" || outcome(s) !== null || toMove(s) !== human;
    });
    const o = outcome(s);
    root.dataset.board = s.cells.map((c) => c || ".").join("");
    root.dataset.state = o ? "over" : busy ? "thinking" : "your-move";
    status.textContent = o
      ? o.winner === null ? "A draw." : o.winner === human ? (o.illegal !== undefined ? "You win: the model's move was refused." : "You win.") : "The model wins."
      : busy ? "The model is thinking (in the worker)…" : `Your move: you are ${markOf(human)}. Click a free square.`;
  };
  const answer = async () => {
    const m = model();
    if (!m || outcome(s)) return render();
    busy = true;
    render();
    let answered;
    try {
      answered = await modelMove(m, ticTacToe, s);
    } catch (e) {
      busy = false;
      note(`the model could not answer: ${(e as Error).message}`, "refused");
      return render();
    }
    const { text, verdict } = answered;
    busy = false;
    if (verdict.ok) {
      note(`model (${markOf(toMove(s))}) wrote "${text}" → square ${verdict.move + 1} ✓`, "ok");
      s = play(s, verdict.move);
    } else {
      note(`model (${markOf(toMove(s))}) wrote ${JSON.stringify(text)} → refused: ${verdict.reason}`, "refused");
      s = ticTacToe.forfeit(s);
    }
    root.dataset.modelMoves = String(Number(root.dataset.modelMoves ?? 0) + 1);
    render();
  };
  cells.forEach((c, i) => {
    c.onclick = () => {
      if (busy || outcome(s) || toMove(s) !== human || s.cells[i] !== "") return;
      note(`you (${markOf(human)}) → square ${i + 1} ✓`, "ok");
      s = play(s, i);
      void answer();
    };
  });
  const reset = (first: 0 | 1) => {
    s = emptyBoard();
    human = first === 0 ? 0 : 1;
    log.replaceChildren();
    render();
    if (human === 1) void answer();
  };
  newGame.onclick = () => reset(0);
  modelFirst.onclick = () => reset(1);
  render();
  return root;
}

/** A word chain the reader plays against `model()`; the host's first word comes from `start`. */
export function WordChainPlay(model: () => Mover | null, game: ReturnType<typeof wordChain>, { seed = 1 }: { seed?: number } = {}): HTMLElement {
  const rng = new Rng(seed);
  let s: WordChainState = game.initial(rng);
  let busy = false;
  const chain = html`<p class="stlm-chain"></p>` as HTMLElement;
  const status = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const input = html`<input type="text" aria-label="Your word" autocomplete="off" spellcheck="false" size="14">` as HTMLInputElement;
  const say = html`<button type="submit">Say it</button>` as HTMLButtonElement;
  const again = html`<button type="button">New chain</button>` as HTMLButtonElement;
  const form = html`<form class="stlm-buttons">${input}${say}${again}</form>` as HTMLFormElement;
  const log = html`<ol class="stlm-play-log"></ol>` as HTMLElement;
  const root = html`<div class="stlm-play-words">${chain}${status}${form}${log}</div>` as HTMLElement;
  const note = (text: string, cls = "") => log.append(html`<li class=${cls}>${text}</li>` as HTMLElement);
  const render = () => {
    const o = game.outcome(s);
    chain.textContent = s.words.join(" → ");
    root.dataset.state = o ? "over" : busy ? "thinking" : "your-move";
    root.dataset.words = String(s.words.length);
    input.disabled = say.disabled = busy || o !== null;
    status.textContent = o
      ? o.winner === null ? `A draw: ${game.maxAnswers} answers.` : o.winner === 0 ? "You win: the model's answer was refused." : "The model wins."
      : busy ? "The model is thinking (in the worker)…" : `Your word: it must start with "${requiredLetter(s)}".`;
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    if (busy || game.outcome(s)) return;
    const v = game.judge(s, new TextEncoder().encode(input.value.trim() + ","));
    if (!v.ok) {
      note(`you wrote ${JSON.stringify(input.value)} → refused: ${v.reason}; try again`, "refused");
      return;
    }
    note(`you → "${v.move}" ✓`, "ok");
    s = game.apply(s, v.move);
    input.value = "";
    const m = model();
    if (!m || game.outcome(s)) return render();
    busy = true;
    render();
    let answered;
    try {
      answered = await modelMove(m, game, s);
    } catch (e) {
      busy = false;
      note(`the model could not answer: ${(e as Error).message}`, "refused");
      return render();
    }
    const { text, verdict } = answered;
    busy = false;
    if (verdict.ok) {
      note(`model wrote ${JSON.stringify(text)} → "${verdict.move}" ✓`, "ok");
      s = game.apply(s, verdict.move);
    } else {
      note(`model wrote ${JSON.stringify(text)} → refused: ${verdict.reason}`, "refused");
      s = game.forfeit(s);
    }
    root.dataset.modelMoves = String(Number(root.dataset.modelMoves ?? 0) + 1);
    render();
  };
  again.onclick = () => {
    s = game.initial(rng);
    log.replaceChildren();
    render();
  };
  render();
  return root;
}
