// The run record: one typed, versioned JSON shape for a training run, whoever made
// it — `stlm train` (run.json in its run folder), a live run in a page, a data
// loader reading a precomputed run, or a file a reader imports. Tables and charts
// take records, never ad-hoc shapes.
//
// A record says what was trained (model spec, training config, seed), on what
// (the data's name and the SHA-256 of the bytes read), by what (lab version and git
// commit, backend, threads, SIMD/FMA, Node or browser), when, how it went (train loss
// per step, validation bits/byte per evaluation, tokens/s), how it ended, and the
// checkpoint's hash when one was saved.
//
// A game run (`stlm selfplay`, the self-play page) is a record of kind "game": the
// same envelope (the byte model's spec, the TrainConfig its checkpoint records, the
// data's identity, lab, runtime, times), its step rows one per iteration (the
// iteration's imitation or expert loss, where it has one), and under `game` what a
// language-model run has no place for: the game, the arm, the self-play settings,
// every iteration's games and every evaluation against the reference players. A
// record without `kind` is a language-model run (every record written before game
// records existed), so old files read as they did.
//
// Everything here is pure and DOM-free. Imported files are checked by
// `parseRunRecord` (size, JSON, format, version, every number finite) and refused
// with a RunRecordError saying what was wrong and what to do.
import { validateTrainConfig, type TrainConfig } from "../config.js";
import { validateSpec, type ModelSpec } from "../models/models.js";

export const RUN_RECORD_FORMAT = "stlm-run";
/** Bumped when a field changes meaning; readers refuse versions they don't know. */
export const RUN_RECORD_VERSION = 1;
/** The largest run file an import reads: a record of a million steps is ~60 MB. */
export const MAX_RUN_RECORD_BYTES = 64 * 2 ** 20;
/** The most step rows a record may hold. */
export const MAX_RECORD_STEPS = 1_000_000;

/** Where a record came from. */
export type RunOrigin = "cli" | "page" | "precomputed" | "import";
export const RUN_ORIGINS: readonly RunOrigin[] = ["cli", "page", "precomputed", "import"];

export interface RunStepRow {
  step: number;
  /** Training loss (bits per predicted byte for byte models, per token for token models). */
  loss: number;
  lr?: number;
  /** Positions (bytes for byte models, tokens for token models) trained per second. */
  tokensPerSecond?: number;
  elapsedMs?: number;
}

export interface RunEvalRow {
  step: number;
  valBitsPerByte: number;
  /**
   * Training time (evaluation excluded) when the evaluation was taken, in ms, where the
   * run kept it: the tokenizer-free page's models, which train for equal seconds. Absent
   * in older records and in runs that keep time per step instead.
   */
  elapsedMs?: number;
}

export interface RunDataIdentity {
  /** A corpus name ("austen") or the reader's own text ("text:FILE" / "text:pasted"). */
  name: string;
  /** SHA-256 of the training and validation bytes read, in that order; null when not recorded (older runs). */
  sha256: string | null;
  /** Bytes hashed: training + validation. */
  bytes: number | null;
  /**
   * What identifies the data, in words, where the name and hash alone do not say it:
   * a game run's (lib/runs/build.ts gameDataIdentity). Tic-tac-toe reads no text, so
   * its hash is null and its data is the rules engine at the record's lab version and
   * commit; the word chain's words come from a corpus's train split, whose corpus is hashed.
   */
  identifiedBy?: string;
}

export interface RunRuntime {
  /** The tfjs backend that trained: wasm, cpu, webgl, webgpu. */
  backend: string;
  threads: number;
  simd: boolean;
  /** Whether the lab's matrix products used fused multiply-add (relaxed SIMD); null when unknown. */
  fma: boolean | null;
  /** "node v20.19.0" or the browser's user agent. */
  platform: string;
}

export interface RunFinal {
  steps: number;
  plannedSteps: number;
  stopped: boolean;
  trainLoss: number | null;
  valBitsPerByte: number | null;
  meanTokensPerSecond: number | null;
  /** Further evaluations by name (e.g. "test/austen bits/byte", "minimal-pairs accuracy"). */
  evaluations?: Record<string, number>;
}

/** Results of a set of games from the model's side (lib/train/selfplay.ts GameStats). */
export interface RunGameStats {
  games: number;
  win: number;
  draw: number;
  loss: number;
  /** The model's moves the rules engine refused, over all its moves. */
  illegalRate: number;
  illegalGames?: number;
  meanLength: number;
  moves?: number;
}

/** What a game run records beyond the envelope: one row per iteration and per evaluation. */
export interface RunGame {
  /** "tictactoe" or "wordchain". */
  name: string;
  /** "self-play", or "imitation only" (the control). */
  arm: string;
  /** The self-play settings (lib/train/selfplay.ts SelfPlayConfig), as the run used them. */
  config: Record<string, unknown>;
  iterations: { iteration: number; phase: "imitation" | "selfplay"; loss: number | null; meanReward: number | null; stats: RunGameStats }[];
  evals: { iteration: number; opponent: string; stats: RunGameStats }[];
  /** Tic-tac-toe: the final model's exact results over every game (lib/games/tictactoe-exact.ts), when measured. */
  exact?: Record<string, unknown>;
}

/** A record's kind: a language-model training run (no `kind` field) or a game run. */
export type RunKind = "lm" | "game";

export interface RunRecord {
  format: typeof RUN_RECORD_FORMAT;
  version: typeof RUN_RECORD_VERSION;
  /** "game" for a game run; absent for a language-model run (all records before game runs). */
  kind?: "game";
  /** Stable within a runs library: derived from the start time and the config unless given. */
  id: string;
  label: string;
  origin: RunOrigin;
  /** The page that made or shows it ("/train"), when there is one. */
  page?: string;
  preset?: string;
  spec: ModelSpec;
  train: TrainConfig;
  data: RunDataIdentity;
  lab: { version: string; commit: string | null };
  runtime: RunRuntime;
  startedAt: string;
  finishedAt?: string;
  metrics: { steps: RunStepRow[]; evals: RunEvalRow[] };
  final: RunFinal | null;
  checkpoint: { sha256: string; bytes: number } | null;
  /** What a record built from an older run folder could not know, in words. */
  notes?: string[];
  /** A game run's games and evaluations (only with kind "game"). */
  game?: RunGame;
}

/** Whether a record is a game run's. */
export const isGameRecord = (r: RunRecord): r is RunRecord & { kind: "game"; game: RunGame } => r.kind === "game" && r.game !== undefined;

/** A run file that cannot be read as a record; the message says what was wrong and what to do. */
export class RunRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunRecordError";
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Refuses a file too large to be a run record before it is read. */
export function checkRunFileSize(bytes: number, what = "the run file"): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RunRecordError(`${what} has no readable size`);
  if (bytes === 0) throw new RunRecordError(`${what} is empty; export a run from a page's runs table or use a run folder's run.json`);
  if (bytes > MAX_RUN_RECORD_BYTES) {
    throw new RunRecordError(`${what} is ${formatSize(bytes)}, more than the ${formatSize(MAX_RUN_RECORD_BYTES)} a run record may be; is it a checkpoint or a corpus rather than a run's JSON?`);
  }
}

function formatSize(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** Parses and checks a run file's text; a record of an unknown or malformed shape is refused. */
export function parseRunRecord(text: string, what = "the run file"): RunRecord {
  checkRunFileSize(new TextEncoder().encode(text).length, what);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // A record is one object: text that stops before its closing brace was cut short, whatever the parser's words for it.
    const truncated = /end of (JSON )?input|Unterminated/i.test((e as Error).message) || !/}\s*$/.test(text);
    throw new RunRecordError(
      `${what} is not valid JSON${truncated ? " (it ends too early: was the download or copy cut short?)" : ""}: ${(e as Error).message}`
    );
  }
  return validateRunRecord(raw, what);
}

/** Checks a parsed value is a run record this lab can read; returns it with defaults filled in. */
export function validateRunRecord(raw: unknown, what = "the run file"): RunRecord {
  const fail = (msg: string): never => {
    throw new RunRecordError(`${what}: ${msg}`);
  };
  if (!isObj(raw)) fail("is not a run record (a JSON object was expected)");
  const r = raw as Record<string, unknown>;
  if (r.format !== RUN_RECORD_FORMAT) fail(`is not a lab run record (format ${JSON.stringify(r.format)}, expected "${RUN_RECORD_FORMAT}"); export runs with the lab's "download run" or use run.json from \`stlm train\``);
  if (r.version !== RUN_RECORD_VERSION) {
    fail(
      typeof r.version === "number" && r.version > RUN_RECORD_VERSION
        ? `is run record version ${r.version}, newer than this lab reads (${RUN_RECORD_VERSION}); open it with a newer lab`
        : `has run record version ${JSON.stringify(r.version)}; this lab reads version ${RUN_RECORD_VERSION}`
    );
  }
  const nonFinite = firstNonFinite(r, "");
  if (nonFinite) fail(`${nonFinite.path} is ${nonFinite.value}, not a finite number; the file is damaged or was written by hand`);
  for (const k of ["id", "label", "startedAt"] as const) if (typeof r[k] !== "string") fail(`${k} must be a string`);
  if (!RUN_ORIGINS.includes(r.origin as RunOrigin)) fail(`origin must be one of ${RUN_ORIGINS.join(", ")} (got ${JSON.stringify(r.origin)})`);
  let spec: ModelSpec;
  let train: TrainConfig;
  try {
    spec = validateSpec(structuredClone(r.spec) as ModelSpec);
    train = validateTrainConfig(structuredClone(r.train) as TrainConfig);
  } catch (e) {
    return fail(`its model or training settings are invalid: ${(e as Error).message}`);
  }
  const data = r.data;
  if (!isObj(data) || typeof data.name !== "string" || !(data.sha256 === null || (typeof data.sha256 === "string" && /^[0-9a-f]{64}$/.test(data.sha256)))) {
    fail('data must be {name, sha256 (64 hex digits or null), bytes}');
  }
  if ((data as Record<string, unknown>).identifiedBy !== undefined && typeof (data as Record<string, unknown>).identifiedBy !== "string") fail("data.identifiedBy, where present, must be a text saying what identifies the data");
  const lab = r.lab;
  if (!isObj(lab) || typeof lab.version !== "string" || !(lab.commit === null || typeof lab.commit === "string")) fail("lab must be {version, commit}");
  const rt = r.runtime;
  if (!isObj(rt) || typeof rt.backend !== "string" || !isCount(rt.threads) || typeof rt.simd !== "boolean" || typeof rt.platform !== "string") {
    fail("runtime must be {backend, threads, simd, fma, platform}");
  }
  const metrics = r.metrics;
  if (!isObj(metrics) || !Array.isArray(metrics.steps) || !Array.isArray(metrics.evals)) fail("metrics must be {steps: [...], evals: [...]}");
  const m = metrics as { steps: unknown[]; evals: unknown[] };
  if (m.steps.length > MAX_RECORD_STEPS) fail(`holds ${m.steps.length} step rows, more than the ${MAX_RECORD_STEPS} a record may hold`);
  m.steps.forEach((row, i) => {
    if (!isObj(row) || !isCount(row.step) || typeof row.loss !== "number") fail(`metrics.steps[${i}] must be {step (a whole number), loss, ...}`);
  });
  m.evals.forEach((row, i) => {
    if (!isObj(row) || !isCount(row.step) || typeof row.valBitsPerByte !== "number") fail(`metrics.evals[${i}] must be {step, valBitsPerByte}`);
    const elapsedMs = (row as Record<string, unknown>).elapsedMs;
    if (elapsedMs !== undefined && !(typeof elapsedMs === "number" && elapsedMs >= 0)) fail(`metrics.evals[${i}].elapsedMs, where present, must be the training milliseconds (a number, 0 or more)`);
  });
  const ck = r.checkpoint;
  if (!(ck === null || ck === undefined || (isObj(ck) && typeof ck.sha256 === "string" && isCount(ck.bytes)))) fail("checkpoint must be null or {sha256, bytes}");
  const final = r.final;
  if (!(final === null || final === undefined || (isObj(final) && isCount(final.steps)))) fail("final must be null or {steps, ...}");
  if (r.kind !== undefined && r.kind !== "game") fail(`kind must be "game" or absent (a language-model run), not ${JSON.stringify(r.kind)}; this lab reads no other kind of run`);
  if (r.kind === "game") validateGame(r.game, fail);
  else if (r.game !== undefined) fail('has a "game" part but no kind "game"; a language-model run has no games');
  return {
    ...(r as unknown as RunRecord),
    spec,
    train,
    runtime: { ...(rt as unknown as RunRuntime), fma: typeof (rt as Record<string, unknown>).fma === "boolean" ? ((rt as Record<string, unknown>).fma as boolean) : null },
    final: (final ?? null) as RunFinal | null,
    checkpoint: (ck ?? null) as RunRecord["checkpoint"]
  };
}

const GAME_PHASES = ["imitation", "selfplay"];

/** A game run's games: the game, the arm, its settings, every iteration's and every evaluation's results (rates from 0 to 1). */
function validateGame(g: unknown, fail: (msg: string) => never): void {
  if (!isObj(g)) fail('is a game run (kind "game") without its "game" part {name, arm, config, iterations, evals}');
  const game = g as Record<string, unknown>;
  if (typeof game.name !== "string" || game.name === "") fail("game.name must name the game (\"tictactoe\", \"wordchain\")");
  if (typeof game.arm !== "string") fail("game.arm must be a string (\"self-play\", \"imitation only\")");
  if (!isObj(game.config)) fail("game.config must be the run's self-play settings (an object)");
  if (!Array.isArray(game.iterations) || !Array.isArray(game.evals)) fail("game.iterations and game.evals must be lists");
  if ((game.iterations as unknown[]).length > MAX_RECORD_STEPS) fail(`game.iterations holds more than the ${MAX_RECORD_STEPS} rows a record may hold`);
  const stats = (s: unknown, where: string) => {
    if (!isObj(s) || !isCount(s.games) || typeof s.meanLength !== "number") fail(`${where}.stats must be {games (a whole number), win, draw, loss, illegalRate, meanLength}`);
    for (const k of ["win", "draw", "loss", "illegalRate"]) {
      const v = (s as Record<string, unknown>)[k];
      if (typeof v !== "number" || v < 0 || v > 1) fail(`${where}.stats.${k} must be a share of games from 0 to 1 (got ${JSON.stringify(v)})`);
    }
  };
  (game.iterations as unknown[]).forEach((row, i) => {
    const where = `game.iterations[${i}]`;
    if (!isObj(row) || !isCount(row.iteration) || !GAME_PHASES.includes(row.phase as string)) fail(`${where} must be {iteration (a whole number), phase ("imitation" or "selfplay"), loss, meanReward, stats}`);
    const r = row as Record<string, unknown>;
    if (!(r.loss === null || typeof r.loss === "number") || !(r.meanReward === null || typeof r.meanReward === "number")) fail(`${where}.loss and .meanReward must be numbers or null`);
    stats(r.stats, where);
  });
  (game.evals as unknown[]).forEach((row, i) => {
    const where = `game.evals[${i}]`;
    if (!isObj(row) || !isCount(row.iteration) || typeof row.opponent !== "string") fail(`${where} must be {iteration (a whole number), opponent, stats}`);
    stats((row as Record<string, unknown>).stats, where);
  });
  if (!(game.exact === undefined || isObj(game.exact))) fail("game.exact must be an object when present");
}

const isCount = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** The first number in a JSON value that is not finite (JSON.parse turns 1e999 into Infinity), with its path. */
function firstNonFinite(v: unknown, path: string): { path: string; value: string } | null {
  if (typeof v === "number") return Number.isFinite(v) ? null : { path: path || "a value", value: String(v) };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = firstNonFinite(v[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      const found = firstNonFinite(x, path ? `${path}.${k}` : k);
      if (found) return found;
    }
  }
  return null;
}

/** What makeRunRecord is given: a record's own fields, less those it fills in (format, version, and the id unless given). */
export type RecordParts = Omit<RunRecord, "format" | "version" | "id" | "metrics" | "final" | "checkpoint" | "notes"> & {
  steps?: RunStepRow[];
  evals?: RunEvalRow[];
  final?: RunFinal | null;
  checkpoint?: RunRecord["checkpoint"];
  notes?: string[];
  id?: string;
  kind?: "game";
  game?: RunGame;
};

/** Builds a record; its id is derived from the start time, seed and config unless one is given. */
export function makeRunRecord(p: RecordParts): RunRecord {
  const record: RunRecord = {
    format: RUN_RECORD_FORMAT,
    version: RUN_RECORD_VERSION,
    ...(p.kind !== undefined ? { kind: p.kind } : {}),
    // A game run's id also covers the game, the arm and its settings (two arms of one start share a TrainConfig).
    id: p.id ?? runId(p.startedAt, p.train.seed, p.spec, p.game ? { train: p.train, game: [p.game.name, p.game.arm, p.game.config] } : p.train),
    label: p.label,
    origin: p.origin,
    ...(p.page !== undefined ? { page: p.page } : {}),
    ...(p.preset !== undefined ? { preset: p.preset } : {}),
    spec: p.spec,
    train: p.train,
    data: p.data,
    lab: p.lab,
    runtime: p.runtime,
    startedAt: p.startedAt,
    ...(p.finishedAt !== undefined ? { finishedAt: p.finishedAt } : {}),
    metrics: { steps: p.steps ?? [], evals: p.evals ?? [] },
    final: p.final ?? null,
    checkpoint: p.checkpoint ?? null,
    ...(p.notes?.length ? { notes: p.notes } : {}),
    ...(p.game !== undefined ? { game: p.game } : {})
  };
  return validateRunRecord(JSON.parse(JSON.stringify(record)), "the new run record");
}

/** The end of a run from its metrics: last loss, last validation, mean throughput. */
export function summarizeMetrics(steps: readonly RunStepRow[], evals: readonly RunEvalRow[], plannedSteps: number, stopped = false): RunFinal | null {
  if (steps.length === 0) return null;
  const last = steps[steps.length - 1];
  const tps = steps.map((s) => s.tokensPerSecond).filter((x): x is number => typeof x === "number");
  return {
    steps: last.step,
    plannedSteps,
    stopped,
    trainLoss: last.loss,
    valBitsPerByte: evals.length ? evals[evals.length - 1].valBitsPerByte : null,
    meanTokensPerSecond: tps.length ? Math.round(tps.reduce((a, b) => a + b, 0) / tps.length) : null
  };
}

/** A short id: the start time in base 36 and an FNV-1a hash of the settings. */
function runId(startedAt: string, seed: number, spec: ModelSpec, train: unknown): string {
  const text = JSON.stringify({ startedAt, seed, spec, train });
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const t = Date.parse(startedAt);
  return `${Number.isNaN(t) ? "run" : t.toString(36)}-${h.toString(16).padStart(8, "0")}`;
}

const CSV_COLUMNS = ["step", "loss", "lr", "tokensPerSecond", "elapsedMs", "valBitsPerByte"] as const;

const GAME_CSV_COLUMNS = ["iteration", "phase", "opponent", "lossValue", "meanReward", "games", "win", "draw", "loss", "illegalRate", "meanLength"] as const;

/** A game run's metrics as CSV: one row per iteration (its training games; opponent "self") and per evaluation (one per opponent). */
function gameCsv(game: RunGame): string {
  const rows: Record<string, string | number | null>[] = [
    ...game.iterations.map((r) => ({ iteration: r.iteration, phase: r.phase, opponent: r.phase === "selfplay" ? "frozen copy" : "scripted", lossValue: r.loss, meanReward: r.meanReward, ...r.stats })),
    ...game.evals.map((e) => ({ iteration: e.iteration, phase: "eval", opponent: e.opponent, lossValue: null, meanReward: null, ...e.stats }))
  ].sort((a, b) => (a.iteration as number) - (b.iteration as number));
  const cell = (v: string | number | null | undefined) => (v === undefined || v === null ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  // "lossValue" is the iteration's training loss (nats per move byte); "loss" the share of games lost.
  const header = GAME_CSV_COLUMNS.map((c) => (c === "lossValue" ? "trainLoss" : c === "loss" ? "lossRate" : c));
  return [header.join(","), ...rows.map((r) => GAME_CSV_COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** A record's metrics as CSV: one row per step, with the validation bits/byte on the steps that were evaluated (a game run: see gameCsv). */
export function metricsCsv(record: RunRecord): string {
  if (isGameRecord(record)) return gameCsv(record.game);
  const evals = new Map(record.metrics.evals.map((e) => [e.step, e.valBitsPerByte]));
  const rows = record.metrics.steps.map((s) => {
    const row: Record<string, number | undefined> = { ...s, valBitsPerByte: evals.get(s.step) };
    evals.delete(s.step);
    return row;
  });
  // An evaluation at a step with no training row (step 0) keeps its own row.
  for (const [step, valBitsPerByte] of evals) rows.push({ step, valBitsPerByte });
  rows.sort((a, b) => (a.step as number) - (b.step as number));
  const cell = (v: number | undefined) => (v === undefined ? "" : String(v));
  return [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/** The settings where `b` differs from `a`, as "path: a → b" strings (for a runs table's "config diff" column). */
export function configDiff(a: RunRecord, b: RunRecord): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isObj(x) && isObj(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) {
      out.push(`${path}: ${JSON.stringify(x) ?? "–"} → ${JSON.stringify(y) ?? "–"}`);
    }
  };
  // A game run's arm and self-play settings too (both undefined for language-model runs, so they add nothing there).
  const game = (r: RunRecord) => (r.game ? { name: r.game.name, arm: r.game.arm, config: r.game.config } : undefined);
  walk({ preset: a.preset, data: a.data.name, spec: a.spec, train: a.train, game: game(a) }, { preset: b.preset, data: b.data.name, spec: b.spec, train: b.train, game: game(b) }, "");
  return out;
}
