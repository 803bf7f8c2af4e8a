// The one parser every page's numeric box goes through: decimal notation only,
// nothing rounded, clamped or defaulted, and refusals that state the rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRule, parseSetting, type SettingRule } from "../../src/components/number-input.js";

const STEPS: SettingRule = { label: "Steps", min: 1, max: 20000, integer: true };
const LEARNING_RATE: SettingRule = { label: "Learning rate", min: 0, max: 1, minExclusive: true, maxExclusive: true };
const SEED: SettingRule = { label: "Seed", min: 0, max: 2 ** 32 - 1, integer: true };
const BIG: SettingRule = { label: "Tokens", min: 1, max: 100000, integer: true };

test("the rule in words", () => {
  assert.equal(describeRule(STEPS), "a whole number from 1 to 20,000");
  assert.equal(describeRule(LEARNING_RATE), "a number greater than 0 and less than 1");
  assert.equal(describeRule(SEED), "a whole number from 0 to 4,294,967,295");
  assert.equal(describeRule({ label: "x", min: 0, max: 2, maxExclusive: true }), "a number of at least 0 and less than 2");
  assert.equal(describeRule({ label: "x", min: 1, integer: true }), "a whole number of at least 1");
  assert.equal(describeRule({ label: "x", max: 0.5 }), "a number at most 0.5");
  assert.equal(describeRule({ label: "x" }), "a number");
  assert.equal(describeRule({ label: "x", min: 1e-4, max: 0.01 }), "a number from 0.0001 to 0.01");
});

const accepted: [string, SettingRule, number][] = [
  ["7", STEPS, 7],
  ["  300 ", STEPS, 300],
  ["+12", STEPS, 12],
  ["007", STEPS, 7],
  ["1e3", STEPS, 1000],
  ["20000", STEPS, 20000],
  ["1", STEPS, 1],
  ["3.0", STEPS, 3],
  ["0.003", LEARNING_RATE, 0.003],
  ["1e-3", LEARNING_RATE, 0.001],
  ["3E-3", LEARNING_RATE, 0.003],
  [".5", LEARNING_RATE, 0.5],
  ["0.999", LEARNING_RATE, 0.999],
  ["0", SEED, 0],
  ["-0", SEED, 0],
  ["4294967295", SEED, 4294967295],
  ["100000", BIG, 100000]
];

for (const [text, rule, value] of accepted) {
  test(`${rule.label}: ${JSON.stringify(text)} is ${value}`, () => {
    const r = parseSetting(text, rule);
    assert.deepEqual(r, { ok: true, value });
    if (r.ok) assert.ok(!Object.is(r.value, -0));
  });
}

const refused: [string, SettingRule][] = [
  ["", STEPS],
  ["   ", STEPS],
  ["0", STEPS],
  ["-5", STEPS],
  ["1e9", STEPS],
  ["1e9", BIG],
  ["20001", STEPS],
  ["abc", STEPS],
  ["0x10", STEPS],
  ["0b11", STEPS],
  ["1.5", STEPS],
  ["1,000", STEPS],
  ["1_000", STEPS],
  ["12abc", STEPS],
  ["Infinity", STEPS],
  ["-Infinity", SEED],
  ["NaN", STEPS],
  ["1e400", BIG],
  ["0", LEARNING_RATE],
  ["1", LEARNING_RATE],
  ["10", LEARNING_RATE],
  ["-0.001", LEARNING_RATE],
  ["1e-400", LEARNING_RATE],
  ["abc", LEARNING_RATE],
  ["0,003", LEARNING_RATE],
  ["-1", SEED],
  ["1.5", SEED],
  ["4294967296", SEED],
  ["e5", SEED],
  [".", SEED],
  ["+", SEED],
  ["1e", SEED]
];

for (const [text, rule] of refused) {
  test(`${rule.label}: ${JSON.stringify(text)} is refused with a message stating the rule`, () => {
    const r = parseSetting(text, rule);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.ok(r.message.startsWith(`${rule.label} must be ${describeRule(rule)}`), r.message);
    if (text.trim() === "") assert.match(r.message, /the box is empty\.$/);
    else assert.ok(r.message.endsWith(`, not "${text.trim()}".`), r.message);
  });
}

test("the messages read as sentences", () => {
  assert.deepEqual(parseSetting("1e9", STEPS), { ok: false, message: 'Steps must be a whole number from 1 to 20,000, not "1e9".' });
  assert.deepEqual(parseSetting("", SEED), { ok: false, message: "Seed must be a whole number from 0 to 4,294,967,295; the box is empty." });
  assert.deepEqual(parseSetting("10", LEARNING_RATE), { ok: false, message: 'Learning rate must be a number greater than 0 and less than 1, not "10".' });
});

test("a long refused text is shortened in the message", () => {
  const r = parseSetting("9".repeat(200), STEPS);
  assert.equal(r.ok, false);
  if (!r.ok) assert.ok(r.message.length < 90 && r.message.includes("…"), r.message);
});
