// A page's settings in its URL query: each page declares its settings once (name,
// type, allowed values or range, default), and these pure functions read them from a
// query string and write them back. A value that is missing takes the default; one
// that is junk or stale (a preset that no longer exists, a seed that is not a whole
// number) takes the default too, with a note saying so — never an error.
//
// No DOM: unit-tested in Node (test/unit/url-settings.test.ts). The glue that reads
// location and writes history is url-state.ts.
import { describeRule, parseSetting, type SettingRule } from "./number-input.js";

export type SettingValue = string | number | boolean | readonly string[];
export type SettingValues = Record<string, SettingValue>;
/** A fixed value, or one computed from the settings declared before it (a preset's learning rate). */
export type Dependent<T> = T | ((earlier: SettingValues) => T);

interface Common<D> {
  /** The query parameter's name. */
  key: string;
  default: Dependent<D>;
  /**
   * Settings declared earlier whose change resets this one to its default (a new preset
   * brings its own learning rate). Applied by the page's UrlState, not by parsing.
   */
  dependsOn?: readonly string[];
}

/** A number in a range, parsed exactly as the page's number boxes parse it (number-input.ts). */
export interface NumberSetting extends Common<number>, Omit<SettingRule, "label"> {
  kind: "number";
}
/** One of a list (a select or radio): written as String(value). */
export interface ChoiceSetting extends Common<string | number | boolean> {
  kind: "choice";
  values: Dependent<readonly (string | number | boolean)[]>;
}
/** On or off (a toggle): written as true / false; 1/0, yes/no and on/off are read too. */
export interface FlagSetting extends Common<boolean> {
  kind: "flag";
}
/** Any number of a list (checkboxes): written comma-separated, in the list's order. */
export interface ListSetting extends Common<readonly string[]> {
  kind: "list";
  values: readonly string[];
}
/** Free text up to a length (a prompt, a text to look at). */
export interface TextSetting extends Common<string> {
  kind: "text";
  maxLength: number;
}

export type Setting = NumberSetting | ChoiceSetting | FlagSetting | ListSetting | TextSetting;
export type PageSettings = readonly Setting[];

export interface ParsedSettings {
  values: SettingValues;
  /** One sentence per value that was refused or ignored, keyed by the setting (or unknown parameter). */
  notes: { key: string; text: string }[];
}

const resolve = <T>(d: Dependent<T>, earlier: SettingValues): T =>
  typeof d === "function" ? (d as (e: SettingValues) => T)(earlier) : d;

/** The default of `setting` given the values of the settings before it. */
export function defaultOf(setting: Setting, earlier: SettingValues): SettingValue {
  return resolve(setting.default as Dependent<SettingValue>, earlier);
}

/** The allowed values of a choice or list setting given the settings before it. */
export function choicesOf(setting: ChoiceSetting | ListSetting, earlier: SettingValues): readonly (string | number | boolean)[] {
  return setting.kind === "list" ? setting.values : resolve(setting.values, earlier);
}

/** How a value reads in the query (and in notes). */
export function encodeValue(setting: Setting, value: SettingValue): string {
  if (setting.kind === "list") return canonicalList(setting, value).join(",");
  return String(value);
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function shown(raw: string): string {
  return raw.length > 24 ? `${raw.slice(0, 23)}…` : raw;
}

function listWords(values: readonly (string | number | boolean)[]): string {
  const words = values.map(String);
  if (words.length > 8) return `${words.slice(0, 7).join(", ")}, … (${words.length} in all)`;
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;
}

type Decoded = { ok: true; value: SettingValue } | { ok: false; why: string };

/** Reads one raw query value; a refusal says what was wanted ("is not a whole number from 0 to 10"). */
export function decodeValue(setting: Setting, raw: string, earlier: SettingValues): Decoded {
  switch (setting.kind) {
    case "number": {
      const rule: SettingRule = { ...setting, label: setting.key };
      const r = parseSetting(raw, rule);
      return r.ok ? { ok: true, value: r.value } : { ok: false, why: `is not ${describeRule(rule)}` };
    }
    case "choice": {
      const values = choicesOf(setting, earlier);
      const hit = values.find((v) => String(v) === raw);
      return hit !== undefined ? { ok: true, value: hit } : { ok: false, why: `is not one of ${listWords(values)}` };
    }
    case "flag": {
      const t = raw.trim().toLowerCase();
      if (TRUE.has(t)) return { ok: true, value: true };
      if (FALSE.has(t)) return { ok: true, value: false };
      return { ok: false, why: "is not true or false" };
    }
    case "list": {
      const parts = raw === "" ? [] : raw.split(",").map((p) => p.trim());
      const unknown = parts.filter((p) => !setting.values.includes(p));
      if (unknown.length) return { ok: false, why: `names ${unknown.map((u) => `"${shown(u)}"`).join(", ")}, not among ${listWords(setting.values)}` };
      return { ok: true, value: setting.values.filter((v) => parts.includes(v)) };
    }
    case "text":
      return raw.length <= setting.maxLength
        ? { ok: true, value: raw }
        : { ok: false, why: `is longer than ${setting.maxLength.toLocaleString("en-US")} characters` };
  }
}

function describeDefault(setting: Setting, value: SettingValue): string {
  if (setting.kind === "text") return value === "" ? "an empty text" : "the default text";
  if (setting.kind === "list") return (value as readonly string[]).length ? encodeValue(setting, value) : "none";
  return String(value);
}

/**
 * The page's settings from a query string ("?seed=3&preset=micro" or its URLSearchParams):
 * every declared setting gets a value; refused values and unknown parameters get a note.
 */
export function parseSettings(settings: PageSettings, query: string | URLSearchParams): ParsedSettings {
  const params = typeof query === "string" ? new URLSearchParams(query) : query;
  const values: SettingValues = {};
  const notes: ParsedSettings["notes"] = [];
  for (const setting of settings) {
    const fallback = defaultOf(setting, values);
    const raw = params.get(setting.key);
    if (raw === null) {
      values[setting.key] = fallback;
      continue;
    }
    const r = decodeValue(setting, raw, values);
    if (r.ok) values[setting.key] = r.value;
    else {
      values[setting.key] = fallback;
      notes.push({ key: setting.key, text: `${setting.key}=${shown(raw)} ${r.why}; using ${describeDefault(setting, fallback)}.` });
    }
  }
  const known = new Set(settings.map((s) => s.key));
  for (const key of new Set(params.keys())) {
    if (!known.has(key)) notes.push({ key, text: `${shown(key)} is not a setting of this page; ignored.` });
  }
  return { values, notes };
}

function sameValue(a: SettingValue, b: SettingValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** A list's members in the declared order (how checkboxes report them). */
function canonicalList(setting: ListSetting, value: SettingValue): readonly string[] {
  const chosen = new Set(value as readonly string[]);
  return setting.values.filter((v) => chosen.has(v));
}

// Commas stay readable in a list ("models=bytes,stride"); everything else is percent-encoded.
const encodePart = (s: string) => encodeURIComponent(s).replace(/%2C/gi, ",");

/**
 * The query ("?steps=500&seed=2", or "" when everything is at its default) that
 * parseSettings reads back as `values`. Settings at their default are left out, so a
 * link names only what it changes.
 */
export function settingsQuery(settings: PageSettings, values: Partial<SettingValues>): string {
  const full: SettingValues = {};
  const parts: string[] = [];
  for (const setting of settings) {
    const fallback = defaultOf(setting, full);
    const given = values[setting.key] ?? fallback;
    const v = setting.kind === "list" ? canonicalList(setting, given) : given;
    full[setting.key] = v;
    if (!sameValue(v, setting.kind === "list" ? canonicalList(setting, fallback) : fallback)) {
      parts.push(`${encodePart(setting.key)}=${encodePart(encodeValue(setting, v))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/**
 * Whether one setting can carry `value` in a link, given the current values of the
 * settings before it: the refusal, or null.
 */
export function checkValue(settings: PageSettings, key: string, value: SettingValue, current: SettingValues): string | null {
  const i = settings.findIndex((s) => s.key === key);
  if (i < 0) return `${key} is not a setting of this page`;
  const setting = settings[i];
  const earlier = Object.fromEntries(settings.slice(0, i).map((s) => [s.key, current[s.key]]));
  const r = decodeValue(setting, encodeValue(setting, value), earlier);
  if (!r.ok) return `${key}=${encodeValue(setting, value)} ${r.why}`;
  return sameValue(r.value, setting.kind === "list" ? canonicalList(setting, value) : value) ? null : `${key}=${encodeValue(setting, value)} does not read back as itself`;
}

/**
 * Checks values a page asks for in code (an exercise's configuration): each must name a
 * declared setting and be one it accepts. Returns the refusals; empty when all are valid.
 */
export function checkValues(settings: PageSettings, values: Partial<SettingValues>): string[] {
  const out: string[] = [];
  const known = new Set(settings.map((s) => s.key));
  for (const key of Object.keys(values)) if (!known.has(key)) out.push(`${key} is not a setting of this page`);
  const full: SettingValues = {};
  for (const setting of settings) {
    const v = values[setting.key];
    if (v === undefined) {
      full[setting.key] = defaultOf(setting, full);
      continue;
    }
    const r = decodeValue(setting, encodeValue(setting, v), full);
    if (!r.ok || !sameValue(r.value, setting.kind === "list" ? canonicalList(setting, v) : v)) {
      out.push(`${setting.key}=${encodeValue(setting, v)} ${r.ok ? "does not read back as itself" : r.why}`);
    }
    full[setting.key] = v;
  }
  return out;
}
