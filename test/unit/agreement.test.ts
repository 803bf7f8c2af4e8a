import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { agreementRule, bandFrom, compareLosses, describeAgreement, formatRelative, GPU_BAND_MEASUREMENT, GPU_BANDS, OTHER_BACKEND_BAND, relativeDifference, SAME_BUILD_TOLERANCE } from "../../lib/runs/agreement.js";
import { parseRunRecord } from "../../lib/runs/record.js";

const rows = (losses: number[], from = 1, every = 1) => losses.map((loss, i) => ({ step: from + i * every, loss }));
const same = agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend: "wasm", labVersion: "0.1.0" });

test("a re-run on wasm with the same lab version is held to 1e-4 relative; webgpu and webgl to their measured bands, another version to the stated band", () => {
  assert.equal(same.kind, "same");
  assert.equal(same.tolerance, SAME_BUILD_TOLERANCE);
  assert.equal(agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend: "cpu", labVersion: "0.1.0" }).kind, "same");
  for (const backend of ["webgpu", "webgl"]) {
    const r = agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend, labVersion: "0.1.0" });
    assert.equal(r.kind, "band");
    assert.equal(r.tolerance, GPU_BANDS[backend]);
    assert.match(r.why, new RegExp(`${backend}.*twice the largest difference measured.*gpu-band\\.json`));
  }
  // A backend nobody measured keeps the stated band, and says so.
  const unmeasured = agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend: "webnn", labVersion: "0.1.0" });
  assert.equal(unmeasured.tolerance, OTHER_BACKEND_BAND);
  assert.match(unmeasured.why, /not measured/);
  const other = agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend: "wasm", labVersion: "0.2.0" });
  assert.equal(other.kind, "band");
  assert.equal(other.tolerance, OTHER_BACKEND_BAND);
  assert.match(other.why, /0\.1\.0.*0\.2\.0/);
  // A figure that did not record its version is still held to the strict rule, and the reason says so.
  const unknown = agreementRule({ backend: "wasm", labVersion: "unknown" }, { backend: "wasm", labVersion: "0.1.0" });
  assert.equal(unknown.kind, "same");
  assert.match(unknown.why, /not recorded/);
});

test("compareLosses() calls identical losses bit for bit identical", () => {
  const ref = rows([5.5, 4.25, 3.125]);
  const a = compareLosses(ref, rows([5.5, 4.25, 3.125]), same);
  assert.equal(a.verdict, "agrees");
  assert.equal(a.exact, true);
  assert.equal(a.compared, 3);
  assert.equal(a.departure, null);
  assert.equal(a.largest?.relative, 0);
  assert.match(describeAgreement(a), /bit for bit identical at steps 1–3/);
});

test("compareLosses() accepts a re-run that rounds to every digit the figure stored", () => {
  const ref = rows([5.51124, 5.48537]);
  const a = compareLosses(ref, rows([5.511241234, 5.485368999]), same);
  assert.equal(a.verdict, "agrees");
  assert.equal(a.exact, false);
  assert.equal(a.storedDecimals, 5);
  assert.equal(a.equalToStoredDigits, true);
  assert.match(describeAgreement(a), /every stored digit \(the figure keeps 5 decimals\)/);
});

test("compareLosses() reports the first step where the re-run departs and by how much", () => {
  const ref = rows([5, 4, 3, 2]);
  const a = compareLosses(ref, rows([5, 4.0001, 3.03, 2.2]), same);
  assert.equal(a.verdict, "departs");
  // 4.0001 vs 4 is 2.5e-5 relative, inside 1e-4; step 3 is 1% off.
  assert.equal(a.departure?.step, 3);
  assert.equal(a.departure?.reference, 3);
  assert.equal(a.departure?.rerun, 3.03);
  assert.ok(Math.abs(a.departure!.relative - 0.01) < 1e-12);
  assert.equal(a.largest?.step, 4);
  assert.ok(Math.abs(a.largest!.relative - 0.1) < 1e-12);
  assert.match(describeAgreement(a), /^Departs at step 3: the figure's loss 3, the re-run's 3\.03 \(1% relative, beyond the 1e-4 relative allowed\)/);
});

test("a difference inside the band passes on another backend, and one beyond it departs", () => {
  // A backend nobody measured: the stated 2% band.
  const band = agreementRule({ backend: "wasm", labVersion: "0.1.0" }, { backend: "webnn", labVersion: "0.1.0" });
  const ref = rows([5, 4, 3]);
  assert.equal(band.tolerance, 0.02);
  const inside = compareLosses(ref, rows([5.01, 4.04, 3.05]), band);
  assert.equal(inside.verdict, "agrees");
  assert.match(describeAgreement(inside), /^Within the band: within 2% relative/);
  const beyond = compareLosses(ref, rows([5.01, 4.2, 3]), band);
  assert.equal(beyond.verdict, "departs");
  assert.equal(beyond.departure?.step, 2);
});

test("a prefix check compares only the figure's steps up to the re-run's last, and a sparse figure only its own steps", () => {
  const ref = rows([4.5, 3.5, 3.0, 2.8], 10, 10); // steps 10, 20, 30, 40
  const rerun = rows(Array.from({ length: 25 }, (_, i) => (i === 9 ? 4.5 : i === 19 ? 3.5 : 9)));
  const a = compareLosses(ref, rerun, same);
  assert.equal(a.verdict, "agrees");
  assert.equal(a.compared, 2);
  assert.equal(a.firstStep, 10);
  assert.equal(a.lastStep, 20);
  assert.deepEqual(a.missing, []);
  // A re-run that logged only every 8th step (a GPU backend's default) leaves gaps, which are listed.
  const gappy = compareLosses(rows([1, 2, 3, 4]), [{ step: 2, loss: 2 }, { step: 4, loss: 4 }], same);
  assert.deepEqual(gappy.missing, [1, 3]);
  assert.equal(gappy.compared, 2);
});

test("nothing to compare is incomplete, not agreement", () => {
  const a = compareLosses(rows([5, 4]), [], same);
  assert.equal(a.verdict, "incomplete");
  assert.equal(a.exact, false);
  assert.match(describeAgreement(a), /No step to compare/);
  // A NaN loss is never within tolerance.
  assert.equal(compareLosses(rows([5]), rows([NaN]), same).verdict, "departs");
});

test("formatRelative() writes small differences as powers of ten and large ones as percentages", () => {
  assert.equal(formatRelative(1e-4), "1e-4");
  assert.equal(formatRelative(3.24e-6), "3.2e-6");
  assert.equal(formatRelative(0.02), "2%");
  assert.equal(formatRelative(0), "0");
});

test("a figure that rounds its losses to 4 decimals is matched to 1e-4 relative plus half a unit of its last decimal, and no closer", () => {
  // 0.30004 vs a stored 0.3000: 1.3e-4 relative, beyond 1e-4 alone but inside 1e-4 × 0.3 + 5e-5 (the figure's rounding).
  const ref = rows([0.3, 0.25]);
  const plain = compareLosses(ref, rows([0.30004, 0.25]), same);
  assert.equal(plain.verdict, "departs");
  const rounded = compareLosses(ref, rows([0.30004, 0.25]), same, { lossDecimals: 4 });
  assert.equal(rounded.verdict, "agrees");
  assert.equal(rounded.rounding, 5e-5);
  assert.match(describeAgreement(rounded), /within 1e-4 relative \+ 5e-5 \(the figure's rounding\)/);
  // 0.30009 is 9e-5 away: more than 3e-5 + 5e-5 allows.
  const beyond = compareLosses(ref, rows([0.30009, 0.25]), same, { lossDecimals: 4 });
  assert.equal(beyond.verdict, "departs");
  assert.equal(beyond.departure?.step, 1);
  assert.match(describeAgreement(beyond), /beyond the 1e-4 relative \+ 5e-5 \(the figure's rounding\) allowed/);
});

test("the GPU bands are derived from the committed measurement, whose rows are the figure's losses against the re-run's", () => {
  const file = JSON.parse(readFileSync(new URL(`../../${GPU_BAND_MEASUREMENT.file}`, import.meta.url), "utf8")) as {
    figure: string;
    backends: Record<string, { steps: number; largest: { step: number; relative: number }; device: string; rows: { step: number; figure: number; rerun: number; relative: number }[] }>;
  };
  const figure = parseRunRecord(readFileSync(new URL(`../../${file.figure}`, import.meta.url), "utf8"));
  const losses = new Map(figure.metrics.steps.map((r) => [r.step, r.loss]));
  for (const [backend, m] of Object.entries(GPU_BAND_MEASUREMENT.backends)) {
    const measured = file.backends[backend];
    assert.ok(measured, `${GPU_BAND_MEASUREMENT.file} measures ${backend}`);
    assert.equal(measured.steps, m.steps);
    assert.equal(measured.rows.length, m.steps);
    assert.equal(measured.largest.relative, m.largest, `${backend}: the constant is the file's largest difference`);
    assert.equal(Math.max(...measured.rows.map((r) => r.relative)), m.largest);
    assert.match(measured.device, new RegExp(m.device, "i"));
    for (const r of measured.rows) {
      assert.equal(r.figure, losses.get(r.step), `${backend} step ${r.step}: the figure's loss`);
      assert.equal(r.relative, relativeDifference(r.figure, r.rerun));
    }
    assert.equal(GPU_BANDS[backend], bandFrom(m.largest));
    assert.ok(GPU_BANDS[backend] >= 2 * m.largest && GPU_BANDS[backend] >= SAME_BUILD_TOLERANCE, `${backend}'s band holds its measurement twice over`);
  }
  // The same measurement on wasm, the exact rule's backend, stays well inside 1e-4.
  assert.ok(file.backends.wasm.largest.relative < SAME_BUILD_TOLERANCE);
  assert.equal(bandFrom(1.7e-6), SAME_BUILD_TOLERANCE);
  assert.equal(bandFrom(0.0161), 0.04);
  assert.equal(bandFrom(0.03), 0.06);
});
