// The reader's own training text: paste it, or drop / choose a .txt file. The
// element's value is {text, name} when the text is usable, or {error} saying why
// not (lib/text/tokenizer.ts decodeUserBytes: empty, whitespace only, not UTF-8).
import { html } from "htl";
import { decodeUserBytes, encodeText } from "../lib/text/tokenizer.js";

export type TextSourceValue = { text: string; name: string; bytes: number; error?: undefined } | { error: string; text?: undefined };

export function TextSource(): HTMLElement & { value: TextSourceValue } {
  const area = html`<textarea rows="6" placeholder="Paste text here (a few hundred kilobytes trains best), or drop a .txt file on this box." aria-label="Your own training text"></textarea>` as HTMLTextAreaElement;
  const file = html`<input type="file" accept=".txt,text/plain" aria-label="Choose a text file">` as HTMLInputElement;
  const note = html`<p class="stlm-status" role="status"></p>` as HTMLElement;
  const root = html`<div class="stlm-text-source">${area}<div class="stlm-buttons"><span>or choose a file:</span>${file}</div>${note}</div>` as HTMLElement & {
    value: TextSourceValue;
  };

  const set = (bytes: Uint8Array, name: string) => {
    try {
      const text = decodeUserBytes(bytes, name);
      root.value = { text, name, bytes: bytes.byteLength };
      note.textContent = `${name}: ${bytes.byteLength.toLocaleString("en-US")} bytes of UTF-8 text; the last 10% is held out for validation.`;
      note.classList.remove("stlm-error");
    } catch (e) {
      root.value = { error: e instanceof Error ? e.message : String(e) };
      note.textContent = root.value.error;
      note.classList.add("stlm-error");
    }
    root.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const readFile = async (f: File) => {
    set(new Uint8Array(await f.arrayBuffer()), f.name);
    area.value = "";
  };

  root.value = { error: "Paste some text or choose a .txt file first." };
  area.addEventListener("input", (e) => {
    e.stopPropagation();
    set(encodeText(area.value), "the pasted text");
  });
  file.addEventListener("input", (e) => e.stopPropagation());
  file.addEventListener("change", () => {
    const f = file.files?.[0];
    if (f) void readFile(f);
  });
  area.addEventListener("dragover", (e) => e.preventDefault());
  area.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) void readFile(f);
  });
  return root;
}
