// What the training worker can run: each engine kind of lab-protocol.ts wraps one of
// the lab's run classes (LiveRun, the A/B runs, self-play), whose snapshots are
// already plain arrays, behind one shape the worker drives. Runs only in the worker.
import { LiveRun, continueText, type RunRequest } from "./live-run.js";
import { attentionMaps } from "../lib/eval/sample.js";
import { decodeBytes, encodeText } from "../lib/text/tokenizer.js";
import { corpusFromGzip, corpusFromText, type Corpus } from "../lib/text/data.js";
import { ABController } from "./sharing-ab.js";
import { ObjectivesAB } from "./objectives-ab.js";
import { ABRun, type ABRequest } from "./ab-run.js";
import type { ComparisonKind } from "../lib/experiments/tokenizer-free.js";
import { PairRun, type PairArm } from "./pair-run.js";
import { dropoutArm, dropoutRunConfig, regimeTrainBytes, runDropoutArm, type DropoutRegime } from "../lib/experiments/dropout.js";
import { distillTrainConfig, runDistillArm, STUDENT_MODEL, type DistillArm } from "../lib/experiments/distill.js";
import { dataIdentity } from "../lib/runs/build.js";
import { decodeCheckpoint, labModelFromCheckpoint } from "../lib/train/checkpoint.js";
import { TinyLM } from "../lib/models/model.js";
import type { LabModel } from "../lib/models/models.js";
import type { Snapshot } from "../lib/train/snapshots.js";
import type { TrainConfig } from "../lib/config.js";
import { LiveSelfPlay } from "./selfplay-live.js";
import { ticTacToeSetup } from "../lib/games/games.js";
import { vocabularyFromText } from "../lib/games/wordchain.js";
import type { SelfPlayConfig } from "../lib/train/selfplay.js";
import type { ChunkCuts, CorpusSource, DisagreementsReply, DrawnAttention, EngineKind, EvalReply, ModelIdentity, SampleOptions, SpeculativeReply, WrittenText } from "./lab-protocol.js";
import { ObjectiveLM } from "../lib/models/objectives.js";
import { measureSpeculative } from "../lib/eval/speculative.js";
import { byteDisagreements } from "../lib/experiments/distill.js";
import { sampleMoves, type PolicyModel } from "../lib/models/moves.js";
import { Rng } from "../lib/rng.js";
import { PooledLM, type PooledConfig } from "../lib/models/pooled.js";
import { BPE_VOCAB, tokenizerFreeConfig } from "../lib/experiments/tokenizer-free.js";
import { BpeTokenizer, trainBpe } from "../lib/text/bpe.js";
import { bpeSpans } from "../lib/text/boundaries.js";
import { byteEntropies, entropySpans, trainEntropyModel, type EntropyModel } from "../lib/text/entropy.js";
import type { EvalData, EvalRunOptions, EvalSize } from "../lib/eval/evaluation.js";
import { Evaluations, evalEngine } from "./lab-eval.js";
import { recheckEngine } from "./lab-recheck.js";
import type { InterruptFlag } from "../lib/train/interrupt.js";

export type BusyWith = <T>(task: string, work: () => Promise<T> | T) => Promise<T>;

export interface Engine {
  subscribe(listener: (snapshot: unknown) => void): () => void;
  start(request: unknown): Promise<unknown>;
  pause?(): void;
  resume?(): void;
  stop(): void;
  dispose(): Promise<void> | void;
  load?(bytes: Uint8Array, label: string, opts: { onlyIfIdle: boolean }): Promise<boolean>;
  checkpoint?(meta: Record<string, unknown>): Promise<Uint8Array>;
  sample?(prompt: string, opts: SampleOptions): Promise<WrittenText | null>;
  attention?(text: string): Promise<DrawnAttention | null>;
  call?(method: string, args: unknown[]): Promise<unknown>;
  /** Each training snapshot (lib/train/snapshots.ts) once, with its run's number; the worker posts them as "training-snapshot" events. */
  trainingSnapshots?(listener: (snapshot: Snapshot, runNumber: number) => void): () => void;
  /** The model on the lab's evaluation (lab-eval.ts); `data` comes with a job's first call. */
  evaluate?(size: EvalSize, data: EvalData | undefined, options: Omit<EvalRunOptions, "afterBatch">): Promise<EvalReply>;
  /** A checkpoint's model kept under `slot` for the commands below. */
  loadModel?(slot: string, bytes: Uint8Array, label: string): Promise<ModelIdentity>;
  speculative?(prompt: string, opts: SampleOptions): Promise<SpeculativeReply>;
  disagreements?(text: string): Promise<DisagreementsReply | null>;
  move?(model: string, prompt: Uint8Array, maxBytes: number, end: number | null): Promise<Uint8Array>;
  chunks?(bytes: Uint8Array, train: Uint8Array | undefined): Promise<ChunkCuts>;
}

/**
 * Checkpoint models a run holds by slot name (each slot's model owned here: a new load
 * disposes the old), for the pages' inspecting commands.
 */
class Slots {
  private readonly models = new Map<string, { model: LabModel; who: ModelIdentity }>();
  private version = 0;

  constructor(private readonly allowed: readonly string[]) {}

  load(slot: string, bytes: Uint8Array, label: string): ModelIdentity {
    if (!this.allowed.includes(slot)) throw new Error(`no model slot "${slot}" in this run; it holds: ${this.allowed.join(", ")}`);
    const ckpt = decodeCheckpoint(bytes, label);
    const model = labModelFromCheckpoint(ckpt);
    this.models.get(slot)?.model.dispose();
    const who: ModelIdentity = { label, version: ++this.version, ...(typeof ckpt.meta?.step === "number" ? { step: ckpt.meta.step } : {}) };
    this.models.set(slot, { model, who });
    return who;
  }

  get(slot: string): { model: LabModel; who: ModelIdentity } | null {
    return this.models.get(slot) ?? null;
  }

  dispose(): void {
    for (const { model } of this.models.values()) model.dispose();
    this.models.clear();
  }
}

/** The train page's request: RunRequest with the corpus as bytes (functions do not cross threads). */
export interface TrainRequest extends Omit<RunRequest, "corpus"> {
  corpus: CorpusSource;
}

export function corpusRequest(source: CorpusSource): RunRequest["corpus"] {
  return source.kind === "named" ? { kind: "named", name: source.name, load: async () => source.bytes } : source;
}

/** Which model wrote or drew: the run's own record of the model it holds (not the label of a run still preparing). */
function identity(run: LiveRun): ModelIdentity | null {
  const who = run.modelIdentity;
  return who && { ...who, version: run.state.modelVersion };
}

function trainEngine(options: Record<string, unknown>, _busyWith: BusyWith, interrupt?: InterruptFlag): Engine {
  const run = new LiveRun({ backend: typeof options.backend === "string" ? options.backend : undefined, ...(interrupt ? { interrupt } : {}) });
  const evaluations = new Evaluations(interrupt?.check);
  return {
    // Training snapshots travel once each (trainingSnapshots below); the run's snapshot, posted every 150 ms, carries their count.
    subscribe: (l) => run.subscribe((s) => l({ ...s, trainingSnapshots: [], trainingSnapshotCount: s.trainingSnapshots.length })),
    trainingSnapshots: (l) => run.onTrainingSnapshot(l),
    evaluate: (size, data, opts) =>
      evaluations.evaluate(
        () => {
          const s = run.state.status;
          if (s === "running" || s === "paused" || s === "preparing") throw new Error("the model is training: evaluate it once the run is stopped or done (its weights change at every step)");
          const model = run.model;
          if (!model) throw new Error("there is no model yet: train one or load a checkpoint");
          return { model, key: run.state.modelVersion };
        },
        size,
        data,
        opts
      ),
    start: (request) => {
      const r = request as TrainRequest;
      return run.start({ ...r, corpus: corpusRequest(r.corpus) });
    },
    pause: () => run.pause(),
    resume: () => run.resume(),
    stop: () => run.stop(),
    dispose: () => run.dispose(),
    load: (bytes, label, opts) => run.load(bytes, label, opts),
    checkpoint: (meta) => run.checkpointBytes(meta),
    sample: async (prompt, opts) => {
      const model = run.model;
      const who = identity(run);
      if (!model || !who) return null;
      return { ...(await continueText(model, prompt, opts)), model: who };
    },
    attention: async (text) => {
      const model = run.model;
      const who = identity(run);
      if (!model || !who) return null;
      return { ...(await attentionMaps(model, encodeText(text))), model: who };
    }
  };
}

/** The corpus a request names, split as the lab splits it. */
export function corpusOf(source: CorpusSource): Promise<Corpus> {
  return source.kind === "named" ? corpusFromGzip(source.name, new Uint8Array(source.bytes)) : Promise.resolve(corpusFromText(source.text, { name: source.name }));
}

/** The sharing page's request: an experiment, its steps, and the corpus bytes. */
export interface SharingRequest {
  experiment: string;
  steps: number;
  corpus: CorpusSource;
}

/** The objectives page's request: the objective against next-byte, steps, seed, corpus bytes. */
export interface ObjectivesRequest {
  arm: string;
  steps: number;
  seed?: number;
  corpus: CorpusSource;
}

function sharingEngine(_options: Record<string, unknown>, _busyWith: BusyWith, interrupt?: InterruptFlag): Engine {
  const ab = new ABController(interrupt?.check);
  return {
    subscribe: (l) => ab.subscribe(l),
    start: async (request) => {
      const { corpus, ...r } = request as SharingRequest;
      // Run during a run: the page set the flag to "stop" so the old run's step ends at once; it is over, so clear it.
      await ab.stopAndWait();
      interrupt?.clear();
      return ab.start({ ...r, loadCorpus: () => corpusOf(corpus), dataName: corpus.name });
    },
    stop: () => ab.stop(),
    dispose: () => ab.dispose()
  };
}

function objectivesEngine(_options: Record<string, unknown>, _busyWith: BusyWith, interrupt?: InterruptFlag): Engine {
  const ab = new ObjectivesAB(interrupt?.check);
  const slots = new Slots(["mtp"]);
  return {
    loadModel: async (slot, bytes, label) => slots.load(slot, bytes, label),
    speculative: async (prompt, opts) => {
      const held = slots.get("mtp");
      if (!held) throw new Error("no multi-byte model loaded yet (the page sends it with loadModel, slot \"mtp\")");
      const { model, who } = held;
      if (!(model instanceof ObjectiveLM) || model.headCount < 2) throw new Error(`${who.label} is not a multi-byte model (one trained with --objective mtp:N): it cannot draft`);
      const tokens = opts.tokens ?? 200;
      if (!Number.isInteger(tokens) || tokens < 1 || tokens > 4096) throw new Error(`the sampler writes 1 to 4,096 bytes; got ${tokens}`);
      return { ...(await measureSpeculative(model, encodeText(prompt), { ...opts, tokens })), model: who };
    },
    subscribe: (l) => ab.subscribe(l),
    start: async (request) => {
      const { corpus, ...r } = request as ObjectivesRequest;
      // Run during a run: the page set the flag to "stop" so the old run's step ends at once; it is over, so clear it.
      await ab.stopAndWait();
      interrupt?.clear();
      return ab.start({ ...r, loadCorpus: () => corpusOf(corpus), dataName: corpus.name });
    },
    stop: () => ab.stop(),
    dispose: () => {
      slots.dispose();
      return ab.dispose();
    }
  };
}

function tokenizerFreeEngine(_options: Record<string, unknown>, _busyWith: BusyWith, interrupt?: InterruptFlag): Engine {
  const ab = new ABRun(interrupt?.check);
  // What the page's text display needs besides the rules it computes itself: the BPE and the
  // entropy model (trained once, on the bytes the first chunks command carries), and an
  // untrained learned-boundary predictor until a live run trains one.
  let cutters: { bpe: BpeTokenizer; vocab: number; entropy: EntropyModel } | null = null;
  let untrained: PooledLM | null = null;
  return {
    subscribe: (l) => ab.subscribe(l),
    start: (request) => ab.start(request as ABRequest),
    stop: () => ab.stop(),
    dispose: () => {
      untrained?.dispose();
      untrained = null;
      return ab.dispose();
    },
    chunks: async (bytes, train) => {
      if (!cutters) {
        if (!train) throw new Error("the first chunks command needs the training bytes (train) the BPE and the entropy model learn from");
        const merges = trainBpe(train, BPE_VOCAB);
        cutters = { bpe: new BpeTokenizer(merges), vocab: merges.vocabSize, entropy: trainEntropyModel(train) };
      }
      const trained = ab.model("learned")?.pooled;
      if (!trained && !untrained) untrained = PooledLM.create(tokenizerFreeConfig("learned") as PooledConfig, 1);
      return {
        bpeVocab: cutters.vocab,
        bpe: bpeSpans(bytes, cutters.bpe, 12),
        entropy: entropySpans(bytes, cutters.entropy, 12),
        entropies: Float32Array.from(byteEntropies(cutters.entropy, bytes)),
        threshold: cutters.entropy.threshold,
        learned: await (trained ?? untrained!).boundaries(bytes),
        learnedTrained: trained !== undefined
      };
    },
    // What the page draws from the trained pooled models: a trace over a text (learned boundaries come with chunks).
    call: async (method, args) => {
      if (method === "trace") return (await ab.model(args[0] as ComparisonKind)?.pooled?.trace(args[1] as Uint8Array)) ?? null;
      throw new Error(`the tokenizer-free run has no method "${method}"`);
    }
  };
}

/** The dropout page's two arms: a regime, two schedules by id, from one seed on the same batches. */
export interface DropoutPairRequest {
  kind: "dropout";
  regime: DropoutRegime;
  arms: string[];
  seed: number;
  overrides: Partial<TrainConfig>;
  corpus: CorpusSource;
}

/** The distillation page's arms: the student alone and distilled ones, against a teacher checkpoint. */
export interface DistillPairRequest {
  kind: "distill";
  /** The teacher's checkpoint bytes (read once per page; the worker keeps the model). */
  teacher: { name: string; bytes: Uint8Array } | null;
  arms: DistillArm[];
  seed: number;
  overrides: Partial<TrainConfig>;
  corpus: CorpusSource;
}

function pairEngine(_options: Record<string, unknown>, _busyWith: BusyWith, interrupt?: InterruptFlag): Engine {
  const check = interrupt?.check;
  const pair = new PairRun();
  // The teacher (sent with a distillation run, or loaded), and the precomputed student for the per-byte view.
  const slots = new Slots(["teacher", "student"]);
  // The alone arm's student of the last distillation run (a copy), for the page's per-byte view.
  let student: TinyLM | null = null;
  const arms = async (request: DropoutPairRequest | DistillPairRequest): Promise<PairArm[]> => {
    const corpus = await corpusOf(request.corpus);
    if (request.kind === "dropout") {
      // Each arm's record (runs library): its configs and the regime's training bytes + validation, hashed once.
      const data = dataIdentity(`${request.corpus.name} (${request.regime} regime)`, { train: regimeTrainBytes(request.regime, corpus.train), val: corpus.val });
      return request.arms.map((id) => ({
        label: dropoutArm(id).label,
        totalSteps: request.overrides.steps ?? 0,
        facts: (({ model, train }) => ({ preset: "nano", spec: { kind: "bytes" as const, model }, train, data }))(dropoutRunConfig(dropoutArm(id), request.seed, request.overrides)),
        run: (hooks) => runDropoutArm({ regime: request.regime, arm: dropoutArm(id), seed: request.seed, train: corpus.train, val: corpus.val, overrides: request.overrides, onEvent: hooks.onEvent, onTrainer: hooks.onTrainer, onPoint: hooks.onPoint, ...(check ? { interrupt: check } : {}) })
      }));
    }
    if (request.teacher && slots.get("teacher")?.who.label !== request.teacher.name) slots.load("teacher", request.teacher.bytes, request.teacher.name);
    const teacher = slots.get("teacher");
    const data = dataIdentity(request.corpus.name, corpus);
    return request.arms.map((arm) => ({
      label: arm.label,
      totalSteps: request.overrides.steps ?? 0,
      facts: {
        preset: "nano",
        spec: { kind: "bytes" as const, model: STUDENT_MODEL },
        train: distillTrainConfig(request.seed, request.overrides),
        data,
        notes: arm.kd
          ? [`distilled from ${request.teacher?.name ?? teacher?.who.label ?? "the page's teacher"}: ${arm.kd.direction} KL at temperature ${arm.kd.temperature}, weight ${arm.kd.weightFrom}${arm.kd.weightTo !== arm.kd.weightFrom ? ` → ${arm.kd.weightTo}` : ""}`]
          : ["the student alone (label cross-entropy), the distillation page's control arm"]
      },
      run: (hooks) =>
        runDistillArm({
          arm,
          seed: request.seed,
          teacher: teacher?.model ?? null,
          train: corpus.train,
          val: corpus.val,
          overrides: request.overrides,
          onEvent: hooks.onEvent,
          onTrainer: hooks.onTrainer,
          ...(check ? { interrupt: check } : {}),
          onStudent: arm.kd
            ? undefined
            : async (s) => {
                student?.dispose();
                student = TinyLM.fromWeights(s.config, await s.weights());
              }
        })
    }));
  };
  return {
    subscribe: (l) => pair.subscribe(l),
    start: async (request) => {
      // Run during a run: the page set the flag to "stop" so the old run's step ends at once; it is over, so clear it.
      await pair.stopAndWait();
      interrupt?.clear();
      return pair.start(await arms(request as DropoutPairRequest | DistillPairRequest));
    },
    stop: () => pair.stop(),
    dispose: async () => {
      pair.dispose();
      await pair.stopAndWait();
      slots.dispose();
      student?.dispose();
    },
    loadModel: async (slot, bytes, label) => slots.load(slot, bytes, label),
    disagreements: async (text) => {
      const teacher = slots.get("teacher")?.model;
      const shown = student ?? slots.get("student")?.model;
      const bytes = encodeText(text);
      if (!teacher || !shown || bytes.length < 2) return null;
      return { student: student ? "live" : "precomputed", bytes: byteDisagreements(teacher, shown, bytes) };
    }
  };
}

/** The self-play page's live run: the game by name (tic-tac-toe) and the loop's settings. */
export interface SelfPlayRequest {
  game: "tictactoe";
  config: SelfPlayConfig;
}

function selfPlayEngine(): Engine {
  const live = new LiveSelfPlay();
  // The precomputed players, and a copy of the live learner taken when the page asks (a run paused or ended).
  const slots = new Slots(["tictactoe", "wordchain"]);
  let learnerCopy: TinyLM | null = null;
  return {
    loadModel: async (slot, bytes, label) => slots.load(slot, bytes, label),
    move: async (name, prompt, maxBytes, end) => {
      const model: PolicyModel | null = name === "live" ? learnerCopy : ((slots.get(name)?.model as unknown as PolicyModel | undefined) ?? null);
      if (!model) throw new Error(name === "live" ? "no copy of the live run's model yet: pause or finish a run first" : `no model "${name}" loaded in this run`);
      const [text] = await sampleMoves(model, [prompt], { maxBytes, end, temperature: 0, rng: new Rng(1) });
      return text;
    },
    subscribe: (l) => live.subscribe(l),
    start: (request) => {
      const r = request as SelfPlayRequest;
      if (r.game !== "tictactoe") throw new Error(`no live self-play for the game "${String(r.game)}"; the page trains tic-tac-toe`);
      return live.start(ticTacToeSetup(), r.config);
    },
    pause: () => live.pause(),
    resume: () => live.resume(),
    stop: () => live.stop(),
    dispose: () => {
      slots.dispose();
      learnerCopy?.dispose();
      learnerCopy = null;
      return live.dispose();
    },
    call: async (method, args) => {
      // The word chain's vocabulary (lib/games/wordchain.ts) from a gzipped corpus's train split: its words, sorted.
      // Counting the words of the train split took about a second of the page's thread (it was in a task of 2.5 s).
      if (method === "wordVocabulary") {
        const [name, gz] = args as [string, Uint8Array];
        const corpus = await corpusFromGzip(name, gz);
        return vocabularyFromText(decodeBytes(corpus.train)).words;
      }
      // A copy of the learner as it is now, kept here for "play the model" (move with model "live"); says whether there was one.
      if (method === "keepLearner") {
        const learner = live.learner;
        const copy = learner ? TinyLM.fromWeights(learner.config, await learner.weights()) : null;
        learnerCopy?.dispose();
        learnerCopy = copy;
        return copy !== null;
      }
      throw new Error(`the self-play run has no method "${method}"`);
    }
  };
}

/**
 * `interrupt`: the job's Pause/Stop flag (lab-protocol.ts's interruptHandle), read between the kernels of its
 * training steps, snapshots and evaluations, where the page is cross-origin isolated.
 */
export const ENGINES: Record<EngineKind, (options: Record<string, unknown>, busyWith: BusyWith, interrupt?: InterruptFlag) => Engine> = {
  train: trainEngine,
  eval: evalEngine,
  sharing: sharingEngine,
  objectives: objectivesEngine,
  "tokenizer-free": tokenizerFreeEngine,
  pair: pairEngine,
  selfplay: selfPlayEngine,
  recheck: recheckEngine
};
