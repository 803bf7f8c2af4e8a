// The glue between a page's declared settings (url-settings.ts) and the browser: reads
// them from location.search when the page opens, writes them back with
// history.replaceState (no reload) as the reader changes a control, and draws the
// notes for refused values, the "copy link" control and the exercises' links.
//
// A page makes one UrlState in a cell of its own, gives each control its start value
// with url.get(key), and wraps the control in url.bind(key, control). Opening a link
// sets the controls; it never starts a run.
import { html } from "htl";
import {
  checkValue,
  checkValues,
  defaultOf,
  encodeValue,
  parseSettings,
  settingsQuery,
  type PageSettings,
  type SettingValue,
  type SettingValues
} from "./url-settings.js";

type Control = HTMLElement & { value: unknown };

export class UrlState {
  readonly settings: PageSettings;
  /** The notes of the query the page opened with; one goes when the reader changes its setting. */
  notes: { key: string; text: string }[];
  private values: SettingValues;
  /** The settings whose value the opening link gave. */
  private fromLink: Set<string>;
  private listeners = new Set<() => void>();

  constructor(settings: PageSettings, search: string = globalThis.location?.search ?? "") {
    this.settings = settings;
    const parsed = parseSettings(settings, search);
    this.values = parsed.values;
    this.notes = parsed.notes;
    const given = new URLSearchParams(search);
    this.fromLink = new Set(settings.map((s) => s.key).filter((k) => given.has(k) && !parsed.notes.some((n) => n.key === k)));
    // The address now says what the page shows: junk and unknown parameters are dropped.
    this.write();
  }

  get<T extends SettingValue = SettingValue>(key: string): T {
    if (!(key in this.values)) throw new Error(`${key} is not a declared setting of this page`);
    return this.values[key] as T;
  }

  /** All current values (a copy). */
  all(): SettingValues {
    return { ...this.values };
  }

  /**
   * Records a new value; the settings that depend on `key` go back to their defaults
   * (as the page's cells rebuild those controls), and the address is rewritten.
   */
  set(key: string, value: SettingValue): void {
    if (!(key in this.values)) throw new Error(`${key} is not a declared setting of this page`);
    this.values[key] = value;
    const changed = new Set([key]);
    const earlier: SettingValues = {};
    for (const s of this.settings) {
      if (s.dependsOn?.some((d) => changed.has(d))) {
        this.values[s.key] = defaultOf(s, earlier);
        changed.add(s.key);
      }
      earlier[s.key] = this.values[s.key];
    }
    this.notes = this.notes.filter((n) => !changed.has(n.key));
    for (const k of changed) this.fromLink.delete(k);
    this.write();
  }

  /**
   * For a check only the page can make (a value its data does not have): replaces the
   * setting's value with `fallback`, with a note when the value came from the link
   * ("budget=45 is not a budget of the precomputed runs; using 90."). Returns `fallback`.
   */
  refuse<T extends SettingValue>(key: string, why: string, fallback: T): T {
    const asked = this.get(key);
    if (this.fromLink.has(key)) {
      const setting = this.settings.find((s) => s.key === key)!;
      this.notes = [...this.notes.filter((n) => n.key !== key), { key, text: `${key}=${encodeValue(setting, asked)} ${why}; using ${encodeValue(setting, fallback)}.` }];
      this.fromLink.delete(key);
    }
    this.values[key] = fallback;
    this.write();
    return fallback;
  }

  /**
   * Follows a control: each input event records its value (a number box that holds an
   * invalid text, value undefined, changes nothing). Returns the control.
   */
  bind<C extends Control>(key: string, control: C): C {
    this.get(key);
    control.addEventListener("input", () => {
      const v = control.value as SettingValue | undefined | null;
      // A box holding an invalid text, or a text too long for a link, leaves the address as it was.
      if (v === undefined || v === null || checkValue(this.settings, key, v, this.values) !== null) return;
      this.set(key, v);
    });
    return control;
  }

  /** The query for the current values ("" when all are at their defaults). */
  query(): string {
    return settingsQuery(this.settings, this.values);
  }

  /** This page's address with the current settings. */
  href(): string {
    const { origin, pathname, hash } = globalThis.location;
    return `${origin}${pathname}${this.query()}${hash}`;
  }

  /** The link that opens this page with `values` set (the others at their defaults); refuses values the page would not accept. */
  linkTo(values: Partial<SettingValues>): string {
    const bad = checkValues(this.settings, values);
    if (bad.length) throw new Error(`A link on this page asks for settings it does not have: ${bad.join("; ")}.`);
    return `${globalThis.location.pathname}${settingsQuery(this.settings, values)}`;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(): void {
    const loc = globalThis.location;
    if (loc && globalThis.history) {
      const next = `${loc.pathname}${this.query()}${loc.hash}`;
      if (next !== `${loc.pathname}${loc.search}${loc.hash}`) globalThis.history.replaceState(globalThis.history.state, "", next);
    }
    for (const l of this.listeners) l();
  }
}

/**
 * The notes for the values this page's link asked for and could not use, and a
 * "Copy link" button with the link to the current settings beside it. Empty notes hide.
 */
export function SettingsLink(url: UrlState): HTMLElement {
  const notes = html`<ul class="stlm-url-notes" role="status"></ul>` as HTMLElement;
  const field = html`<input class="stlm-url-field" type="text" readonly aria-label="Link to this page with these settings">` as HTMLInputElement;
  const button = html`<button type="button" class="stlm-copy-link">Copy link</button>` as HTMLButtonElement;
  const said = html`<span class="stlm-status" role="status" aria-live="polite"></span>` as HTMLElement;
  const root = html`<div class="stlm-url-state">
    ${notes}
    <div class="stlm-buttons">${button}${field}${said}</div>
  </div>` as HTMLElement;
  const draw = () => {
    notes.replaceChildren(...url.notes.map((n) => html`<li class="stlm-url-note" data-key=${n.key}>${n.text}</li>` as HTMLElement));
    notes.hidden = url.notes.length === 0;
    if (url.notes.length) notes.prepend(html`<li class="stlm-url-note-head">This page's link asked for settings it cannot use:</li>` as HTMLElement);
    field.value = url.href();
    root.dataset.href = field.value;
    said.textContent = "";
  };
  button.onclick = async () => {
    draw();
    field.focus();
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      said.textContent = "Copied.";
    } catch {
      said.textContent = "This browser did not allow copying: the link is selected, copy it from the box.";
    }
  };
  url.subscribe(draw);
  draw();
  return root;
}

export interface Exercise {
  /** What to predict, as a question to the reader. */
  predict: string;
  /** The settings the exercise's link opens the page with (the others at their defaults). */
  set: Partial<SettingValues>;
  /** What to press once the page is open. */
  run: string;
  /** Where on the page the prediction is checked. */
  check: string;
}

/** The exercises at the end of a page: each a prediction, a link that sets the page up for it, and where to check. */
export function Exercises(url: UrlState, exercises: readonly Exercise[]): HTMLElement {
  return html`<ol class="stlm-exercises">${exercises.map((e, i) => html`<li data-exercise=${i + 1}>
    <p><strong>Predict:</strong> ${e.predict}</p>
    <p><a class="stlm-exercise-link" href=${url.linkTo(e.set)}>Set the page up for it</a>, then ${e.run}.</p>
    <details><summary>How to check</summary><p>${e.check}</p></details>
  </li>`)}</ol>` as HTMLElement;
}
