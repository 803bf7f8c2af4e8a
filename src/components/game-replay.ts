// The latest games, move by move: the text each player wrote and the rules
// engine's verdict on it.
import { html } from "htl";
import type { ReplayGame } from "../lib/train/selfplay.js";

export function GameReplay(games: readonly ReplayGame[], { marks = ["X", "O"], title }: { marks?: readonly [string, string] | readonly string[]; title?: string } = {}): HTMLElement {
  const root = html`<div class="stlm-replay">${title ? html`<h4>${title}</h4>` : ""}${games.map(
    (g) => html`<div class="stlm-replay-game">
      <div class="stlm-replay-start"><code>${g.start}</code> <span class="stlm-replay-result">${g.result}</span></div>
      <ol>${g.moves.map(
        (m) => html`<li class=${m.ok ? "ok" : "refused"}><span class="who">${marks[m.seat]} · ${m.player}</span> wrote <code>${JSON.stringify(m.text)}</code> → ${m.ok ? "✓ " : "✗ refused: "}${m.verdict}</li>`
      )}</ol>
    </div>`
  )}</div>` as HTMLElement;
  root.dataset.games = String(games.length);
  return root;
}
