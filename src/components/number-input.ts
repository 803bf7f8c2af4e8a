// Numeric settings the reader types: one parser and one control for every page.
//
// parseSetting reads exactly what is in the box: decimal notation only (an
// exponent is fine: "1e-3"), nothing silently rounded, clamped or replaced by a
// default. NumberInput shows the rule's message beside the box the moment the
// text breaks it, and its value is then undefined, so a page can never run with
// a number other than the one it shows. disableWhileInvalid keeps the buttons
// that would use the values disabled until every one is valid.
//
// Plain DOM, no htl: the parser is unit-tested in Node (test/unit/number-input.test.ts).

export interface SettingRule {
  /** The setting's name as the page shows it; messages start with it ("Steps must be …"). */
  label: string;
  min?: number;
  max?: number;
  /** The bound itself is refused (learning rate: greater than 0, less than 1). */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  /** Whole numbers only. */
  integer?: boolean;
}

export type ParsedSetting = { ok: true; value: number } | { ok: false; message: string };

// Optional sign, digits with an optional fraction (or a bare fraction), optional exponent.
// Refuses hex ("0x10"), "Infinity", "NaN", separators ("1,000", "1_000") and words.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const formatBound = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 20 });

/** The rule in words: "a whole number from 1 to 20,000", "a number greater than 0 and less than 1". */
export function describeRule(rule: SettingRule): string {
  const kind = rule.integer ? "a whole number" : "a number";
  const { min, max } = rule;
  const hasMin = min !== undefined && Number.isFinite(min);
  const hasMax = max !== undefined && Number.isFinite(max);
  if (hasMin && hasMax && !rule.minExclusive && !rule.maxExclusive) return `${kind} from ${formatBound(min)} to ${formatBound(max)}`;
  const parts: string[] = [];
  if (hasMin) parts.push(rule.minExclusive ? `greater than ${formatBound(min)}` : `of at least ${formatBound(min)}`);
  if (hasMax) parts.push(rule.maxExclusive ? `less than ${formatBound(max)}` : `at most ${formatBound(max)}`);
  return parts.length ? `${kind} ${parts.join(" and ")}` : kind;
}

function quote(text: string): string {
  return `"${text.length > 24 ? `${text.slice(0, 23)}…` : text}"`;
}

/** Parses what the reader typed against a rule; a refusal's message states the rule. */
export function parseSetting(text: string, rule: SettingRule): ParsedSetting {
  const t = text.trim();
  const must = `${rule.label} must be ${describeRule(rule)}`;
  if (t === "") return { ok: false, message: `${must}; the box is empty.` };
  const refuse = { ok: false as const, message: `${must}, not ${quote(t)}.` };
  if (!DECIMAL.test(t)) return refuse;
  let value = Number(t);
  if (!Number.isFinite(value)) return refuse;
  if (Object.is(value, -0)) value = 0;
  if (rule.integer && !Number.isInteger(value)) return refuse;
  const { min, max } = rule;
  if (min !== undefined && (rule.minExclusive ? !(value > min) : !(value >= min))) return refuse;
  if (max !== undefined && (rule.maxExclusive ? !(value < max) : !(value <= max))) return refuse;
  return { ok: true, value };
}

export interface NumberInputOptions extends SettingRule {
  /** The starting value (shown as String(value)). */
  value?: number;
  /** ArrowUp / ArrowDown add or take this much (the box is then a spinbutton); the slider moves in these steps too. */
  step?: number;
  /** A short line under the box, always shown. */
  help?: string;
  /**
   * A slider beside the box, over [min, max] (true) or the given span; `log` spaces it
   * logarithmically. The box stays the value's source: the slider writes into it.
   */
  slider?: boolean | { min: number; max: number; log?: boolean };
  /** Width of the text box (CSS), 7em by default. */
  width?: string;
}

export type NumberInputElement = HTMLElement & {
  /** The parsed number, or undefined while the text breaks the rule. */
  value: number | undefined;
  /** The refusal's message, or "" when the value is valid. */
  readonly message: string;
  readonly rule: SettingRule;
  /** The text box. */
  readonly input: HTMLInputElement;
};

let nextId = 0;

const decimalsOf = (x: number) => {
  const s = String(x);
  const e = /e-(\d+)$/.exec(s);
  if (e) return Number(e[1]);
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : s.length - dot - 1;
};

/**
 * A labelled box for one number. Dispatches "input" at every change, valid or not
 * (Framework's view() and Generators.input read `.value`), and shows the rule's
 * message (role="alert", tied to the box with aria-describedby) while the text breaks it.
 */
export function NumberInput(options: NumberInputOptions): NumberInputElement {
  const { label, value: initial, step, help, slider, width = "7em" } = options;
  const rule: SettingRule = {
    label,
    min: options.min,
    max: options.max,
    minExclusive: options.minExclusive,
    maxExclusive: options.maxExclusive,
    integer: options.integer
  };
  const id = `stlm-number-${++nextId}`;
  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string) => {
    const e = document.createElement(tag);
    if (className) e.className = className;
    return e;
  };

  const root = el("div", "stlm-number") as unknown as NumberInputElement;
  const labelEl = el("label");
  labelEl.htmlFor = id;
  labelEl.textContent = label;
  const body = el("div", "stlm-number-body");
  const row = el("div", "stlm-number-row");
  const input = el("input");
  input.type = "text";
  input.id = id;
  input.inputMode = rule.integer && !(rule.min !== undefined && rule.min < 0) ? "numeric" : "decimal";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.style.width = width;
  if (step !== undefined) {
    input.setAttribute("role", "spinbutton");
    if (rule.min !== undefined && Number.isFinite(rule.min)) input.setAttribute("aria-valuemin", String(rule.min));
    if (rule.max !== undefined && Number.isFinite(rule.max)) input.setAttribute("aria-valuemax", String(rule.max));
  }
  const message = el("p", "stlm-number-message");
  message.id = `${id}-message`;
  message.setAttribute("role", "alert");
  const described = [message.id];
  row.append(input);

  let range: HTMLInputElement | null = null;
  let toSlider = (v: number) => v;
  let fromSlider = (x: number) => x;
  if (slider) {
    const span = slider === true ? { min: rule.min ?? 0, max: rule.max ?? 1, log: false } : slider;
    range = el("input");
    range.type = "range";
    // A pointer convenience: the box is the accessible control (and takes the arrow keys).
    range.tabIndex = -1;
    range.setAttribute("aria-hidden", "true");
    if (span.log) {
      toSlider = Math.log;
      fromSlider = (x) => Number(Math.exp(x).toPrecision(2));
      range.min = String(Math.log(span.min));
      range.max = String(Math.log(span.max));
      range.step = "any";
    } else {
      const base = span.min;
      const unit = step ?? (rule.integer ? 1 : undefined);
      fromSlider = unit === undefined ? (x) => x : (x) => Number((base + Math.round((x - base) / unit) * unit).toFixed(decimalsOf(unit)));
      range.min = String(span.min);
      range.max = String(span.max);
      range.step = unit === undefined ? "any" : String(unit);
    }
    range.disabled = !(span.max > span.min);
    row.append(range);
  }
  body.append(row);
  if (help) {
    const helpEl = el("p", "stlm-number-help");
    helpEl.id = `${id}-help`;
    helpEl.textContent = help;
    body.append(helpEl);
    described.unshift(helpEl.id);
  }
  body.append(message);
  input.setAttribute("aria-describedby", described.join(" "));
  root.append(labelEl, body);

  let parsed: ParsedSetting = { ok: false, message: "" };
  const check = () => {
    parsed = parseSetting(input.value, rule);
    root.dataset.valid = String(parsed.ok);
    message.textContent = parsed.ok ? "" : parsed.message;
    message.hidden = parsed.ok;
    if (parsed.ok) {
      input.removeAttribute("aria-invalid");
      if (step !== undefined) input.setAttribute("aria-valuenow", String(parsed.value));
      if (range) range.valueAsNumber = toSlider(parsed.value);
    } else {
      input.setAttribute("aria-invalid", "true");
      input.removeAttribute("aria-valuenow");
    }
  };
  const write = (v: number) => {
    input.value = String(v);
    check();
  };
  const announce = () => input.dispatchEvent(new Event("input", { bubbles: true }));

  input.addEventListener("input", check);
  range?.addEventListener("input", (e) => {
    // The slider's own event stops here; the box announces the value it now holds.
    e.stopPropagation();
    write(fromSlider(range!.valueAsNumber));
    announce();
  });
  input.addEventListener("keydown", (e) => {
    if (step === undefined || (e.key !== "ArrowUp" && e.key !== "ArrowDown") || !parsed.ok) return;
    e.preventDefault();
    let v = Number((parsed.value + (e.key === "ArrowUp" ? step : -step)).toFixed(Math.max(decimalsOf(step), decimalsOf(parsed.value))));
    if (rule.max !== undefined && !rule.maxExclusive) v = Math.min(rule.max, v);
    if (rule.min !== undefined && !rule.minExclusive) v = Math.max(rule.min, v);
    if (!parseSetting(String(v), rule).ok) return;
    write(v);
    announce();
  });

  Object.defineProperties(root, {
    value: {
      get: () => (parsed.ok ? parsed.value : undefined),
      // Like Inputs: setting the value from code writes the box and dispatches nothing.
      set: (v: number) => write(v)
    },
    message: { get: () => (parsed.ok ? "" : parsed.message) },
    rule: { value: rule },
    input: { value: input }
  });
  if (initial !== undefined) write(initial);
  else check();
  return root;
}

export interface DisableWhileInvalidOptions {
  /** Filled with what to fix while a setting is invalid; emptied once all are valid. */
  note?: HTMLElement;
  /** Whether a button would be enabled were every setting valid (for buttons that have their own rule). */
  enabled?: (button: HTMLButtonElement) => boolean;
  /**
   * Other elements whose input events can change `enabled`: checked again at each, after
   * the handlers the element already had (an Inputs box's own, which sets its button).
   */
  watch?: readonly EventTarget[];
}

/**
 * Keeps `buttons` disabled while any of `settings` is invalid. Returns a function
 * that removes the listeners; `refresh` applies the rule again by hand.
 */
export function disableWhileInvalid(
  buttons: readonly (HTMLButtonElement | null | undefined)[],
  settings: readonly NumberInputElement[],
  { note, enabled = () => true, watch = [] }: DisableWhileInvalidOptions = {}
): { refresh(): void; dispose(): void } {
  const targets = buttons.filter((b): b is HTMLButtonElement => b != null);
  const refresh = () => {
    const bad = settings.filter((s) => s.value === undefined).map((s) => s.rule.label);
    for (const b of targets) b.disabled = bad.length > 0 || !enabled(b);
    if (note) {
      note.textContent = bad.length ? `Fix ${listOf(bad)} above to continue.` : "";
      note.hidden = bad.length === 0;
    }
  };
  for (const s of settings) s.addEventListener("input", refresh);
  for (const w of watch) w.addEventListener("input", refresh);
  refresh();
  return {
    refresh,
    dispose: () => {
      for (const s of settings) s.removeEventListener("input", refresh);
      for (const w of watch) w.removeEventListener("input", refresh);
    }
  };
}

function listOf(names: readonly string[]): string {
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/**
 * The values of named settings, read at the moment of use; throws the first
 * refusal's message when one is invalid (a button that calls this should already be
 * disabled, so this is the last guard, never a silent default).
 */
export function settingValues<K extends string>(settings: Record<K, NumberInputElement>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of Object.keys(settings) as K[]) {
    const v = settings[key].value;
    if (v === undefined) throw new Error(settings[key].message);
    out[key] = v;
  }
  return out;
}
