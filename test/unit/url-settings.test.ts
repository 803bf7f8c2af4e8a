// Every page's settings round-trip through its URL query (value → query → value),
// and junk or stale values fall back to the default with a note that says so.
import { test } from "node:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import assert from "node:assert/strict";
import config from "../../observablehq.config.js";
import { parseSetting } from "../../src/components/number-input.js";
import {
  checkValue,
  checkValues,
  choicesOf,
  defaultOf,
  parseSettings,
  settingsQuery,
  type PageSettings,
  type Setting,
  type SettingValue,
  type SettingValues
} from "../../src/components/url-settings.js";
import { INDEX_SETTINGS } from "../../src/components/settings/index.js";
import { TRAIN_SETTINGS } from "../../src/components/settings/train.js";
import { SHARING_SETTINGS } from "../../src/components/settings/sharing.js";
import { TOKENIZER_FREE_SETTINGS } from "../../src/components/settings/tokenizer-free.js";
import { OBJECTIVES_SETTINGS } from "../../src/components/settings/objectives.js";
import { DROPOUT_SETTINGS } from "../../src/components/settings/dropout.js";
import { DISTILLATION_SETTINGS } from "../../src/components/settings/distillation.js";
import { SELF_PLAY_SETTINGS } from "../../src/components/settings/self-play.js";
import { BENCH_SETTINGS } from "../../src/components/settings/bench.js";
import { EVALUATE_SETTINGS } from "../../src/components/settings/evaluate.js";

const PAGES: Record<string, PageSettings> = {
  "/": INDEX_SETTINGS,
  "/train": TRAIN_SETTINGS,
  "/sharing": SHARING_SETTINGS,
  "/tokenizer-free": TOKENIZER_FREE_SETTINGS,
  "/objectives": OBJECTIVES_SETTINGS,
  "/dropout": DROPOUT_SETTINGS,
  "/distillation": DISTILLATION_SETTINGS,
  "/self-play": SELF_PLAY_SETTINGS,
  "/bench": BENCH_SETTINGS,
  "/evaluate": EVALUATE_SETTINGS
};

/** The defaults of every setting, in order (each computed from the ones before it). */
function defaults(settings: PageSettings, fixed: Partial<SettingValues> = {}): SettingValues {
  const out: SettingValues = {};
  for (const s of settings) out[s.key] = fixed[s.key] ?? defaultOf(s, out);
  return out;
}

/** Values of one setting worth trying: every choice, both flags, the bounds of a range, awkward texts. */
function samples(s: Setting, earlier: SettingValues): SettingValue[] {
  switch (s.kind) {
    case "choice":
      return [...choicesOf(s, earlier)];
    case "flag":
      return [true, false];
    case "list":
      return [[], [...s.values], [s.values[0]], [s.values.at(-1)!], s.values.filter((_, i) => i % 2 === 1)];
    case "text":
      return ["", "a & b = c? #1 + 2% / ;,", "naïve — 日本語 👋", "  two  spaces  ", "line one\nline two", "x".repeat(s.maxLength), defaultOf(s, earlier)];
    case "number": {
      const rule = { ...s, label: s.key };
      const candidates = [s.min, s.max, defaultOf(s, earlier) as number, ((s.min ?? 0) + (s.max ?? 1)) / 2, (s.min ?? 0) + 1, 0.0003, 1e-7, 0.1 + 0.2, 123.456, 7];
      return [...new Set(candidates.filter((x): x is number => x !== undefined && parseSetting(String(x), rule).ok))];
    }
  }
}

/** Starting configurations: all defaults, and the defaults under each value of every setting another one depends on. */
function anchors(settings: PageSettings): SettingValues[] {
  const out = [defaults(settings)];
  const parents = new Set(settings.flatMap((s) => s.dependsOn ?? []));
  for (const key of parents) {
    const parent = settings.find((s) => s.key === key)!;
    for (const v of samples(parent, defaults(settings))) out.push(defaults(settings, { [key]: v }));
  }
  return out;
}

/** The page's source: src/PATH.md (the site's root is src/; "/" is src/index.md). */
function pageSource(path: string): string {
  return readFileSync(join(import.meta.dirname, "..", "..", "src", `${path === "/" ? "index" : path.slice(1)}.md`), "utf8");
}

// A control a reader sets: any Inputs input but a table, a number box, or view() of anything.
const CONTROL = /\bview\(|\bNumberInput\(|\bInputs\.(?!table\b)\w+\(/;

test("every page of the site with a control declares its settings", () => {
  for (const { path } of config.pages) {
    if (PAGES[path]) continue;
    assert.ok(
      !CONTROL.test(pageSource(path)),
      `${path} has controls but no declared settings: declare them in src/components/settings/PAGE.ts, ` +
        "wire them with UrlState (src/components/url-state.ts; see src/train.md), and list the page in PAGES here"
    );
  }
  for (const [path, settings] of Object.entries(PAGES)) {
    assert.ok(config.pages.some((p) => p.path === path), `${path} is declared here but is not a page of the site`);
    assert.ok(CONTROL.test(pageSource(path)), `${path}: the page has controls`);
    const keys = settings.map((s) => s.key);
    assert.equal(new Set(keys).size, keys.length, `${path}: keys are unique`);
    for (const s of settings) {
      for (const d of s.dependsOn ?? []) assert.ok(keys.indexOf(d) >= 0 && keys.indexOf(d) < keys.indexOf(s.key), `${path}: ${s.key} depends on an earlier setting (${d})`);
    }
    const source = pageSource(path);
    assert.match(source, /new UrlState\(/, `${path}: the page reads its settings from its URL`);
    assert.match(source, /## Exercises/, `${path}: the page ends with exercises`);
    for (const s of settings) assert.ok(source.includes(`url.bind("${s.key}"`), `${path}: a control follows ${s.key}`);
  }
});

for (const [path, settings] of Object.entries(PAGES)) {
  test(`${path}: at the defaults the query is empty and reads back as the defaults`, () => {
    assert.equal(settingsQuery(settings, defaults(settings)), "");
    assert.deepEqual(parseSettings(settings, ""), { values: defaults(settings), notes: [] });
  });

  test(`${path}: every declared setting round-trips through the query`, () => {
    let tried = 0;
    for (const anchor of anchors(settings)) {
      for (const s of settings) {
        const earlier = Object.fromEntries(settings.slice(0, settings.indexOf(s)).map((e) => [e.key, anchor[e.key]]));
        for (const v of samples(s, earlier)) {
          const values = { ...anchor, [s.key]: v };
          const query = settingsQuery(settings, values);
          const back = parseSettings(settings, query);
          assert.deepEqual(back.notes, [], `${path}: ${s.key}=${JSON.stringify(v)} via ${query}`);
          assert.deepEqual(back.values, values, `${path}: ${s.key}=${JSON.stringify(v)} via ${query}`);
          assert.deepEqual(checkValues(settings, { [s.key]: v, ...Object.fromEntries((s.dependsOn ?? []).map((d) => [d, anchor[d]])) }), []);
          // And through a real address, as a browser hands it back.
          assert.deepEqual(parseSettings(settings, new URL(`https://lab.example/p${query}#section`).search).values, values);
          tried++;
        }
      }
    }
    assert.ok(tried >= settings.length * 2, `${path}: ${tried} values tried`);
  });

  test(`${path}: junk in the query falls back to each default, with a note naming it`, () => {
    for (const s of settings) {
      const junk =
        s.kind === "number" ? ["abc", "1e999", "", "0x10", s.integer ? "1.5" : "1,5"]
        : s.kind === "choice" ? ["no-such-choice", ""]
        : s.kind === "flag" ? ["maybe", ""]
        : s.kind === "list" ? [`${s.values[0]},nonsense`]
        : ["x".repeat(s.maxLength + 1)];
      for (const raw of junk) {
        const params = new URLSearchParams({ [s.key]: raw });
        const r = parseSettings(settings, params);
        assert.deepEqual(r.values, defaults(settings), `${path}: ${s.key}=${raw} gives the defaults`);
        assert.equal(r.notes.length, 1, `${path}: ${s.key}=${raw} has one note`);
        assert.equal(r.notes[0].key, s.key);
        assert.ok(r.notes[0].text.startsWith(`${s.key}=`), r.notes[0].text);
        assert.match(r.notes[0].text, /; using .+\.$/, r.notes[0].text);
      }
    }
  });
}

test("the notes read as sentences", () => {
  const n = (settings: PageSettings, q: string) => parseSettings(settings, q).notes.map((x) => x.text);
  assert.deepEqual(n(TRAIN_SETTINGS, "?seed=abc"), ["seed=abc is not a whole number from 0 to 4,294,967,295; using 1."]);
  assert.deepEqual(n(TRAIN_SETTINGS, "?preset=giant"), ["preset=giant is not one of nano or micro; using nano."]);
  assert.deepEqual(n(TRAIN_SETTINGS, "?lr=2"), ["lr=2 is not a number greater than 0 and less than 1; using 0.003."]);
  assert.deepEqual(n(TRAIN_SETTINGS, "?colour=red"), ["colour is not a setting of this page; ignored."]);
  assert.deepEqual(n(BENCH_SETTINGS, "?profile=maybe"), ["profile=maybe is not true or false; using false."]);
  assert.deepEqual(n(TOKENIZER_FREE_SETTINGS, "?models=bytes,words"), [
    'models=bytes,words names "words", not among bytes, bpe-tokens, stride, bpe, learned, local-stride, local-word or local-entropy; using bytes,local-word.'
  ]);
  assert.deepEqual(n(DISTILLATION_SETTINGS, `?text=${"y".repeat(601)}`), [`text=${"y".repeat(23)}… is longer than 600 characters; using the default text.`]);
});

test("a stale value under a dependent setting falls back to the default for the new preset", () => {
  // nano has 4 layers: interior margins -1, 0, 1; margin 3 would be stale.
  const r = parseSettings(SHARING_SETTINGS, "?preset=nano&interior=3&vocab=258");
  assert.equal(r.values.preset, "nano");
  assert.equal(r.values.interior, -1);
  assert.deepEqual(r.notes.map((x) => x.key), ["interior"]);
  assert.match(r.notes[0].text, /^interior=3 is not one of -1, 0 or 1; using -1\.$/);
  // The learning rate's default follows the preset.
  assert.equal(parseSettings(TRAIN_SETTINGS, "?preset=micro").values.lr, defaultOf(TRAIN_SETTINGS[4], { preset: "micro" }));
});

test("flags read 1/0, yes/no and on/off too; lists keep their declared order", () => {
  assert.equal(parseSettings(BENCH_SETTINGS, "?profile=1").values.profile, true);
  assert.equal(parseSettings(BENCH_SETTINGS, "?profile=off").values.profile, false);
  assert.deepEqual(parseSettings(TOKENIZER_FREE_SETTINGS, "?models=local-word,bytes,stride").values.models, ["bytes", "stride", "local-word"]);
  assert.equal(settingsQuery(TOKENIZER_FREE_SETTINGS, { models: ["local-word", "stride"] }), "?models=stride,local-word");
});

test("checkValues refuses what a page would not accept", () => {
  assert.deepEqual(checkValues(TRAIN_SETTINGS, { steps: 500, seed: 2 }), []);
  assert.deepEqual(checkValues(TRAIN_SETTINGS, { steps: 0 }), ["steps=0 is not a whole number from 1 to 20,000"]);
  assert.deepEqual(checkValues(TRAIN_SETTINGS, { colour: "red" }), ["colour is not a setting of this page"]);
  assert.deepEqual(checkValues(SHARING_SETTINGS, { preset: "nano", interior: 3 }), ["interior=3 is not one of -1, 0 or 1"]);
});

test("checkValue judges one setting against the current values before it", () => {
  const current = parseSettings(SHARING_SETTINGS, "?preset=nano").values;
  assert.equal(checkValue(SHARING_SETTINGS, "interior", 1, current), null);
  assert.equal(checkValue(SHARING_SETTINGS, "interior", 3, current), "interior=3 is not one of -1, 0 or 1");
  assert.equal(checkValue(SHARING_SETTINGS, "preset", "stlm-50m-paper", current), null, "a new preset is judged alone, not with the old preset's switches");
  assert.equal(checkValue(TOKENIZER_FREE_SETTINGS, "text", "x".repeat(2001), parseSettings(TOKENIZER_FREE_SETTINGS, "").values), "text=" + "x".repeat(2001) + " is longer than 2,000 characters");
});
