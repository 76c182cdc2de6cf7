import { percentile } from '../bench/stats.js';
import type { Simulator } from '../simulator/index.js';

/** An altinn-instances-ready message as the soak drains it. */
export interface ReadySeen {
  instanceGuid: string;
  confirmedAt: string | undefined;
}

/** Which path brought each instance to its confirmation, and how long from `process.ended` to `confirmedAt`. */
export interface PathFigures {
  /** Messages the feed timer sent (the `enqueued` of its `feed run` lines). */
  feedEnqueued: number;
  /** Instances whose confirming run took a message of this reason (`event`, `feed`, `reconcile`, `replay`). */
  confirmedVia: Record<string, number>;
  /** process.ended (the simulator's instance) to confirmedAt (the ready message), over every ready message, and over those the feed found. */
  timeToConfirmation: { count: number; p50Ms: number; p95Ms: number; maxMs: number; feedCount: number; feedP95Ms: number };
}

export function pathFigures(sim: Simulator, hostRecords: Record<string, unknown>[], ready: ReadySeen[]): PathFigures {
  const confirmedVia: Record<string, number> = {};
  const reasonOf = new Map<string, string>();
  for (const r of hostRecords) {
    if (r.msg !== 'done' || r.outcome !== 'confirmed' || typeof r.instanceId !== 'string') continue;
    const guid = r.instanceId.split('/')[1] ?? '';
    if (reasonOf.has(guid)) continue;
    const reason = typeof r.reason === 'string' ? r.reason : 'unknown';
    reasonOf.set(guid, reason);
    confirmedVia[reason] = (confirmedVia[reason] ?? 0) + 1;
  }
  const all: number[] = [];
  const viaFeed: number[] = [];
  for (const m of ready) {
    const ended = Date.parse((sim.instance(m.instanceGuid).process as { ended?: string } | undefined)?.ended ?? '');
    const confirmed = Date.parse(m.confirmedAt ?? '');
    if (Number.isNaN(ended) || Number.isNaN(confirmed)) continue;
    all.push(confirmed - ended);
    if (reasonOf.get(m.instanceGuid) === 'feed') viaFeed.push(confirmed - ended);
  }
  const p = (values: number[], q: number) => (values.length > 0 ? Math.round(percentile(values, q)) : 0);
  return {
    feedEnqueued: hostRecords.filter((r) => r.msg === 'feed run').reduce((n, r) => n + (typeof r.enqueued === 'number' ? r.enqueued : 0), 0),
    confirmedVia,
    timeToConfirmation: { count: all.length, p50Ms: p(all, 50), p95Ms: p(all, 95), maxMs: all.length > 0 ? Math.max(...all) : 0, feedCount: viaFeed.length, feedP95Ms: p(viaFeed, 95) },
  };
}
