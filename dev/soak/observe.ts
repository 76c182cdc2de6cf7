import type { ContainerClient } from '@azure/storage-blob';
import type { RequestLogEntry, Simulator } from '../simulator/index.js';

/**
 * Watches the simulator's request log as requests arrive: on every `complete` and every data GET it
 * asks blob storage, from outside the app, whether the instance's manifest.json exists at that moment.
 * A complete must find it; a data GET must not. Both are held `holdMs` (latency rules), so the
 * look-up finishes before the answer ends; one that finishes later proves nothing and is counted as `late`.
 */
/** Counts are of requests judged: the look-up ended while the request was still being answered. */
export interface Observations {
  completes: number;
  completesWithoutManifest: string[];
  /** Successful answers sent before their look-up ended: not judged. */
  late: number;
  /** Slowest look-up (ms). */
  slowestMs: number;
  dataGets: number;
  dataAfterManifest: string[];
  errors: string[];
}

const STORAGE_PATH = /^\/storage\/api\/v1\/instances\/(\d+)\/([0-9a-f-]{36})(?:\/data\/([0-9a-f-]{36}))?/;

export function observe(sim: Simulator, container: ContainerClient, holdMs: number): { result: Observations; settled(): Promise<void>; stop(): void } {
  const result: Observations = { completes: 0, completesWithoutManifest: [], late: 0, slowestMs: 0, dataGets: 0, dataAfterManifest: [], errors: [] };
  const pending = new Set<Promise<void>>();
  const holds = (['storage.complete', 'storage.data'] as const).map((route) => sim.faults.add({ route, latencyMs: holdMs, times: Infinity }));
  const check = (entry: RequestLogEntry) => {
    if (entry.route !== 'storage.complete' && entry.route !== 'storage.data') return;
    const m = STORAGE_PATH.exec(entry.path);
    if (!m) return;
    const [, partyId, guid, dataGuid] = m;
    // Storage's path has no app: the stored document names it.
    const appId = sim.instance(guid!).appId;
    const t0 = Date.now();
    const exists = container.getBlobClient(`${appId}/${partyId}/${guid}/manifest.json`).exists();
    const p = exists
      .then((found) => {
        result.slowestMs = Math.max(result.slowestMs, Date.now() - t0);
        // Answered before we knew: proves nothing. A faulted answer (not 200) is neither a download nor a confirmation.
        if (entry.status !== 0) {
          if (entry.status === 200) result.late++;
          return;
        }
        if (entry.route === 'storage.complete') {
          result.completes++;
          if (!found) result.completesWithoutManifest.push(guid!);
        } else {
          result.dataGets++;
          if (found) result.dataAfterManifest.push(`${guid}/${dataGuid}`);
        }
      })
      .catch((e: unknown) => void result.errors.push(String(e)))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const unsubscribe = onRequest(sim, check);
  return {
    result,
    settled: async () => void (await Promise.all([...pending])),
    stop() {
      unsubscribe();
      holds.forEach((id) => sim.faults.remove(id));
    },
  };
}

/**
 * Calls `fn` with each request log entry as the request arrives, before its faults are taken (the
 * simulator offers no hook, so the log's push is wrapped); returns the undo.
 */
export function onRequest(sim: Simulator, fn: (entry: RequestLogEntry) => void): () => void {
  const log = sim.requests;
  const push = log.push.bind(log);
  let active = true;
  const wrapped = (...entries: RequestLogEntry[]) => {
    if (active) entries.forEach(fn);
    return push(...entries);
  };
  log.push = wrapped;
  // Unwrapped only while on top; under another watcher it just goes quiet.
  return () => {
    active = false;
    if (log.push === wrapped) log.push = push;
  };
}
