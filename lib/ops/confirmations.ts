import type { ContainerClient } from '@azure/storage-blob';
import { CONFIRMED_TAG } from '../processor/manifest.js';
import { KNOWN_TAG } from '../processor/timing.js';

/**
 * Time to confirmation per app, from blob index tags the processor sets in writes it does anyway (the lock blob
 * of an instance's first run: "known"; the confirmed manifest: "confirmed", lib/processor/manifest.ts). Two
 * Find Blobs by Tags listings per measurement, one storage transaction per 5,000 matching blobs each: nothing
 * per instance in the processor, and the monitor's cost grows only with the instances of the look-back.
 */

/** The figures' window: confirmations and their time to confirmation over the last hour. */
export const WINDOW_SECONDS = 3600;
/** How far back an instance we know of and have not confirmed is looked for. */
export const LOOKBACK_HOURS = 24;

export interface AppConfirmations {
  app: string;
  /** Confirmed within the last hour. */
  confirmations: number;
  /** Of those, from process.ended to our confirmation (seconds, nearest rank); null without any. */
  p50Seconds: number | null;
  p95Seconds: number | null;
  /** Instances we know of (first heard within LOOKBACK_HOURS, a completed instance) without a confirmed manifest. */
  unconfirmed: number;
  /** The oldest of them: when we first heard of it, and how long ago (a lower bound of the time since process.ended). */
  oldestUnconfirmedHeardAt: string | null;
  oldestUnconfirmedAgeSeconds: number | null;
}

export interface ConfirmationReport {
  windowSeconds: number;
  lookbackHours: number;
  apps: AppConfirmations[];
  /** Every app together (`app: "*"`). */
  all: AppConfirmations;
  /** Storage transactions this measurement took (listing pages). */
  transactions: number;
}

interface Tagged {
  folder: string;
  app: string;
  at: string;
  fields: Record<string, string>;
}

/** `"{time} key=value …"` and the blob's folder (`{org}/{app}/{partyId}/{guid}`). */
function parseTagged(name: string, value: string | undefined): Tagged | undefined {
  const [at, ...rest] = (value ?? '').split(' ');
  const parts = name.split('/');
  if (!at || parts.length !== 5) return undefined;
  const fields = Object.fromEntries(rest.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return { folder: parts.slice(0, 4).join('/'), app: parts[1]!, at, fields };
}

async function listTagged(container: ContainerClient, tag: string, since: string, count: { pages: number }): Promise<Tagged[]> {
  const found: Tagged[] = [];
  for await (const page of container.findBlobsByTags(`"${tag}" >= '${since}'`).byPage()) {
    count.pages++;
    for (const b of page.blobs) {
      const t = parseTagged(b.name, b.tags?.[tag] ?? b.tagValue);
      if (t) found.push(t);
    }
  }
  return found;
}

/** Nearest-rank percentile of sorted values. */
const rank = (sorted: number[], p: number) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);

/** The figures of `app` ('*': every app together). */
function perApp(app: string, now: number, confirmed: Tagged[], unconfirmed: Tagged[]): AppConfirmations {
  const since = new Date(now - WINDOW_SECONDS * 1000).toISOString();
  const ofApp = (t: Tagged) => app === '*' || t.app === app;
  const recent = confirmed.filter((c) => ofApp(c) && c.at >= since);
  const seconds = recent
    .map((c) => (Date.parse(c.at) - Date.parse(c.fields.ended ?? '')) / 1000)
    .filter((s) => Number.isFinite(s))
    .map((s) => Math.max(0, Math.round(s)))
    .sort((a, b) => a - b);
  const waiting = unconfirmed.filter(ofApp).sort((a, b) => a.at.localeCompare(b.at));
  const oldest = waiting[0]?.at;
  return {
    app,
    confirmations: recent.length,
    p50Seconds: rank(seconds, 50),
    p95Seconds: rank(seconds, 95),
    unconfirmed: waiting.length,
    oldestUnconfirmedHeardAt: oldest ?? null,
    oldestUnconfirmedAgeSeconds: oldest === undefined ? null : Math.max(0, Math.round((now - Date.parse(oldest)) / 1000)),
  };
}

/** Per app (ALTINN_APPS and every app seen), the last hour's confirmations and the oldest known unconfirmed instance. */
export async function measureConfirmations(container: ContainerClient, now: number, apps: readonly string[]): Promise<ConfirmationReport> {
  const lookback = new Date(now - LOOKBACK_HOURS * 3600_000).toISOString();
  const count = { pages: 0 };
  const [confirmed, known] = await Promise.all([listTagged(container, CONFIRMED_TAG, lookback, count), listTagged(container, KNOWN_TAG, lookback, count)]);
  const done = new Set(confirmed.map((c) => c.folder));
  const unconfirmed = known.filter((k) => !done.has(k.folder));
  const names = [...new Set([...apps, ...confirmed.map((c) => c.app), ...unconfirmed.map((u) => u.app)])].sort();
  const of = (app: string) => perApp(app, now, confirmed, unconfirmed);
  return { windowSeconds: WINDOW_SECONDS, lookbackHours: LOOKBACK_HOURS, apps: names.map(of), all: of('*'), transactions: count.pages };
}
