// UrlState's bookkeeping, in Node (no location or history: it writes nothing): values
// from the opening link, dependent settings reset with their parent, notes that go when
// their setting changes, and refusals only the page can make.
import { test } from "node:test";
import assert from "node:assert/strict";
import { UrlState } from "../../src/components/url-state.js";
import { TRAIN_SETTINGS } from "../../src/components/settings/train.js";
import { SHARING_SETTINGS } from "../../src/components/settings/sharing.js";
import { TOKENIZER_FREE_SETTINGS } from "../../src/components/settings/tokenizer-free.js";

test("a new preset resets the settings that depend on it and keeps the others", () => {
  const url = new UrlState(TRAIN_SETTINGS, "?preset=micro&lr=0.001&steps=500&seed=abc");
  assert.equal(url.get("lr"), 0.001);
  assert.deepEqual(url.notes.map((n) => n.key), ["seed"]);
  url.set("preset", "nano");
  assert.equal(url.get("lr"), 0.003, "nano's own learning rate");
  assert.equal(url.get("steps"), 500);
  assert.equal(url.query(), "?steps=500");
  url.set("seed", 4);
  assert.deepEqual(url.notes, [], "the seed's note goes once the reader sets the seed");
});

test("the sharing switches go back to the new preset's own", () => {
  const url = new UrlState(SHARING_SETTINGS, "?preset=nano&tie=false&interior=1&experiment=tying");
  url.set("preset", "stlm-10m");
  assert.equal(url.get("tie"), true);
  assert.equal(url.get("shareMlp"), true, "stlm-10m shares its MLP");
  assert.equal(url.get("interior"), -1);
  assert.equal(url.get("experiment"), "tying", "not a dependent of the preset");
  assert.equal(url.query(), "?preset=stlm-10m&experiment=tying");
});

test("refuse notes a value the link gave, and only then", () => {
  const asked = new UrlState(TOKENIZER_FREE_SETTINGS, "?budget=45");
  assert.equal(asked.refuse("budget", "is not a budget of the precomputed runs (30 s, 90 s)", 90), 90);
  assert.deepEqual(asked.notes.map((n) => n.text), ["budget=45 is not a budget of the precomputed runs (30 s, 90 s); using 90."]);
  assert.equal(asked.query(), "");
  const plain = new UrlState(TOKENIZER_FREE_SETTINGS, "");
  plain.refuse("budget", "is not a budget of the precomputed runs (30 s, 60 s)", 60);
  assert.deepEqual(plain.notes, [], "a default the data lacks is replaced without a note");
  assert.equal(plain.get("budget"), 60);
  assert.equal(plain.query(), "?budget=60");
});

test("an unknown key is a programming error, not a silent default", () => {
  const url = new UrlState(TRAIN_SETTINGS, "");
  assert.throws(() => url.get("colour"), /colour is not a declared setting/);
  assert.throws(() => url.set("colour", "red"), /colour is not a declared setting/);
  assert.throws(() => url.linkTo({ steps: 0 }), /steps=0 is not a whole number from 1 to 20,000/);
});
