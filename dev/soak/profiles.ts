/** The fault soak's numbers: one code path, a short profile for `npm test` and the long one for `npm run soak`. */
export interface SoakProfile {
  name: string;
  instances: number;
  seed: number;
  /** Largest generated data element (each instance has 1–3, 1 KiB and up). */
  maxElementBytes: number;
  /** Maskinporten refuses every grant this long, from just before the first event. */
  outageMs: number;
  /** Hosts processing the same queues (the webhook is on the first). */
  hosts: number;
  /** Every App/Storage/exchange request answers 503 this long, from a third of the way through the events. */
  altinnOutageMs: number;
  /** Then every such request answers 429 with `Retry-After: stormRetryAfterSeconds`, this long. */
  stormMs: number;
  stormRetryAfterSeconds: number;
  /** Then Azure Blob Storage answers every request of the hosts 503 ServerBusy this long (through dev/storageProxy.ts). */
  azureOutageMs: number;
  /** DEFER_BASE_SECONDS of the hosts (unset: the default). */
  deferBaseSeconds?: number;
  /** Late data: the app's end-of-process handler adds a receipt to every instance this long after its completed event. */
  lateElementAfterMs: number;
  /** SETTLE_SECONDS of the hosts: longer than the handler takes (production: 60). */
  settleSeconds: number;
  /** One Altinn Events delivery in this many is dropped (never retried): left to the feed (and the reconciler). */
  dropEvery: number;
  /** Pause between two instances' process completions (the event stream's pace). */
  paceMs: number;
  /** The reconciler's timer (NCRONTAB): hourly, so the dropped deliveries are the feed's to find. */
  reconcileSchedule: string;
  /** The feed timer (NCRONTAB), its FEED_MIN_AGE_SECONDS, and how long Altinn keeps a new event out of the feed. */
  feedSchedule: string;
  feedMinAgeSeconds: number;
  eventsFeedDelayMs: number;
  /** Altinn Events' retry delays × this. */
  eventRetryScale: number;
  /** Only a guard that turns a hang into a report; never a figure the run is judged by. */
  timeoutMs: number;
}

export const SHORT: SoakProfile = {
  name: 'short',
  instances: 60,
  // A seed whose plan has every fault kind.
  seed: 5,
  maxElementBytes: 256 * 1024,
  outageMs: 5_000,
  hosts: 2,
  // Compressed: long enough to outlast the in-invocation retries, so messages are deferred.
  altinnOutageMs: 12_000,
  stormMs: 3_000,
  stormRetryAfterSeconds: 3,
  // Longer than the SDK's retries (about 4 s a call), shorter than a lease's margin (10 s of its 30 s are
  // never used): see docs/reliability.md on a ready message sent twice when an outage outlasts it.
  azureOutageMs: 8_000,
  deferBaseSeconds: 2,
  lateElementAfterMs: 1_000,
  settleSeconds: 2,
  dropEvery: 8,
  paceMs: 50,
  reconcileSchedule: '0 0 * * * *',
  feedSchedule: '*/5 * * * * *',
  // Compressed like the rest: Altinn's 30 s, our default 300 s.
  feedMinAgeSeconds: 20,
  eventsFeedDelayMs: 2_000,
  eventRetryScale: 0.01,
  timeoutMs: 240_000,
};

const SOAK: SoakProfile = {
  ...SHORT,
  name: 'soak',
  instances: 500,
  seed: 12,
  maxElementBytes: 512 * 1024,
  outageMs: 30_000,
  altinnOutageMs: 200_000,
  stormMs: 30_000,
  stormRetryAfterSeconds: 120,
  azureOutageMs: 240_000,
  deferBaseSeconds: undefined,
  lateElementAfterMs: 5_000,
  settleSeconds: 10,
  paceMs: 60,
  feedSchedule: '*/15 * * * * *',
  feedMinAgeSeconds: 30,
  eventsFeedDelayMs: 30_000,
  timeoutMs: 1_200_000,
};

export const PROFILES: Record<string, SoakProfile> = { short: SHORT, soak: SOAK };
