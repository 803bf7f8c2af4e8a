// A self-play run in the page: owns its learner, frozen copy and loop, and turns
// the loop's events into plain snapshots (the same record the precomputed runs
// are) for the charts and the replay. Start, pause, resume, stop; dispose frees
// every tensor.
import { TinyLM } from "../lib/models/model.js";
import { SelfPlay, selfPlayTrainConfig, type SelfPlayConfig } from "../lib/train/selfplay.js";
import type { TrainConfig } from "../lib/config.js";
import type { ModelSpec } from "../lib/models/models.js";
import { RecordBuilder, type SelfPlayRecord } from "../lib/experiments/selfplay.js";
import type { GameSetup } from "../lib/games/games.js";

export type LiveStatus = "idle" | "running" | "paused" | "done" | "stopped" | "error";

export interface LiveSnapshot {
  status: LiveStatus;
  message?: string;
  iteration: number;
  total: number;
  record: SelfPlayRecord | null;
  version: number;
  /** What the run's record needs beyond its games (live-record.ts selfPlayLiveRecord): the learner's spec, the TrainConfig its checkpoint would record, when it started. */
  spec?: ModelSpec;
  train?: TrainConfig;
  startedAt?: string;
  runNumber?: number;
}

export class LiveSelfPlay {
  private loop: SelfPlay<unknown, unknown> | null = null;
  private model: TinyLM | null = null;
  private frozen: TinyLM | null = null;
  private listeners = new Set<(s: LiveSnapshot) => void>();
  private snap: LiveSnapshot = { status: "idle", iteration: 0, total: 0, record: null, version: 0 };
  private disposed = false;

  get snapshot(): LiveSnapshot {
    return this.snap;
  }

  /** The learner of the latest run (owned here: valid until the next start or dispose). */
  get learner(): TinyLM | null {
    return this.model;
  }

  subscribe(f: (s: LiveSnapshot) => void): () => void {
    this.listeners.add(f);
    f(this.snap);
    return () => this.listeners.delete(f);
  }

  private emit(patch: Partial<LiveSnapshot>): void {
    this.snap = { ...this.snap, ...patch, version: this.snap.version + 1 };
    for (const f of this.listeners) f(this.snap);
  }

  async start(setup: GameSetup, config: SelfPlayConfig): Promise<void> {
    this.stop();
    await this.finished;
    this.free();
    const model = TinyLM.create(setup.model, config.seed);
    const frozen = TinyLM.fromWeights(model.config, await model.weights());
    this.model = model;
    this.frozen = frozen;
    // Paused inside an iteration (at a turn of its games or before an update), the loop waits there: the page hears it at once.
    const onHold = (held: boolean) => {
      if (this.loop === loop && !this.disposed) this.emit(held ? { status: "paused", message: undefined } : { status: "running" });
    };
    const loop = new SelfPlay({ game: setup.game, model, frozen, teacher: setup.teacher, references: setup.references, config, onHold });
    this.loop = loop;
    const rec = new RecordBuilder(setup.name, config);
    this.emit({ status: "running", iteration: 0, total: loop.totalIterations, record: rec.record, message: undefined, spec: model.spec, train: selfPlayTrainConfig(config), startedAt: new Date().toISOString(), runNumber: (this.snap.runNumber ?? 0) + 1 });
    this.finished = (async () => {
      try {
        for await (const e of loop.run()) {
          if (this.disposed) break;
          rec.add(e);
          if (e.kind === "paused") this.emit({ status: "paused", message: undefined });
          else if (e.kind === "resumed") this.emit({ status: "running" });
          else if (e.kind === "iteration" || e.kind === "eval") this.emit({ iteration: loop.iteration, record: { ...rec.record } });
          else if (e.kind === "done") this.emit({ status: e.stopped ? "stopped" : "done", iteration: e.iteration, record: { ...rec.record } });
        }
      } catch (err) {
        this.emit({ status: "error", message: (err as Error).message });
      } finally {
        loop.dispose();
        if (this.loop === loop) this.loop = null;
      }
    })();
  }

  private finished: Promise<void> = Promise.resolve();

  pause(): void {
    if (this.loop && !this.loop.isPaused) {
      // The loop pauses at its next pause point (a turn of a game, an update); the status says "paused" when it has.
      this.loop.pause();
      this.emit({ message: "pausing…" });
    }
  }

  resume(): void {
    if (this.loop?.isPaused) {
      this.loop.resume();
      this.emit({ status: "running" });
    }
  }

  stop(): void {
    this.loop?.stop();
  }

  private free(): void {
    this.model?.dispose();
    this.frozen?.dispose();
    this.model = null;
    this.frozen = null;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.listeners.clear();
    this.stop();
    await this.finished;
    this.free();
  }
}
