// The reader's runs library: every live run a page trains (as a run record, built by
// live-record.ts at each evaluation and at the end), the runs the reader imports, and
// the page's precomputed run. Kept for the browser tab's session (sessionStorage, so
// the runs of one page are in the table of the next), and in IndexedDB when the
// reader asks ("Keep runs in this browser"). The table and the overlay chart
// (runs-table.ts, runs-overlay.ts) draw what it holds; nothing here draws.
import { validateRunRecord, type RunRecord } from "../lib/runs/record.js";
import { LAB_IDENTITY } from "../vendor/lab-identity.js";
import { liveRunRecord, objectivesArmRecord, pairArmRecord, selfPlayLiveRecord, sharingArmRecord, tokenizerFreeModelRecord, type PageFacts } from "./live-record.js";
import type { LiveSnapshot as SelfPlaySnapshot } from "./selfplay-live.js";
import type { ABSnapshot as TokenizerFreeSnapshot } from "./ab-run.js";
import type { ObjectivesABSnapshot } from "./objectives-ab.js";
import type { PairSnapshot } from "./pair-run.js";
import type { ABSnapshot } from "./sharing-ab.js";
import type { RunHandle } from "./live-run.js";
import type { BackendFacts } from "../lib/runs/build.js";

/** How a run came into the library: trained here, an imported file, a page's precomputed run, or the record a loaded checkpoint carried. */
export type RunSource = "live" | "imported" | "precomputed" | "checkpoint";
const KEPT_SOURCES: readonly RunSource[] = ["live", "imported", "checkpoint"];

export interface LibraryEntry {
  record: RunRecord;
  source: RunSource;
}

const SESSION_KEY = "stlm-runs";
const KEEP_KEY = "stlm-runs-keep";
const DB_NAME = "stlm-runs";
const STORE = "runs";

export class RunsLibrary {
  private entries: LibraryEntry[] = [];
  private chosen = new Set<string>();
  private listeners = new Set<() => void>();
  private keeping = false;
  /** What the library could not do (a full session store, an unreadable saved run), in words. */
  note: string | null = null;

  /** The library of this tab: the session's runs, and the runs kept in this browser when the reader asked for that. */
  static async open(): Promise<RunsLibrary> {
    const lib = new RunsLibrary();
    lib.keeping = storageGet(localStorage, KEEP_KEY) === "1";
    const restored: unknown[] = [];
    try {
      restored.push(...(JSON.parse(storageGet(sessionStorage, SESSION_KEY) ?? "[]") as unknown[]));
    } catch {
      lib.note = "The runs of this session could not be read back; the table starts empty.";
    }
    if (lib.keeping) restored.push(...(await idbAll().catch(() => [])));
    let dropped = 0;
    for (const raw of restored) {
      try {
        const e = raw as { record: unknown; source: RunSource };
        const record = validateRunRecord(e.record, "a saved run");
        if (!lib.entries.some((x) => x.record.id === record.id)) lib.entries.push({ record, source: KEPT_SOURCES.includes(e.source) ? e.source : "live" });
      } catch {
        dropped += 1;
      }
    }
    if (dropped) lib.note = `${dropped} saved run${dropped === 1 ? "" : "s"} could not be read (damaged or from another lab version) and ${dropped === 1 ? "was" : "were"} left out.`;
    return lib;
  }

  get list(): readonly LibraryEntry[] {
    return this.entries;
  }

  get selected(): LibraryEntry[] {
    return this.entries.filter((e) => this.chosen.has(e.record.id));
  }

  get keep(): boolean {
    return this.keeping;
  }

  has(id: string): boolean {
    return this.entries.some((e) => e.record.id === id);
  }

  /** Adds a run, or replaces the run with its id (a live run growing), keeping its place and selection. */
  upsert(record: RunRecord, source: RunSource): void {
    const i = this.entries.findIndex((e) => e.record.id === record.id);
    const entry = { record, source };
    if (i >= 0) this.entries[i] = entry;
    else if (source === "precomputed") this.entries.unshift(entry);
    else this.entries.push(entry);
    if (this.keeping && source !== "precomputed") void idbPut(entry).catch(() => undefined);
    this.changed();
  }

  /**
   * Makes `records` the precomputed rows (a page's figure runs, in their order, at the top
   * of the list): precomputed rows not among them go (another experiment shown), the others
   * keep their tick. One redraw for all of them.
   */
  setPrecomputed(given: readonly RunRecord[]): void {
    // A figure's records may share an id (two arms that differ only in what the TrainConfig does not hold: a
    // dropout regime's bytes, a distillation loss): each row gets its own, the id and the label together.
    const count = new Map<string, number>();
    for (const r of given) count.set(r.id, (count.get(r.id) ?? 0) + 1);
    const records = given.map((r) => (count.get(r.id)! > 1 ? { ...r, id: `${r.id}-${r.label.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}` } : r));
    const ids = new Set(records.map((r) => r.id));
    for (const e of this.entries) if (e.source === "precomputed" && !ids.has(e.record.id)) this.chosen.delete(e.record.id);
    const mine = this.entries.filter((e) => e.source !== "precomputed" && !ids.has(e.record.id));
    this.entries = [...records.map((record) => ({ record, source: "precomputed" as const })), ...mine];
    this.emit();
  }

  remove(ids: Iterable<string>): void {
    const gone = new Set(ids);
    this.entries = this.entries.filter((e) => !gone.has(e.record.id));
    for (const id of gone) this.chosen.delete(id);
    if (this.keeping) for (const id of gone) void idbDelete(id).catch(() => undefined);
    this.changed();
  }

  select(ids: Iterable<string>): void {
    this.chosen = new Set([...ids].filter((id) => this.has(id)));
    this.emit();
  }

  /** Keeps the runs in IndexedDB from now on (they outlast the tab), or forgets the kept copies. */
  async setKeep(on: boolean): Promise<void> {
    this.keeping = on;
    storageSet(localStorage, KEEP_KEY, on ? "1" : null);
    if (on) await Promise.all(this.entries.filter((e) => e.source !== "precomputed").map((e) => idbPut(e)));
    else await idbClear();
    this.emit();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    listener();
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    const mine = this.entries.filter((e) => e.source !== "precomputed");
    this.note = storageSet(sessionStorage, SESSION_KEY, JSON.stringify(mine))
      ? null
      : "This tab's storage is full: the runs stay in the table until the page is left. Download the ones to keep, or tick Keep runs in this browser.";
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/** Makes `records` the library's precomputed rows (see RunsLibrary.setPrecomputed). */
export function showPrecomputed(library: RunsLibrary, records: readonly RunRecord[]): void {
  library.setPrecomputed(records);
}

/** What a page's live runs record besides their own snapshot: the page, the backend, this browser and the lab's build. */
export function pageFacts(page: string, backend: BackendFacts): PageFacts {
  return { page, backend: { name: backend.name, threads: backend.threads, simd: backend.simd, fma: backend.fma ?? null }, platform: navigator.userAgent, lab: LAB_IDENTITY };
}

/** The record of the run a handle holds now (null for a loaded checkpoint or before the first step). */
export function currentRunRecord(run: RunHandle, facts: PageFacts): RunRecord | null {
  try {
    return liveRunRecord(run.state, facts);
  } catch {
    return null;
  }
}

/**
 * Puts a page's live run into the library at each evaluation and at its end, and the run
 * record a loaded checkpoint carries (a page's "Download checkpoint" writes it) when the
 * library does not hold that run already; returns an unsubscribe.
 */
export function followLiveRun(library: RunsLibrary, run: RunHandle, { page, backend }: { page: string; backend: BackendFacts }): () => void {
  const facts = pageFacts(page, backend);
  let last = "";
  return run.subscribe((s) => {
    if (s.status === "loaded" && s.loadedRecord) {
      const key = `loaded:${s.modelVersion}:${s.loadedRecord.id}`;
      if (key !== last && !library.has(s.loadedRecord.id)) library.upsert(s.loadedRecord, "checkpoint");
      last = key;
      return;
    }
    if (!["running", "paused", "done", "stopped"].includes(s.status)) return;
    const key = `${s.runNumber}:${s.evals.length}:${s.status === "done" || s.status === "stopped" ? "end" : "on"}`;
    if (key === last || (s.evals.length === 0 && key.endsWith("on"))) return;
    last = key;
    try {
      const record = liveRunRecord(s, facts);
      if (record) library.upsert(record, "live");
    } catch (e) {
      library.note = (e as Error).message;
      library.select(library.selected.map((x) => x.record.id)); // redraws the table with the note
    }
  });
}

/**
 * Puts each arm of a page's A/B run into the library at its evaluations and the run's end.
 * `arms` lists, for a snapshot, each arm's key (stable for the arm of one run), how far it
 * has got (a new value rebuilds its record) and how to build the record.
 */
function followArms<S extends { status: string }>(
  library: RunsLibrary,
  engine: { subscribe(listener: (s: S) => void): () => void },
  arms: (s: S) => { key: string; progress: string; build: () => RunRecord | null }[]
): () => void {
  const seen = new Map<string, string>();
  return engine.subscribe((s) => {
    if (!["running", "done", "stopped"].includes(s.status)) return;
    for (const arm of arms(s)) {
      if (seen.get(arm.key) === arm.progress) continue;
      seen.set(arm.key, arm.progress);
      try {
        const record = arm.build();
        if (record) library.upsert(record, "live");
      } catch (e) {
        library.note = (e as Error).message;
        library.select(library.selected.map((x) => x.record.id));
      }
    }
  });
}

/** The dropout and distillation pages' pairs (pair-run.ts): each arm a row. */
export function followPairRun(
  library: RunsLibrary,
  pair: { subscribe(listener: (s: PairSnapshot) => void): () => void },
  { page, backend, prefix }: { page: string; backend: BackendFacts; prefix: string }
): () => void {
  const facts = pageFacts(page, backend);
  return followArms(library, pair, (s) =>
    s.arms
      .filter((arm) => arm.evals.length > 0 || s.status !== "running")
      .map((arm) => ({
        key: `${arm.startedAt}:${arm.label}`,
        progress: `${arm.evals.length}:${s.status !== "running" || arm.done}`,
        build: () => pairArmRecord(arm, { stopped: s.status === "stopped", prefix }, facts)
      }))
  );
}

/** The sharing page's A/B run (sharing-ab.ts): each arm a row. */
export function followSharingRun(library: RunsLibrary, ab: { subscribe(listener: (s: ABSnapshot) => void): () => void }, { page, backend }: { page: string; backend: BackendFacts }): () => void {
  const facts = pageFacts(page, backend);
  return followArms(library, ab, (s) =>
    s.arms
      .filter((arm) => arm.evals.length > 0 || s.status !== "running")
      .map((arm) => ({
        key: `${s.facts?.startedAt}:${arm.label}`,
        progress: `${arm.evals.length}:${s.status}`,
        build: () => sharingArmRecord(arm, { facts: s.facts, stopped: s.status === "stopped", experiment: s.experiment }, facts)
      }))
  );
}

/** The objectives page's A/B run (objectives-ab.ts): each arm a row. */
export function followObjectivesRun(library: RunsLibrary, ab: { subscribe(listener: (s: ObjectivesABSnapshot) => void): () => void }, { page, backend }: { page: string; backend: BackendFacts }): () => void {
  const facts = pageFacts(page, backend);
  return followArms(library, ab, (s) =>
    s.arms
      .filter((arm) => arm.evals.length > 0 || s.status !== "running")
      .map((arm) => ({
        key: `${s.facts?.startedAt}:${arm.label}`,
        progress: `${arm.evals.length}:${s.status}`,
        build: () => objectivesArmRecord(arm, { facts: s.facts, stopped: s.status === "stopped" }, facts)
      }))
  );
}

/** The tokenizer-free page's live comparison (ab-run.ts): each model a row. */
export function followTokenizerFreeRun(library: RunsLibrary, ab: { subscribe(listener: (s: TokenizerFreeSnapshot) => void): () => void }, { page, backend }: { page: string; backend: BackendFacts }): () => void {
  const facts = pageFacts(page, backend);
  return followArms(library, ab, (s) =>
    s.models
      .filter((m) => m.evals.length > 0 || s.status !== "running")
      .map((m) => ({
        key: `${s.facts?.startedAt}:${m.label}`,
        progress: `${m.evals.length}:${s.status}:${m.done}`,
        build: () => tokenizerFreeModelRecord(m, { facts: s.facts, stopped: s.status === "stopped" }, facts)
      }))
  );
}

/** The self-play page's live run (selfplay-live.ts): a row of kind "game", renewed at each evaluation and at the end. */
export function followSelfPlayRun(library: RunsLibrary, live: { subscribe(listener: (s: SelfPlaySnapshot) => void): () => void }, { page, backend }: { page: string; backend: BackendFacts }): () => void {
  const facts = pageFacts(page, backend);
  return followArms(library, live, (s) =>
    s.record && s.startedAt && (s.record.evals.length > 0 || s.status !== "running")
      ? [{ key: `${s.startedAt}`, progress: `${s.record.evals.length}:${s.status}`, build: () => selfPlayLiveRecord(s, facts) }]
      : []
  );
}

function storageGet(store: Storage, key: string): string | null {
  try {
    return store.getItem(key);
  } catch {
    return null;
  }
}

/** False when the browser refused (a full or disabled store). */
function storageSet(store: Storage, key: string, value: string | null): boolean {
  try {
    if (value === null) store.removeItem(key);
    else store.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function idbRequest<T>(mode: IDBTransactionMode, work: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = work(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

const idbAll = () => idbRequest<unknown[]>("readonly", (s) => s.getAll());
const idbPut = (e: LibraryEntry) => idbRequest("readwrite", (s) => s.put({ record: e.record, source: e.source }, e.record.id));
const idbDelete = (id: string) => idbRequest("readwrite", (s) => s.delete(id));
const idbClear = () => idbRequest("readwrite", (s) => s.clear());
