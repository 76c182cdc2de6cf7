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
  /** DEFER_BASE_SECONDS of the hosts (unset: the default). */
  deferBaseSeconds?: number;
  /** Late data: the app's end-of-process handler adds a receipt to every instance this long after its completed event. */
  lateElementAfterMs: number;
  /** SETTLE_SECONDS of the hosts: longer than the handler takes (production: 60). */
  settleSeconds: number;
  /** One Altinn Events delivery in this many is dropped (never retried): left to the reconciler. */
  dropEvery: number;
  /** Pause between two instances' process completions (the event stream's pace). */
  paceMs: number;
  /** The reconciler's timer (NCRONTAB). */
  reconcileSchedule: string;
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
  deferBaseSeconds: 2,
  lateElementAfterMs: 1_000,
  settleSeconds: 2,
  dropEvery: 20,
  paceMs: 50,
  reconcileSchedule: '*/10 * * * * *',
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
  deferBaseSeconds: undefined,
  lateElementAfterMs: 5_000,
  settleSeconds: 10,
  paceMs: 60,
  reconcileSchedule: '0 * * * * *',
  timeoutMs: 900_000,
};

export const PROFILES: Record<string, SoakProfile> = { short: SHORT, soak: SOAK };
