import { seededRandom, type FaultRule } from '../simulator/faults.js';

/**
 * Seeded random faults for the soak, as simulator rules planned per request target (an instance's
 * GET, its complete, each data element's GET). A target's first requests fail in a row while a draw
 * says so (at most MAX_IN_A_ROW, fewer than the processor's attempts), so every planned fault is
 * injected once the instance is confirmed, and the figures by kind are exact.
 * Rates per request: 10% 5xx, 5% 429 with Retry-After on every route; on data routes also 3% resets
 * mid-body, 2% truncated bodies, 1% bodies longer than `size`.
 */
export type FaultKind = '5xx' | '429' | 'reset' | 'truncated' | 'longer';

const RATES: Record<FaultKind, number> = { '5xx': 0.1, '429': 0.05, reset: 0.03, truncated: 0.02, longer: 0.01 };
const STATUS_KINDS: FaultKind[] = ['5xx', '429'];
const DATA_KINDS: FaultKind[] = ['5xx', '429', 'reset', 'truncated', 'longer'];
const SERVER_ERRORS = [500, 502, 503, 504];
const MAX_IN_A_ROW = 3;

export interface FaultTarget {
  route: 'storage.instance' | 'storage.complete' | 'storage.data';
  instanceGuid: string;
  dataGuid?: string;
  /** Element size (data routes): where a reset or truncation may happen. */
  size?: number;
}

export interface PlannedFault {
  kind: FaultKind;
  rule: FaultRule;
}

export type FaultCounts = Record<FaultKind, number>;

const noFaults = (): FaultCounts => ({ '5xx': 0, '429': 0, reset: 0, truncated: 0, longer: 0 });

export function planFaults(targets: readonly FaultTarget[], seed: number): PlannedFault[] {
  const random = seededRandom(seed);
  const plan: PlannedFault[] = [];
  for (const t of targets) {
    const kinds = t.route === 'storage.data' ? DATA_KINDS : STATUS_KINDS;
    const rate = kinds.reduce((sum, k) => sum + RATES[k], 0);
    for (let i = 0; i < MAX_IN_A_ROW; i++) {
      let draw = random();
      if (draw >= rate) break;
      const kind = kinds.find((k) => (draw -= RATES[k]) < 0) ?? kinds[0]!;
      plan.push({ kind, rule: { route: t.route, instanceGuid: t.instanceGuid, ...(t.dataGuid ? { dataGuid: t.dataGuid } : {}), ...effect(kind, t, random) } });
    }
  }
  return plan;
}

function effect(kind: FaultKind, t: FaultTarget, random: () => number): FaultRule {
  const at = () => Math.floor(random() * Math.max(1, t.size ?? 1));
  switch (kind) {
    case '5xx':
      return { status: SERVER_ERRORS[Math.floor(random() * SERVER_ERRORS.length)]! };
    case '429':
      return { status: 429, retryAfter: 1 };
    case 'reset':
      return { resetAfterBytes: at() };
    case 'truncated':
      return { truncateAfterBytes: at() };
    case 'longer':
      return { sizeDelta: 1 + Math.floor(random() * 1000) };
  }
}

export function countByKind(plan: readonly PlannedFault[]): FaultCounts {
  const counts = noFaults();
  for (const p of plan) counts[p.kind]++;
  return counts;
}
