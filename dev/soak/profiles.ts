/** The fault soak's numbers: one code path, a short profile for `npm test` and the long one for `npm run soak`. */
export interface SoakProfile {
  name: string;
  instances: number;
  seed: number;
  /** Largest generated data element (each instance has 1–3, 1 KiB and up). */
  maxElementBytes: number;
  /** Maskinporten refuses every grant this long, from just before the first event. */
  outageMs: number;
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
  dropEvery: 20,
  paceMs: 50,
  reconcileSchedule: '*/10 * * * * *',
  eventRetryScale: 0.01,
  timeoutMs: 240_000,
};

export const SOAK: SoakProfile = {
  ...SHORT,
  name: 'soak',
  instances: 500,
  seed: 12,
  maxElementBytes: 512 * 1024,
  outageMs: 30_000,
  paceMs: 60,
  reconcileSchedule: '0 * * * * *',
  timeoutMs: 900_000,
};

export const PROFILES: Record<string, SoakProfile> = { short: SHORT, soak: SOAK };
