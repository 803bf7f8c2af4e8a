// The runs table: the runs library (runs-library.ts) as an arquero table drawn by
// Inputs.table, one row a run (label, page, settings that differ from the first run,
// seed, steps, final train loss, validation bits/byte, tokens/s, backend, date). The
// reader ticks rows to overlay them on one chart (runs-overlay.ts), deletes them,
// downloads them (the record as JSON, its metrics as CSV), imports a run file (a
// CLI run folder's run.json or another reader's download), and may keep them in this
// browser. A file that is not a run record is refused with what was wrong.
import * as Inputs from "@observablehq/inputs";
import aqModule from "arquero/dist/arquero.min.js";
import { html } from "htl";
import { checkRunFileSize, configDiff, isGameRecord, metricsCsv, parseRunRecord, summarizeMetrics, type RunGame, type RunRecord } from "../lib/runs/record.js";
import { downloadText, fileSlug } from "./download.js";
import { RunsOverlay, overlayLabels, runSetup } from "./runs-overlay.js";
import type { LibraryEntry, RunsLibrary } from "./runs-library.js";

const aq = ((aqModule as unknown as { default?: typeof aqModule }).default ?? aqModule) as typeof aqModule;

export interface RunRow {
  id: string;
  label: string;
  page: string;
  diff: string;
  seed: number;
  steps: number;
  trainBpb: number | null;
  valBpb: number | null;
  tokensPerSecond: number | null;
  backend: string;
  date: string;
  /** A game run's last evaluation against each reference player ("" for a language-model run). */
  lastEval: string;
}

const pct = (x: number) => `${(100 * x).toFixed(x > 0 && x < 0.01 ? 1 : 0)}%`;

/** A game run's last evaluation against each opponent, in words: "random: W 93% D 4% L 3%, illegal 0%". */
export function lastEvalText(r: RunRecord): string {
  if (!isGameRecord(r)) return "";
  const last = new Map<string, RunGame["evals"][number]>();
  for (const e of r.game.evals) last.set(e.opponent, e);
  const parts = [...last.values()].map((e) => `${e.opponent} (iteration ${e.iteration}): W ${pct(e.stats.win)} D ${pct(e.stats.draw)} L ${pct(e.stats.loss)}, illegal ${pct(e.stats.illegalRate)}`);
  return parts.length ? parts.join("; ") : "not evaluated yet";
}

/** A library's runs as table rows; "diff" is what differs from the first run's settings (the seed has its own column). */
export function runRows(entries: readonly LibraryEntry[]): RunRow[] {
  const first = entries[0]?.record;
  return entries.map(({ record: r, source }) => {
    // A game run's TrainConfig follows from its self-play settings (game.config), so only those are compared.
    const derived = (d: string) => d.startsWith("train.seed:") || (isGameRecord(r) && isGameRecord(first) && (d.startsWith("train.") || d.startsWith("game.config.seed:")));
    const diff = first && r !== first ? configDiff(first, r).filter((d) => !derived(d)).map((d) => d.replace(/^[^:]*?([^.:]+):/, "$1:")) : [];
    const where = r.page ?? (r.origin === "cli" ? "CLI" : r.origin);
    // A precomputed figure's record keeps its curve but no final figures: the row reads them off the curve.
    const final = r.final ?? summarizeMetrics(r.metrics.steps, r.metrics.evals, r.train.steps);
    return {
      id: r.id,
      label: r.label,
      page: source === "live" ? where : `${where} (${source === "checkpoint" ? "from a checkpoint" : source})`,
      diff: r === first ? "(first run)" : diff.length ? diff.join("; ") : "same settings",
      seed: r.train.seed,
      steps: final?.steps ?? 0,
      trainBpb: final?.trainLoss != null ? final.trainLoss / Math.LN2 : null,
      valBpb: final?.valBitsPerByte ?? null,
      tokensPerSecond: final?.meanTokensPerSecond ?? null,
      backend: r.runtime.backend,
      date: r.startedAt.slice(0, 16).replace("T", " "),
      lastEval: lastEvalText(r)
    };
  });
}

/** Reads a run file the reader chose; refuses (RunRecordError) a file that is too large, not JSON, or not a record this lab reads. */
export async function readRunFile(file: File): Promise<RunRecord> {
  checkRunFileSize(file.size, file.name);
  return parseRunRecord(await file.text(), file.name);
}

const fixed = (digits: number) => (x: number | null) => (x === null ? "–" : x.toFixed(digits));

export interface RunsTableOptions {
  /**
   * Where the ticked runs are drawn: "own" (a chart under the table, runs-overlay.ts) or
   * "page" (the page's main chart draws them: the page reads library.selected; the table
   * then says so where its chart would be).
   */
  overlay?: "own" | "page";
  /** What the page's main chart is called in the table's words ("the training chart above"). */
  chartName?: string;
  /** The runs' kind: language-model runs (bits per byte, bytes/s) or game runs (iterations, the last evaluation). */
  kind?: "lm" | "game";
  /**
   * Where the page's precomputed rows go: "first" (the training page's one reference run, the
   * run the others' settings are compared with) or "last" (a page with many precomputed runs:
   * the reader's own runs stay at the top, where the table shows them without scrolling).
   */
  precomputed?: "first" | "last";
}

export function RunsTable(library: RunsLibrary, { overlay = "own", chartName = "the training chart above", kind = "lm", precomputed = "first" }: RunsTableOptions = {}): HTMLElement & { dispose(): void } {
  const tableBox = html`<div class="stlm-runs-table"></div>` as HTMLElement;
  const chartBox = html`<div class="stlm-runs-chart" aria-live="polite"></div>` as HTMLElement;
  const status = html`<p class="stlm-status stlm-runs-status" role="status"></p>` as HTMLElement;
  const say = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle("stlm-error", error);
  };

  const remove = html`<button type="button">Delete selected</button>` as HTMLButtonElement;
  const json = html`<button type="button">Download JSON</button>` as HTMLButtonElement;
  const csv = html`<button type="button">Download CSV</button>` as HTMLButtonElement;
  const fileInput = html`<input type="file" accept=".json,application/json" aria-label="Import a record file (JSON)">` as HTMLInputElement;
  const keep = html`<input type="checkbox">` as HTMLInputElement;
  const keepLabel = html`<label class="stlm-runs-keep">${keep} Keep runs in this browser</label>` as HTMLElement;

  const chosen = (what: string): LibraryEntry[] | null => {
    const list = library.selected;
    if (list.length === 0) say(`Tick a run in the table first to ${what} it.`, true);
    return list.length ? list : null;
  };
  remove.onclick = () => {
    const list = chosen("delete");
    if (!list) return;
    library.remove(list.map((e) => e.record.id));
    say(`Deleted ${list.map((e) => e.record.label).join(", ")}.`);
  };
  json.onclick = () => {
    const list = chosen("download");
    if (!list) return;
    for (const { record } of list) downloadText(JSON.stringify(record, null, 1), `${fileSlug(record.label)}.run.json`, "application/json");
    say(`Downloaded ${list.length} run record${list.length === 1 ? "" : "s"} (JSON): import ${list.length === 1 ? "it" : "them"} here or on another reader's lab.`);
  };
  csv.onclick = () => {
    const list = chosen("download");
    if (!list) return;
    for (const { record } of list) downloadText(metricsCsv(record), `${fileSlug(record.label)}.metrics.csv`, "text/csv");
    say(`Downloaded the metrics of ${list.length} run${list.length === 1 ? "" : "s"} (CSV: ${kind === "game" ? "one row per iteration and per evaluation: phase, opponent, train loss in nats, mean reward, games, win, draw and loss shares, illegal moves, mean length" : "step, loss in nats, lr, bytes/s, elapsed ms, validation bits/byte"}).`);
  };
  fileInput.onchange = async () => {
    const file = fileInput.files?.[0];
    fileInput.value = ""; // choosing the same file again (fixed, say) is a change
    if (!file) return;
    try {
      const record = await readRunFile(file);
      if (library.has(record.id)) {
        say(`${file.name} is already in the table (as "${library.list.find((e) => e.record.id === record.id)!.record.label}"); delete that row first to import it again.`, true);
        return;
      }
      library.upsert(record, "imported");
      library.select([...library.selected.map((e) => e.record.id), record.id]);
      say(`Imported ${file.name}: ${record.label}, ${isGameRecord(record) ? `${record.game.iterations.length} iterations` : `${record.metrics.steps.length} steps`}; it is ticked and drawn ${overlay === "page" ? `on ${chartName}` : "below"}.`);
    } catch (e) {
      say(`${(e as Error).message}. Nothing was imported.`, true);
    }
  };
  keep.onchange = async () => {
    try {
      await library.setKeep(keep.checked);
      say(keep.checked ? "These runs, and every run from now on, are kept in this browser (IndexedDB) until you untick this." : "Runs are no longer kept in this browser; this tab keeps them until it closes.");
    } catch (e) {
      say(`This browser would not keep the runs: ${(e as Error).message}`, true);
    }
  };

  let shown = "";
  let chartWidth = 640;
  const drawChart = () => {
    const records = library.selected.map((e) => e.record);
    const setups = new Set(records.map(runSetup));
    const labels = overlayLabels(records);
    chartBox.dataset.runs = JSON.stringify(labels);
    if (overlay === "page") {
      chartBox.replaceChildren(
        html`<p class="stlm-status">${records.length === 0 ? `Tick runs in the table to draw them on ${chartName}.` : `${records.length} ticked run${records.length === 1 ? " is" : "s are"} drawn on ${chartName}${setups.size > 1 ? `: not the same setup (${[...setups].join("; ")}), so the curves differ by more than their seeds` : ""}.`}</p>` as HTMLElement
      );
      return;
    }
    chartBox.replaceChildren(
      records.length === 0
        ? (html`<p class="stlm-status">Tick runs in the table to overlay them here.</p>` as HTMLElement)
        : (html`<div>
            <h3>${records.length} run${records.length === 1 ? "" : "s"} overlaid${setups.size > 1 ? `: not the same setup (${[...setups].join("; ")}), so the curves differ by more than their seeds` : `, all ${[...setups][0]}`}</h3>
            ${RunsOverlay(records, { width: chartWidth })}
          </div>` as HTMLElement)
    );
  };
  const render = () => {
    keep.checked = library.keep;
    const rows = runRows(precomputed === "last" ? [...library.list.filter((e) => e.source !== "precomputed"), ...library.list.filter((e) => e.source === "precomputed")] : library.list);
    const key = JSON.stringify([rows, library.selected.map((e) => e.record.id)]);
    if (library.note) say(library.note, true);
    if (key === shown) return;
    shown = key;
    const selectedIds = new Set(library.selected.map((e) => e.record.id));
    const data = aq.from(rows).objects() as RunRow[];
    const table =
      rows.length === 0
        ? (html`<p class="stlm-status">No runs yet: press Run, or import a run file.</p>` as HTMLElement)
        : Inputs.table(data, {
            columns: kind === "game" ? ["label", "page", "diff", "seed", "steps", "lastEval", "backend", "date"] : ["label", "page", "diff", "seed", "steps", "trainBpb", "valBpb", "tokensPerSecond", "backend", "date"],
            header: { label: "run", page: "page", diff: "settings vs the first run", seed: "seed", steps: kind === "game" ? "iterations" : "steps", trainBpb: "train loss (bits/byte)", valBpb: "val bits/byte", tokensPerSecond: "bytes/s", backend: "backend", date: "started (UTC)", lastEval: "last evaluation (win, draw, loss; illegal moves)" },
            format: { trainBpb: fixed(3), valBpb: fixed(3), tokensPerSecond: (x: number | null) => (x === null ? "–" : Math.round(x).toLocaleString("en-US")), seed: (x: number) => String(x) },
            value: data.filter((r) => selectedIds.has(r.id)),
            required: false,
            multiple: true,
            rows: 8.5,
            layout: "auto"
          });
    if (rows.length) {
      table.addEventListener("input", () => library.select(((table as HTMLElement & { value: RunRow[] }).value).map((r) => r.id)));
      table.dataset.rows = String(rows.length);
    }
    tableBox.replaceChildren(table);
    drawChart();
  };
  const unsubscribe = library.subscribe(render);
  const resized = new ResizeObserver(() => {
    const w = Math.max(280, Math.floor(chartBox.clientWidth));
    if (Math.abs(w - chartWidth) > 8) {
      chartWidth = w;
      if (library.selected.length && overlay === "own") drawChart();
    }
  });
  resized.observe(chartBox);

  const root = html`<div class="stlm-runs">
    ${tableBox}
    <div class="stlm-buttons">${remove}${json}${csv}</div>
    <div class="stlm-buttons"><span>Import a run file:</span>${fileInput}</div>
    <div class="stlm-buttons">${keepLabel}</div>
    ${status}
    ${chartBox}
  </div>` as HTMLElement & { dispose(): void };
  root.dispose = () => {
    unsubscribe();
    resized.disconnect();
  };
  return root;
}
