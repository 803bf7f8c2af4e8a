// Dropout schedules and placements: where dropout acts in a model, and what rate
// it uses at each training step.
//
// Placement follows the STLM code (Hillier, Guertler et al. 2024) and what the lab
// had before: on the embeddings, on the attention probabilities, on the attention
// output projection, on the MLP output. Schedules follow the STLM dropout report
// (Hillier, Guertler, Cheng, Tan 2024, arXiv 2409.05423) and Liu et al. 2023,
// "Dropout Reduces Underfitting" (ICML; early and late dropout).
//
// Everything here is pure: the trainer calls dropoutAt(step, schedule) every step,
// so a resumed run continues the schedule exactly.
import { ConfigError } from "../config-error.js";

export type DropoutSite = "embed" | "attn-probs" | "attn-out" | "mlp-out";
export const DROPOUT_SITES: readonly DropoutSite[] = ["embed", "attn-probs", "attn-out", "mlp-out"];

/** Named placements: the lab's (before this option existed) and the STLM code's. */
export const DROPOUT_PLACEMENTS: Record<string, readonly DropoutSite[]> = {
  lab: ["embed", "attn-out", "mlp-out"],
  stlm: ["embed", "attn-probs", "attn-out"],
  all: DROPOUT_SITES
};

/** The placement a config has when it names none: the lab's, so older runs and checkpoints are unchanged. */
export const DEFAULT_DROPOUT_SITES: readonly DropoutSite[] = DROPOUT_PLACEMENTS.lab;

export type DropoutSchedule =
  | { kind: "constant"; rate: number }
  | { kind: "linear"; from: number; to: number; steps: number }
  | { kind: "triangle"; from: number; peak: number; steps: number }
  | { kind: "early"; rate: number; until: number }
  | { kind: "late"; rate: number; from: number };

export const DROPOUT_SCHEDULE_FORMS = [
  "constant            the model's rate (--dropout) at every step",
  "linear:A:B          from rate A at step 0 to rate B at the last step (A < B increases, A > B decreases)",
  "triangle:A:B        from A up to B at mid-run, then back down to A",
  "early:K             the model's rate for steps 0..K-1, then none (Liu et al. 2023)",
  "late:K              none for steps 0..K-1, then the model's rate (Liu et al. 2023)"
];

const rateOk = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;

/**
 * Parses a schedule's text form (DROPOUT_SCHEDULE_FORMS) into a schedule. `rate` is
 * the model's dropout, used by constant, early and late; `steps` the run's length.
 * Throws a ConfigError naming the setting and the allowed forms.
 */
export function parseDropoutSchedule(text: string, rate: number, steps: number): DropoutSchedule {
  const bad = (why: string): never => {
    throw new ConfigError("dropoutSchedule", `"${text}" ${why}. Allowed forms:\n  ${DROPOUT_SCHEDULE_FORMS.join("\n  ")}`);
  };
  if (typeof text !== "string") bad("is not text");
  const [kind, ...args] = text.trim().split(":");
  const num = (s: string | undefined, what: string) => {
    if (s === undefined || s.trim() === "") bad(`needs ${what}`);
    const x = Number(s);
    if (!Number.isFinite(x)) bad(`has ${what} "${s}", not a number`);
    return x;
  };
  const nArgs = (n: number) => args.length === n || bad(`takes ${n === 0 ? "no values" : `${n} value(s)`} after "${kind}"`);
  switch (kind) {
    case "constant":
      nArgs(0);
      return { kind: "constant", rate };
    case "linear":
    case "triangle": {
      nArgs(2);
      const a = num(args[0], "a first rate");
      const b = num(args[1], "a second rate");
      if (!rateOk(a) || !rateOk(b)) bad("has a rate outside [0, 1)");
      return kind === "linear" ? { kind, from: a, to: b, steps } : { kind, from: a, peak: b, steps };
    }
    case "early":
    case "late": {
      nArgs(1);
      const k = num(args[0], "a step K");
      if (!Number.isInteger(k) || k < 0) bad("needs a whole number of steps K >= 0");
      return kind === "early" ? { kind, rate, until: k } : { kind, rate, from: k };
    }
    default:
      return bad("is not a schedule");
  }
}

/** The dropout rate at a (0-based) training step. */
export function dropoutAt(step: number, s: DropoutSchedule): number {
  switch (s.kind) {
    case "constant":
      return s.rate;
    case "early":
      return step < s.until ? s.rate : 0;
    case "late":
      return step < s.from ? 0 : s.rate;
    case "linear": {
      const t = s.steps <= 1 ? 1 : Math.min(1, Math.max(0, step / (s.steps - 1)));
      return s.from + (s.to - s.from) * t;
    }
    case "triangle": {
      const t = s.steps <= 1 ? 0 : Math.min(1, Math.max(0, step / (s.steps - 1)));
      return s.from + (s.peak - s.from) * (1 - Math.abs(2 * t - 1));
    }
  }
}

/** The highest rate a schedule ever uses (0: the run has no dropout at all). */
export function maxDropout(s: DropoutSchedule): number {
  switch (s.kind) {
    case "linear":
      return Math.max(s.from, s.to);
    case "triangle":
      return Math.max(s.from, s.peak);
    default:
      return s.rate;
  }
}

/** Parses a placement: a named one (lab, stlm, all, none) or sites separated by commas. */
export function parseDropoutSites(text: string): DropoutSite[] {
  const t = text.trim();
  if (t === "none") return [];
  if (DROPOUT_PLACEMENTS[t]) return [...DROPOUT_PLACEMENTS[t]];
  const sites = t.split(",").map((s) => s.trim());
  for (const s of sites) {
    if (!DROPOUT_SITES.includes(s as DropoutSite)) {
      throw new ConfigError(
        "dropoutSites",
        `"${s}" is not a dropout site; use sites from ${DROPOUT_SITES.join(", ")} separated by commas, or a named placement: ${Object.keys(DROPOUT_PLACEMENTS).join(", ")}, none`
      );
    }
  }
  if (new Set(sites).size !== sites.length) throw new ConfigError("dropoutSites", `"${t}" names a site twice`);
  // Canonical order, so equal placements compare equal.
  return DROPOUT_SITES.filter((s) => sites.includes(s));
}
