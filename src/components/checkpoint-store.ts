// Checkpoints in the browser: IndexedDB (kept across visits) and file download.
// The bytes are lib/train/checkpoint.ts's format; this module only stores and moves them.
import { downloadBlob } from "./download.js";

const DB_NAME = "stlm-lab";
const STORE = "checkpoints";

export interface StoredCheckpointInfo {
  name: string;
  savedAt: string;
  bytes: number;
  label: string;
}

interface StoredCheckpoint extends StoredCheckpointInfo {
  data: ArrayBuffer;
}

function openDb(): Promise<IDBDatabase> {
  if (typeof indexedDB === "undefined") return Promise.reject(new Error("This browser has no IndexedDB (a private window may turn it off)."));
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "name" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`Could not open the browser's checkpoint store: ${req.error?.message ?? "unknown error"}`));
    req.onblocked = () => reject(new Error("The checkpoint store is blocked by another tab of this site; close it and try again."));
  });
}

async function withStore<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(`Checkpoint store: ${tx.error?.message ?? "transaction failed"}`));
      tx.onabort = () =>
        reject(new Error(`Checkpoint store: ${tx.error?.name === "QuotaExceededError" ? "the browser's storage is full" : tx.error?.message ?? "aborted"}`));
    });
  } finally {
    db.close();
  }
}

export async function saveCheckpoint(name: string, bytes: Uint8Array, label: string): Promise<StoredCheckpointInfo> {
  const data = bytes.slice().buffer as ArrayBuffer;
  const record: StoredCheckpoint = { name, label, savedAt: new Date().toISOString(), bytes: bytes.byteLength, data };
  await withStore("readwrite", (s) => s.put(record));
  return { name, label, savedAt: record.savedAt, bytes: record.bytes };
}

export async function loadCheckpoint(name: string): Promise<Uint8Array> {
  const record = await withStore<StoredCheckpoint | undefined>("readonly", (s) => s.get(name) as IDBRequest<StoredCheckpoint | undefined>);
  if (!record) throw new Error(`No checkpoint named "${name}" is saved in this browser.`);
  return new Uint8Array(record.data);
}

export async function listCheckpoints(): Promise<StoredCheckpointInfo[]> {
  const records = await withStore<StoredCheckpoint[]>("readonly", (s) => s.getAll() as IDBRequest<StoredCheckpoint[]>);
  return records
    .map(({ name, label, savedAt, bytes }) => ({ name, label, savedAt, bytes }))
    .sort((a, b) => b.savedAt.localeCompare(a.savedAt));
}

export async function deleteCheckpoint(name: string): Promise<void> {
  await withStore("readwrite", (s) => s.delete(name));
}

/** Offers bytes to the reader as a file download. */
export function downloadBytes(bytes: Uint8Array, fileName: string): void {
  downloadBlob(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }), fileName);
}
