// "Re-run and check": does a run trained again, here and now, agree with the run a
// figure shows? Pure and DOM-free: two lists of per-step training losses in, a
// verdict out — every step within the rule's tolerance, or the first step where
// the re-run departs and by how much.
//
// The rule depends on what should be equal. The lab's training is deterministic on
// the wasm and cpu backends: the same library version, seed, settings and data give
// the same losses (to rounding: the lab's wasm kernels use fused multiply-add where the
// machine has it, which changes the last bits). So a re-run there must agree to 1e-4
// relative at every step. A GPU backend (WebGL, WebGPU) sums in another order and in
// lower precision in places, so each is held to a band derived from a measurement
// (GPU_BAND_MEASUREMENT: the training page's re-run on each backend in headless
// Chromium, data/runs/agreement/gpu-band.json, made by scripts/recheck-browser.ts
// --json): twice the largest relative difference measured, rounded up to one
// significant digit, and never below 1e-4. Another lab version, or a backend not
// measured, keeps a stated 2% band.
import type { RunStepRow } from "./record.js";

/** Relative difference allowed at every step on wasm/cpu with the same lab version. */
export const SAME_BUILD_TOLERANCE = 1e-4;
/** Relative difference allowed at every step on a backend not measured, or across lab versions: stated, not measured. */
export const OTHER_BACKEND_BAND = 2e-2;

/**
 * What the GPU backends' bands are derived from: per backend, the steps re-run and the
 * largest relative difference from the figure (the precomputed nano-austen run, wasm in
 * Node) over them, on SwiftShader (the software adapter CI has). test/unit/agreement.test.ts
 * checks these equal data/runs/agreement/gpu-band.json.
 */
export const GPU_BAND_MEASUREMENT = {
  file: "data/runs/agreement/gpu-band.json",
  command: "node --import tsx scripts/recheck-browser.ts --backend B --steps N --json data/runs/agreement/gpu-band.json",
  backends: {
    webgl: { steps: 20, largest: 1.7067330220607245e-6, device: "SwiftShader" },
    webgpu: { steps: 20, largest: 0.000001802417360229364, device: "SwiftShader" }
  }
} as const;

/** The band a measured largest difference gives: twice it, rounded up to one significant digit, at least SAME_BUILD_TOLERANCE. */
export function bandFrom(largest: number): number {
  const x = 2 * largest;
  if (!(x > SAME_BUILD_TOLERANCE)) return SAME_BUILD_TOLERANCE;
  const unit = 10 ** Math.floor(Math.log10(x));
  return Number((Math.ceil(x / unit - 1e-9) * unit).toPrecision(1));
}

/** Each measured GPU backend's band (bandFrom of its measurement). */
export const GPU_BANDS: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(GPU_BAND_MEASUREMENT.backends).map(([b, m]) => [b, bandFrom(m.largest)])
);

/** Why a GPU backend has its band, in words for the reader. */
function gpuBandWhy(backend: string): string {
  const m = (GPU_BAND_MEASUREMENT.backends as Record<string, { steps: number; largest: number; device: string }>)[backend];
  return `a band of ${formatRelative(GPU_BANDS[backend])} relative: twice the largest difference measured on ${backend} (${m.device}) over the figure's first ${m.steps} steps, ${formatRelative(m.largest)} (${GPU_BAND_MEASUREMENT.file}), and not less than ${formatRelative(SAME_BUILD_TOLERANCE)}; beyond step ${m.steps} it was not measured`;
}
/** Backends whose training is deterministic and matches Node's (the lab's kernels, or tfjs's plain JavaScript). */
export const EXACT_BACKENDS: readonly string[] = ["wasm", "cpu"];

export interface AgreementRule {
  /** "same": the re-run should reproduce the figure; "band": it should stay near it. */
  kind: "same" | "band";
  /** The relative difference allowed at each step. */
  tolerance: number;
  /** Why this rule, in words for the reader. */
  why: string;
}

/** What a run was computed by, as the rule needs it. */
export interface ComputedBy {
  backend: string;
  /** The lab's package version; "unknown" when the run did not record it. */
  labVersion: string;
}

/** The rule a re-run on `rerun` is held to against a figure computed on `reference`. */
export function agreementRule(reference: ComputedBy, rerun: ComputedBy): AgreementRule {
  if (!EXACT_BACKENDS.includes(rerun.backend)) {
    if (GPU_BANDS[rerun.backend] !== undefined && EXACT_BACKENDS.includes(reference.backend)) {
      return { kind: "band", tolerance: GPU_BANDS[rerun.backend], why: `${rerun.backend} computes in another order and precision than ${reference.backend}: ${gpuBandWhy(rerun.backend)}` };
    }
    return { kind: "band", tolerance: OTHER_BACKEND_BAND, why: `${rerun.backend} computes in another order and precision than ${reference.backend}, and this pair was not measured: a stated band of ${formatRelative(OTHER_BACKEND_BAND)} relative` };
  }
  if (!EXACT_BACKENDS.includes(reference.backend)) {
    if (GPU_BANDS[reference.backend] !== undefined) {
      return { kind: "band", tolerance: GPU_BANDS[reference.backend], why: `the figure was computed on ${reference.backend}, which does not reproduce wasm exactly: ${gpuBandWhy(reference.backend)}` };
    }
    return { kind: "band", tolerance: OTHER_BACKEND_BAND, why: `the figure was computed on ${reference.backend}, which does not reproduce exactly: a stated band of ${formatRelative(OTHER_BACKEND_BAND)} relative` };
  }
  if (reference.labVersion !== "unknown" && rerun.labVersion !== "unknown" && reference.labVersion !== rerun.labVersion) {
    return { kind: "band", tolerance: OTHER_BACKEND_BAND, why: `the figure was made by lab ${reference.labVersion} and this page is lab ${rerun.labVersion}: a change in the lab may change the losses, so a stated band of ${formatRelative(OTHER_BACKEND_BAND)} relative (not measured)` };
  }
  const version = reference.labVersion === "unknown" ? " (the figure's lab version was not recorded; this page's code is assumed to be the same)" : "";
  return { kind: "same", tolerance: SAME_BUILD_TOLERANCE, why: `${rerun.backend} with the same lab version${version} should reproduce the figure: ${formatRelative(SAME_BUILD_TOLERANCE)} relative at every step` };
}

export interface StepDifference {
  step: number;
  reference: number;
  rerun: number;
  /** |rerun − reference| / |reference|. */
  relative: number;
}

export interface Agreement {
  /** "agrees": every compared step within the tolerance; "departs": one is not; "incomplete": no step to compare. */
  verdict: "agrees" | "departs" | "incomplete";
  rule: AgreementRule;
  /** Steps compared (those both runs logged, up to the re-run's last step). */
  compared: number;
  firstStep: number | null;
  lastStep: number | null;
  /** The largest relative difference over the compared steps, and where. */
  largest: StepDifference | null;
  /** The first step beyond the tolerance, when there is one. */
  departure: StepDifference | null;
  /** Every compared loss exactly equal (bit for bit, as JavaScript numbers). */
  exact: boolean;
  /** Decimals the reference's losses are stored to (a figure's files round them), and whether the re-run rounds to every one (claimed only with 3 or more). */
  storedDecimals: number;
  equalToStoredDigits: boolean;
  /** Reference steps up to the re-run's last step that the re-run did not log. */
  missing: number[];
  /** The absolute difference allowed on top of the relative tolerance for the figure's rounding: half a unit of its last stored decimal (5e-5 for a figure that keeps 4 decimals); 0 when the figure's losses are not rounded. */
  rounding: number;
}

/** Half a unit in the last of `decimals` decimals: how far a loss stored to that many decimals may be from the loss computed. */
export function roundingAllowance(decimals: number | undefined): number {
  return decimals === undefined ? 0 : 0.5 / 10 ** decimals;
}

/**
 * Compares a re-run's losses with a figure's, step by step, over the steps the
 * figure holds up to the re-run's last step (a figure may log every tenth step;
 * a check of a prefix stops early). A figure whose file rounds its losses (to
 * `options.lossDecimals` decimals) cannot be matched closer than that rounding:
 * a step agrees when |re-run − figure| ≤ tolerance × |figure| + half a unit of the
 * last stored decimal (5e-5 for 4 decimals). The relative differences reported are
 * the plain ones, rounding included.
 */
export function compareLosses(reference: readonly RunStepRow[], rerun: readonly RunStepRow[], rule: AgreementRule, options: { lossDecimals?: number } = {}): Agreement {
  const rounding = roundingAllowance(options.lossDecimals);
  const byStep = new Map(rerun.map((r) => [r.step, r.loss]));
  const lastRerun = rerun.length ? Math.max(...rerun.map((r) => r.step)) : -1;
  const storedDecimals = Math.max(0, ...reference.map((r) => decimals(r.loss)));
  let compared = 0;
  let firstStep: number | null = null;
  let lastStep: number | null = null;
  let largest: StepDifference | null = null;
  let departure: StepDifference | null = null;
  let exact = true;
  let equalToStoredDigits = true;
  const missing: number[] = [];
  for (const ref of [...reference].sort((a, b) => a.step - b.step)) {
    if (ref.step > lastRerun) break;
    const got = byStep.get(ref.step);
    if (got === undefined) {
      missing.push(ref.step);
      continue;
    }
    compared += 1;
    firstStep ??= ref.step;
    lastStep = ref.step;
    const d: StepDifference = { step: ref.step, reference: ref.loss, rerun: got, relative: relativeDifference(ref.loss, got) };
    if (largest === null || d.relative > largest.relative) largest = d;
    if (departure === null && !(Math.abs(got - ref.loss) <= rule.tolerance * Math.abs(ref.loss) + rounding)) departure = d;
    if (got !== ref.loss) exact = false;
    if (roundTo(got, storedDecimals) !== roundTo(ref.loss, storedDecimals)) equalToStoredDigits = false;
  }
  return {
    verdict: compared === 0 ? "incomplete" : departure ? "departs" : "agrees",
    rule,
    compared,
    firstStep,
    lastStep,
    largest,
    departure,
    exact: compared > 0 && exact,
    storedDecimals,
    // Fewer than 3 stored decimals say too little to claim equality "to every digit".
    equalToStoredDigits: compared > 0 && storedDecimals >= 3 && equalToStoredDigits,
    missing,
    rounding
  };
}

/** The agreement in one or two sentences for the reader. */
export function describeAgreement(a: Agreement): string {
  if (a.verdict === "incomplete") return "No step to compare yet: the re-run has not logged a step the figure holds.";
  const span = a.firstStep === a.lastStep ? `step ${a.firstStep}` : `steps ${a.firstStep}–${a.lastStep} (${a.compared} compared)`;
  const largest = a.largest ? `largest difference ${formatRelative(a.largest.relative)} relative, at step ${a.largest.step}` : "";
  if (a.verdict === "departs" && a.departure) {
    const d = a.departure;
    return `Departs at step ${d.step}: the figure's loss ${d.reference}, the re-run's ${round6(d.rerun)} (${formatRelative(d.relative)} relative, beyond the ${allowed(a)} allowed); ${largest} over ${span}.`;
  }
  const how = a.exact
    ? "bit for bit identical"
    : a.equalToStoredDigits
      ? `identical to every stored digit (the figure keeps ${a.storedDecimals} decimals)`
      : `within ${allowed(a)}`;
  return `${a.rule.kind === "same" ? "Reproduced" : "Within the band"}: ${how} at ${span}; ${largest}.`;
}

/** The rule's allowance in words: "1e-4 relative", or "1e-4 relative + 5e-5 (the figure's rounding)". */
export function allowed(a: Pick<Agreement, "rule" | "rounding">): string {
  return `${formatRelative(a.rule.tolerance)} relative${a.rounding > 0 ? ` + ${formatRelative(a.rounding)} (the figure's rounding)` : ""}`;
}

export function relativeDifference(reference: number, rerun: number): number {
  if (reference === rerun) return 0;
  const scale = Math.abs(reference);
  return scale === 0 ? Math.abs(rerun) : Math.abs(rerun - reference) / scale;
}

/** 1e-4 as "1e-4", 0.02 as "2%", a measured 3.2e-6 as "3.2e-6". */
export function formatRelative(x: number): string {
  if (x === 0) return "0";
  if (x >= 0.00995) return `${+(x * 100).toPrecision(2)}%`;
  const [m, e] = x.toExponential(1).split("e");
  return `${m.replace(/\.0$/, "")}e${Number(e)}`;
}

function decimals(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return 0;
  const s = String(x);
  if (s.includes("e")) return 17;
  return s.length - s.indexOf(".") - 1;
}

function roundTo(x: number, d: number): number {
  if (d >= 17) return x;
  return Number(x.toFixed(d));
}

const round6 = (x: number) => Number(x.toPrecision(6));
