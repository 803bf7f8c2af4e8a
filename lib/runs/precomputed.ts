// Run records for precomputed figures whose files predate run records: the sharing
// page's A/B files (data/runs/sharing/ID.json, scripts/sharing-runs.ts) hold, per arm
// and seed, the model config and every step's loss, and the experiment's training
// settings. Read as the lab's record (lib/runs/record.ts) they can be re-run and
// checked like any run.json; what the files never held (the data's hash, the lab's
// version and commit, the Node version) is null or "unknown" and said in `notes`.
import { presetConfig, type ModelConfig, type TrainConfig } from "../config.js";
import { SHARING_TRAIN } from "../experiments/sharing.js";
import { makeRunRecord, type RunRecord } from "./record.js";

/** One seed of one arm of a sharing file, as the file stores it. */
export interface SharingFileSeed {
  seed: number;
  steps: [number, number][] | { step: number; loss: number }[];
  evals: [number, number][] | { step: number; valBitsPerByte: number }[];
}

export interface SharingFile {
  experiment: string;
  title: string;
  corpus: string;
  train: Partial<TrainConfig>;
  command?: string;
  backend?: { name?: string; threads?: number; simd?: boolean };
  createdAt?: string;
  arms: { label: string; model: ModelConfig; seeds?: SharingFileSeed[] }[];
}

/** The training config a sharing arm trained with: SharingRun's (lib/experiments/sharing.ts), over the file's settings, at this seed. */
export function sharingTrainConfig(file: Pick<SharingFile, "train">, seed: number): TrainConfig {
  return presetConfig("nano", { train: { ...SHARING_TRAIN, ...file.train, seed } }).train;
}

const pairs = <T extends string>(rows: [number, number][] | Record<string, number>[], key: T) =>
  rows.map((r) => (Array.isArray(r) ? { step: r[0], [key]: r[1] } : { step: r.step, [key]: r[key] })) as ({ step: number } & Record<T, number>)[];

/** The record of one arm at one seed of a sharing file. */
export function sharingArmRecord(file: SharingFile, arm: number, seed: number, fileName = `data/runs/sharing/${file.experiment}.json`): RunRecord {
  const a = file.arms[arm];
  if (!a) throw new Error(`${fileName} has no arm ${arm}`);
  const run = a.seeds?.find((s) => s.seed === seed);
  if (!run) throw new Error(`${fileName}: arm "${a.label}" has no run with seed ${seed}`);
  return makeRunRecord({
    label: `${file.title}: ${a.label}, seed ${seed}`,
    origin: "precomputed",
    page: "/sharing",
    spec: { kind: "bytes", model: a.model },
    train: sharingTrainConfig(file, seed),
    data: { name: file.corpus, sha256: null, bytes: null },
    lab: { version: "unknown", commit: null },
    runtime: { backend: file.backend?.name ?? "unknown", threads: file.backend?.threads ?? 1, simd: file.backend?.simd ?? false, fma: null, platform: "node, version not recorded" },
    startedAt: file.createdAt ?? "1970-01-01T00:00:00.000Z",
    steps: pairs(run.steps, "loss"),
    evals: pairs(run.evals, "valBitsPerByte"),
    notes: [`read from ${fileName} (made by \`${file.command ?? "scripts/sharing-runs.ts"}\`), which keeps no data hash, lab version or commit, or Node version`]
  });
}
