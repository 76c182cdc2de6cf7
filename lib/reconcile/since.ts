import { ISO_DURATION } from '../patterns.js';

/**
 * The `lastChanged` lower bound for RECONCILE_SINCE (an ISO 8601 duration, validated by lib/config):
 * `now` minus the duration, in calendar terms (P1M is one calendar month back), as an ISO timestamp.
 */
export function sinceTimestamp(duration: string, now: number): string {
  const m = ISO_DURATION.exec(duration);
  if (!m) throw new RangeError(`not an ISO 8601 duration: ${JSON.stringify(duration)}`);
  const [y, mo, w, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number, number];
  const t = new Date(now);
  t.setUTCFullYear(t.getUTCFullYear() - y, t.getUTCMonth() - mo, t.getUTCDate() - w * 7 - d);
  t.setUTCHours(t.getUTCHours() - h, t.getUTCMinutes() - mi, t.getUTCSeconds() - s);
  return t.toISOString();
}
