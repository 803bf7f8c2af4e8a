// A small flag parser: --name value, --flag, --name=value. Unknown flags are errors.
//
// Numbers are read strictly: a flag's value is decimal text or it is refused.
// Number() alone would take "0x10" as 16, "1e3" as 1000 and "" as 0, so a typo
// ran a different experiment instead of stopping; and a value outside what the
// command can do (a negative top-k, a fractional seed) failed late or silently.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

interface Bounded {
  min?: number;
  max?: number;
  /** What a special value means, shown after the rule: "0: no top-k". */
  note?: string;
  /** A good value, shown in the message: "--top-k 40". */
  example?: number;
  /** Why the bounds are where they are, when that is not obvious. */
  reason?: string;
}

/** A whole number in decimal digits (no hex, exponent or fraction), a safe integer, within [min, max]. */
export interface IntFlag extends Bounded {
  kind: "int";
}

/** A finite decimal number (an exponent is fine, hex and "Infinity" are not), within the bounds. */
export interface NumberFlag extends Bounded {
  kind: "number";
  /** min itself is refused: the value must be > min. */
  minExclusive?: boolean;
  /** max itself is refused: the value must be < max. */
  maxExclusive?: boolean;
}

/** "string", "boolean", "number" (any finite decimal number), or a bounded int / number. */
export type FlagKind = "string" | "number" | "boolean" | IntFlag | NumberFlag;

export interface FlagSpec {
  readonly [name: string]: FlagKind;
}

export type Flags = Record<string, string | number | boolean | undefined>;

const INT_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

// Flags train shares with the other commands (lib/cli/train.ts builds its spec from these).

/** Seeds feed Rng, which keeps 32 bits (lib/rng.ts), and TrainConfig.seed is checked to [0, 2^32). */
export const SEED_FLAG: IntFlag = { kind: "int", min: 0, max: 2 ** 32 - 1, example: 1 };
/** Optimiser steps of a run: at least one; ten million is days of training for the largest preset here. */
export const STEPS_FLAG: IntFlag = { kind: "int", min: 1, max: 10_000_000, example: 500 };
/** The peak learning rate, as TrainConfig checks it. */
export const LR_FLAG: NumberFlag = { kind: "number", min: 0, minExclusive: true, max: 1, maxExclusive: true, example: 0.003 };
/** Rows per step. 1024 rows of the presets' 128-byte context is already far past what fits a browser or a step that trains in seconds. */
export const BATCH_FLAG: IntFlag = { kind: "int", min: 1, max: 1024, example: 16 };
/** Steps between validation evaluations. */
export const EVAL_EVERY_FLAG: IntFlag = { kind: "int", min: 0, note: "0: only at the end", example: 100 };

export function parseFlags(argv: string[], spec: FlagSpec, command: string): Flags {
  const out: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new UsageError(`stlm ${command}: unexpected argument "${arg}" (flags start with --; see \`stlm ${command} --help\`)`);
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) throw new UsageError(`stlm ${command}: unknown flag --${name}; known flags: ${Object.keys(spec).map((k) => "--" + k).join(", ")}`);
    if (kind === "boolean") {
      out[name] = value === undefined ? true : value !== "false";
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`stlm ${command}: --${name} needs a value`);
      // "--tokens --json": the value was forgotten; a number never starts with "--".
      if (kind !== "string" && value.startsWith("--")) throw new UsageError(`stlm ${command}: --${name} needs a value (got the flag ${value} instead)`);
    }
    out[name] = kind === "string" ? value : parseNumber(value, name, kind === "number" ? { kind: "number" } : kind, command);
  }
  return out;
}

/** One numeric flag's value, or a UsageError that gives the rule, the value and a good example. */
export function parseNumber(value: string, name: string, spec: IntFlag | NumberFlag, command: string): number {
  const isInt = spec.kind === "int";
  const n = Number(value);
  const ok =
    (isInt ? INT_TEXT.test(value) && Number.isSafeInteger(n) : NUMBER_TEXT.test(value) && Number.isFinite(n)) &&
    (spec.min === undefined || (spec.kind === "number" && spec.minExclusive ? n > spec.min : n >= spec.min)) &&
    (spec.max === undefined || (spec.kind === "number" && spec.maxExclusive ? n < spec.max : n <= spec.max));
  if (ok) return n === 0 ? 0 : n; // "-0" is 0
  const why = [spec.note, spec.reason].filter(Boolean).join("; ");
  throw new UsageError(
    `stlm ${command}: --${name} must be ${describeRule(spec)}${why ? ` (${why})` : ""}; got ${JSON.stringify(value)}${notationHint(value, isInt)}; ` +
      `for example --${name} ${exampleOf(spec)}`
  );
}

/** "a whole number from 0 to 100000", "a number > 0 and < 1", "a whole number >= 1". */
export function describeRule(spec: IntFlag | NumberFlag): string {
  const noun = spec.kind === "int" ? "a whole number" : "a number";
  const lowEx = spec.kind === "number" && !!spec.minExclusive;
  const highEx = spec.kind === "number" && !!spec.maxExclusive;
  const { min, max } = spec;
  if (min !== undefined && max !== undefined) return !lowEx && !highEx ? `${noun} from ${min} to ${max}` : `${noun} ${lowEx ? ">" : ">="} ${min} and ${highEx ? "<" : "<="} ${max}`;
  if (min !== undefined) return `${noun} ${lowEx ? ">" : ">="} ${min}`;
  if (max !== undefined) return `${noun} ${highEx ? "<" : "<="} ${max}`;
  return spec.kind === "int" ? `${noun} (decimal digits)` : `${noun} (decimal)`;
}

/** Why a value that Number() would have taken is refused: it is not written in plain decimal. */
function notationHint(value: string, isInt: boolean): string {
  const n = Number(value);
  if (/^\s*[+-]?0[xob]/i.test(value) && Number.isFinite(n)) return ` (write numbers in decimal: ${n})`;
  if (isInt && NUMBER_TEXT.test(value) && Number.isSafeInteger(n) && !INT_TEXT.test(value)) return ` (write whole numbers as plain digits: ${n})`;
  if (value.trim() !== value && value.trim() !== "") return " (remove the spaces)";
  return "";
}

function exampleOf(spec: IntFlag | NumberFlag): number {
  if (spec.example !== undefined) return spec.example;
  const { min, max } = spec;
  if (min === undefined) return max !== undefined ? Math.min(max, 1) : 1;
  const exclusive = spec.kind === "number" && spec.minExclusive;
  if (!exclusive) return min;
  return max !== undefined ? (min + max) / 2 : min + 1;
}

/** A progress line: a bar and the fields given. */
export function progressLine(done: number, total: number, fields: string[], width = 24): string {
  const filled = Math.round((done / Math.max(total, 1)) * width);
  return `${String(done).padStart(String(total).length)}/${total} [${"=".repeat(filled)}${" ".repeat(width - filled)}] ${fields.join(" | ")}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "--:--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
