// A live run's record: what the page's run snapshot (live-run.ts) knows, handed to the
// lab's one record builder (lib/runs/build.ts) with the facts only the page knows (the
// backend it computes on, the browser, the lab's build). Pure: the runs library calls
// it whenever a run evaluates or ends.
import { buildGameRunRecord, buildRunRecord, gameDataIdentity, runtimeOf, type BackendFacts } from "../lib/runs/build.js";
import type { RunRecord } from "../lib/runs/record.js";
import type { RunSnapshot } from "./live-run.js";
import type { PairArmSnapshot } from "./pair-run.js";
import type { ArmRecord } from "../lib/experiments/sharing.js";
import type { SharingFacts } from "./sharing-ab.js";
import type { ObjectivesArmSnapshot, ObjectivesFacts } from "./objectives-ab.js";
import type { ABModelSnapshot, ABSnapshot } from "./ab-run.js";
import type { LiveSnapshot as SelfPlaySnapshot } from "./selfplay-live.js";

/** An id for one arm of runs started together (arms may share every setting): start time, arm, seed. */
function armId(startedAt: string, label: string, seed: number): string {
  return `${Date.parse(startedAt).toString(36)}-${label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}-${seed}`;
}

export interface PageFacts {
  /** The page's path ("/train"). */
  page: string;
  backend: BackendFacts;
  /** The browser's user agent. */
  platform: string;
  lab: { version: string; commit: string | null };
}

/** The record of a live run so far; null until the run has read its data and started training. */
export function liveRunRecord(run: RunSnapshot, facts: PageFacts): RunRecord | null {
  if (!run.model || !run.train || !run.data || !run.startedAt || run.steps.length === 0) return null;
  return buildRunRecord({
    label: `${run.label}, seed ${run.train.seed} (run ${run.runNumber})`,
    origin: "page",
    page: facts.page,
    ...(run.preset ? { preset: run.preset } : {}),
    spec: { kind: "bytes", model: run.model },
    train: run.train,
    data: run.data,
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: run.startedAt,
    ...(run.finishedAt && (run.status === "done" || run.status === "stopped") ? { finishedAt: run.finishedAt } : {}),
    steps: run.steps.map(({ step, loss, lr, tokensPerSecond, elapsedMs }) => ({ step, loss, lr, tokensPerSecond, elapsedMs })),
    evals: run.evals.map(({ step, valBitsPerByte }) => ({ step, valBitsPerByte })),
    stopped: run.status === "stopped",
    ...(liveRunNotes(run).length ? { notes: liveRunNotes(run) } : {})
  });
}

/** What a resumed or extended run's record says about where its steps begin and how its plan changed. */
function liveRunNotes(run: RunSnapshot): string[] {
  const notes: string[] = [];
  if (run.resumedFrom !== undefined) notes.push(`resumed from a checkpoint saved at step ${run.resumedFrom}: the steps before it are not in this record`);
  for (const e of run.extensions ?? []) notes.push(`extended at step ${e.atStep} from ${e.fromSteps} to ${e.toSteps} planned steps (as \`stlm train --extend-to\`): the learning-rate schedule is planned over ${e.toSteps} steps from there on`);
  return notes;
}

/** The record of one arm of a page's A/B pair (pair-run.ts: the dropout and distillation pages); null before its first step. */
export function pairArmRecord(arm: PairArmSnapshot, { stopped, prefix }: { stopped: boolean; prefix: string }, facts: PageFacts): RunRecord | null {
  if (!arm.facts || !arm.startedAt || arm.losses.length === 0) return null;
  const f = arm.facts;
  // The arms of a pair start together and may share every setting (a distillation arm differs by its loss): the arm names the id.
  const id = armId(arm.startedAt, arm.label, f.train.seed);
  return buildRunRecord({
    id,
    label: `${prefix}${arm.label}, seed ${f.train.seed}`,
    origin: "page",
    page: facts.page,
    preset: f.preset,
    spec: f.spec,
    train: f.train,
    data: f.data,
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: arm.startedAt,
    steps: arm.losses.map(({ step, loss, tokensPerSecond }) => ({ step, loss, ...(tokensPerSecond !== undefined ? { tokensPerSecond } : {}) })),
    evals: arm.evals.map(({ step, valBitsPerByte }) => ({ step, valBitsPerByte })),
    stopped: stopped && !arm.done,
    ...(f.notes ? { notes: f.notes } : {})
  });
}

/** The record of one arm of the sharing page's A/B run (sharing-ab.ts); null before its first step. */
export function sharingArmRecord(arm: ArmRecord, run: { facts?: SharingFacts; stopped: boolean; experiment?: string }, facts: PageFacts): RunRecord | null {
  const f = run.facts;
  if (!f || arm.steps.length === 0) return null;
  return buildRunRecord({
    id: armId(f.startedAt, arm.label, f.train.seed),
    label: `sharing${run.experiment ? ` (${run.experiment})` : ""}: ${arm.label}, seed ${f.train.seed}`,
    origin: "page",
    page: facts.page,
    preset: "nano",
    spec: { kind: "bytes", model: arm.model },
    train: f.train,
    data: f.data,
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: f.startedAt,
    steps: arm.steps.map(({ step, loss }) => ({ step, loss })),
    evals: arm.evals.map(({ step, valBitsPerByte }) => ({ step, valBitsPerByte })),
    tokensPerSecond: arm.tokensPerSecond,
    stopped: run.stopped,
    notes: ["the two arms stepped in turn on one machine: bytes/s is each arm's mean over the run, not per step"]
  });
}

/** The record of one arm of the objectives page's A/B run (objectives-ab.ts); null before its first step. */
export function objectivesArmRecord(arm: ObjectivesArmSnapshot, run: { facts?: ObjectivesFacts; stopped: boolean }, facts: PageFacts): RunRecord | null {
  const f = run.facts;
  if (!f || !arm.spec || arm.steps.length === 0) return null;
  const block = arm.spec.kind === "bytes" ? arm.spec.model.blockSize : 0;
  return buildRunRecord({
    id: armId(f.startedAt, arm.label, f.train.seed),
    label: `objectives: ${arm.label}, seed ${f.train.seed}`,
    origin: "page",
    page: facts.page,
    preset: "nano",
    spec: arm.spec,
    train: f.train,
    data: f.data,
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: f.startedAt,
    steps: arm.steps.map(({ step, loss }) => ({ step, loss })),
    evals: arm.evals.map(({ step, valBitsPerByte }) => ({ step, valBitsPerByte })),
    ...(arm.msPerStep > 0 && block > 0 ? { tokensPerSecond: (f.train.batchSize * block * 1000) / arm.msPerStep } : {}),
    stopped: run.stopped,
    notes: ["the train loss is this arm's own objective's, so it does not compare across objectives; validation bits/byte is head 1's (the next byte); bytes/s is over the run, the two arms taking turns"]
  });
}

/** The record of one model of the tokenizer-free page's live comparison (ab-run.ts); null before its first step. */
export function tokenizerFreeModelRecord(model: ABModelSnapshot, run: { facts?: ABSnapshot["facts"]; stopped: boolean }, facts: PageFacts): RunRecord | null {
  const f = run.facts;
  if (!f || model.losses.length === 0) return null;
  const perPosition = model.spec.kind === "bpe-tokens" ? "per BPE token" : model.spec.kind === "pooled" ? "per chunk position (the pooled model's own objective)" : "per byte";
  return buildRunRecord({
    id: armId(f.startedAt, model.label, model.train.seed),
    label: `tokenizer-free: ${model.label}, seed ${model.train.seed}`,
    origin: "page",
    page: facts.page,
    preset: model.kind,
    spec: model.spec,
    train: model.train,
    data: f.data,
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: f.startedAt,
    steps: model.losses.map(({ step, loss }) => ({ step, loss })),
    // The models train for equal seconds, so each evaluation keeps its training time (the page's seconds chart).
    evals: model.evals.map(({ step, valBitsPerByte, elapsedMs }) => ({ step, valBitsPerByte, elapsedMs: Math.round(elapsedMs) })),
    tokensPerSecond: model.bytesPerSecond,
    stopped: run.stopped && !model.done,
    notes: [
      `the models trained in turn for the same seconds each, on a constant learning rate after warm-up: the run ended on time, so the planned ${model.train.steps.toLocaleString("en-US")} steps say only that no step count was planned`,
      `the train loss is ${perPosition}, so it compares across these models only where they predict the same units; validation bits/byte is on the same held-out bytes for all; bytes/s is the last step's`
    ]
  });
}

/** The record (kind "game") of the self-play page's live run; null before its first iteration. */
export function selfPlayLiveRecord(run: SelfPlaySnapshot, facts: PageFacts): RunRecord | null {
  const r = run.record;
  if (!r || !run.spec || !run.train || !run.startedAt || r.iterations.length === 0) return null;
  const ended = run.status === "done" || run.status === "stopped";
  return buildGameRunRecord({
    id: armId(run.startedAt, `${r.game}-${r.arm}`, r.seed),
    label: `${r.game === "tictactoe" ? "tic-tac-toe" : r.game}: ${r.arm}, seed ${r.seed} (live run ${run.runNumber ?? 1})`,
    origin: "page",
    page: facts.page,
    spec: run.spec,
    train: run.train,
    // The page's live self-play is tic-tac-toe, which reads no text: its rules identify its data.
    data: r.game === "tictactoe" ? gameDataIdentity("tictactoe") : { name: r.game, sha256: null, bytes: null },
    lab: facts.lab,
    runtime: runtimeOf(facts.backend, facts.platform),
    startedAt: run.startedAt,
    ...(ended ? { finishedAt: new Date().toISOString() } : {}),
    game: { name: r.game, arm: r.arm, config: r.config as unknown as Record<string, unknown>, iterations: r.iterations, evals: r.evals },
    stopped: run.status === "stopped",
    seconds: r.seconds
  });
}
