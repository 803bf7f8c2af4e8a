// Checkpoint controls: download the current model, keep it in this browser
// (IndexedDB), or load one back from the browser or from a file.
import { html } from "htl";
import { formatCount } from "./format.js";
import { deleteCheckpoint, downloadBytes, listCheckpoints, loadCheckpoint, saveCheckpoint } from "./checkpoint-store.js";
import type { RunHandle } from "./live-run.js";
import { CHECKPOINT_RECORD_KEY, withCheckpoint } from "../lib/runs/build.js";
import type { RunRecord } from "../lib/runs/record.js";
import { savedStateNote } from "./resume-card.js";

export interface CheckpointPanelOptions {
  /** The record of the run the model comes from (runs-library.ts); a downloaded checkpoint carries it in its metadata. */
  runRecord?: () => RunRecord | null;
  /** Called with that record and the downloaded file's SHA-256 and size. */
  onDownloaded?: (record: RunRecord) => void;
}

export function CheckpointPanel(run: RunHandle, { runRecord, onDownloaded }: CheckpointPanelOptions = {}): HTMLElement {
  const status = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const saved = html`<select aria-label="Checkpoints saved in this browser"></select>` as HTMLSelectElement;
  const fileInput = html`<input type="file" accept=".safetensors,.stlm,application/octet-stream" aria-label="Load a checkpoint file">` as HTMLInputElement;

  const say = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle("stlm-error", error);
  };
  const guard = (work: () => Promise<string>) => async () => {
    try {
      say("…");
      say(await work());
    } catch (e) {
      say(e instanceof Error ? e.message : String(e), true);
    }
  };
  const baseName = () => (run.state.label || "model").replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  const refresh = async () => {
    const list = await listCheckpoints().catch(() => []);
    saved.replaceChildren(
      ...(list.length === 0
        ? [html`<option value="">(none saved yet)</option>` as HTMLOptionElement]
        : list.map(
            (c) =>
              html`<option value=${c.name}>${c.name} — ${c.label}, ${formatCount(c.bytes)}B, ${c.savedAt.slice(0, 16).replace("T", " ")}</option>` as HTMLOptionElement
          ))
    );
  };

  const download = html`<button type="button">Download checkpoint</button>` as HTMLButtonElement;
  download.onclick = guard(async () => {
    const record = runRecord?.() ?? null;
    const bytes = await run.checkpointBytes(record ? { [CHECKPOINT_RECORD_KEY]: record } : {});
    const file = `${baseName()}.safetensors`;
    downloadBytes(bytes, file);
    if (record) onDownloaded?.(withCheckpoint(record, bytes));
    return `Downloaded ${file} (${formatCount(bytes.byteLength)}B)${record ? ", with its run record" : ""}, ${savedStateNote(bytes)}.`;
  });

  const save = html`<button type="button">Save in this browser</button>` as HTMLButtonElement;
  save.onclick = guard(async () => {
    // The run's record travels with it, so loading it again puts the run back in the runs table.
    const record = runRecord?.() ?? null;
    const bytes = await run.checkpointBytes(record ? { [CHECKPOINT_RECORD_KEY]: record } : {});
    const name = `${baseName()}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}`;
    await saveCheckpoint(name, bytes, run.state.label || "model");
    await refresh();
    saved.value = name;
    return `Saved "${name}" in this browser (${formatCount(bytes.byteLength)}B), ${savedStateNote(bytes)}.`;
  });

  const load = html`<button type="button">Load</button>` as HTMLButtonElement;
  load.onclick = guard(async () => {
    if (!saved.value) throw new Error("Nothing saved in this browser yet.");
    await run.load(await loadCheckpoint(saved.value), saved.value);
    return `Loaded "${saved.value}".`;
  });

  const remove = html`<button type="button">Delete</button>` as HTMLButtonElement;
  remove.onclick = guard(async () => {
    if (!saved.value) throw new Error("Nothing saved in this browser yet.");
    const name = saved.value;
    await deleteCheckpoint(name);
    await refresh();
    return `Deleted "${name}".`;
  });

  fileInput.onchange = guard(async () => {
    const file = fileInput.files?.[0];
    if (!file) return "";
    try {
      await run.load(new Uint8Array(await file.arrayBuffer()), file.name);
    } finally {
      fileInput.value = ""; // so choosing the same file again (fixed, say) is seen as a change
    }
    return `Loaded ${file.name}.`;
  });

  void refresh();
  return html`<div class="stlm-checkpoints">
    <div class="stlm-buttons">${download}${save}</div>
    <div class="stlm-buttons"><span>Saved in this browser:</span>${saved}${load}${remove}</div>
    <div class="stlm-buttons"><span>Load a checkpoint file:</span>${fileInput}</div>
    ${status}
  </div>` as HTMLElement;
}
