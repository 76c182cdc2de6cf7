import type { QueueServiceClient } from '@azure/storage-queue';
import type { Clock } from '../clock.js';
import { measureConfirmations, type ConfirmationReport } from './confirmations.js';
import { checkHealth, type HealthReport } from './health.js';
import type { HeldMessage } from '../queue/messages.js';
import { listHeld } from '../processor/held.js';
import { QUEUES } from '../queue/names.js';
import { readRunSummaries, type RunSummary } from '../reconcile/summary.js';
import type { Runtime } from '../runtime.js';

/**
 * What `altinn-receiver status` shows and the monitor function logs: one module measures it for both.
 * Azure's queue metrics are per account and carry no message age, so the queues are asked directly.
 */

export interface QueueStatus {
  queue: string;
  /** Approximate: Azure's count includes messages being processed (invisible) and expired ones not yet removed. */
  count: number;
  /** Insertion time of the message at the head of the queue (the oldest visible one; in-flight ones are not seen). */
  oldestAt: string | undefined;
  oldestAgeSeconds: number | undefined;
}

export interface StatusReport {
  measuredAt: string;
  health: HealthReport;
  /** Absent when the settings or storage are unhealthy (nothing else could be measured). */
  queues?: QueueStatus[];
  held?: { count: number; oldestAt: string | undefined; oldestAgeSeconds: number | undefined; instances: HeldMessage[]; unreadable: string[] };
  reconcile?: { last: RunSummary | undefined; lastComplete: RunSummary | undefined; lastCompleteAgeSeconds: number | undefined };
  /** Time to confirmation per app over the last hour, and the oldest instance we know of and have not confirmed. */
  confirmations?: ConfirmationReport;
}

/** The queues `status` reports on, in the order it shows them. */
const STATUS_QUEUES = [QUEUES.events, QUEUES.poison, QUEUES.ready, QUEUES.held] as const;

export async function measureStatus(getRuntime: () => Promise<Runtime>, clock: Clock): Promise<StatusReport> {
  const now = clock.now();
  const health = await checkHealth(getRuntime);
  const measuredAt = new Date(now).toISOString();
  if (health.status !== 'ok') return { measuredAt, health };
  const rt = await getRuntime();
  const container = rt.azure.blob.getContainerClient(rt.config.blobContainer);
  const ageOf = (at: string | undefined) => (at === undefined ? undefined : Math.max(0, Math.round((now - Date.parse(at)) / 1000)));
  const [queues, { held, unreadable }, runs, confirmations] = await Promise.all([
    Promise.all(STATUS_QUEUES.map((name) => queueStatus(rt.azure.queue, name, ageOf))),
    listHeld(container),
    readRunSummaries(container),
    // Figures, not health: a role without blob index tags (filter) leaves them out rather than failing status.
    measureConfirmations(container, now, rt.config.apps).catch(() => undefined),
  ]);
  const oldestHeld = held[0]?.heldAt;
  return {
    measuredAt,
    health,
    queues,
    held: { count: held.length, oldestAt: oldestHeld, oldestAgeSeconds: ageOf(oldestHeld), instances: held, unreadable },
    reconcile: { last: runs.last, lastComplete: runs.lastComplete, lastCompleteAgeSeconds: ageOf(runs.lastComplete?.finishedAt) },
    confirmations,
  };
}

async function queueStatus(service: QueueServiceClient, name: string, ageOf: (at: string | undefined) => number | undefined): Promise<QueueStatus> {
  const queue = service.getQueueClient(name);
  if (!(await queue.exists())) return { queue: name, count: 0, oldestAt: undefined, oldestAgeSeconds: undefined };
  const [props, peeked] = await Promise.all([queue.getProperties(), queue.peekMessages({ numberOfMessages: 1 })]);
  const oldestAt = peeked.peekedMessageItems[0]?.insertedOn?.toISOString();
  return { queue: name, count: Math.max(props.approximateMessagesCount ?? 0, peeked.peekedMessageItems.length), oldestAt, oldestAgeSeconds: ageOf(oldestAt) };
}

/** Thresholds of `status --check` and the monitor's `problems`; the alert rules in infra/ use the same defaults. */
export interface Limits {
  maxPendingAgeSeconds: number;
  maxReconcileAgeSeconds: number;
  /** UNCONFIRMED_LIMIT_MINUTES: the oldest completed instance we know of and have not confirmed. */
  maxUnconfirmedAgeSeconds: number;
}
export const DEFAULT_LIMITS: Limits = { maxPendingAgeSeconds: 30 * 60, maxReconcileAgeSeconds: 2 * 60 * 60, maxUnconfirmedAgeSeconds: 60 * 60 };

const queueOf = (report: StatusReport, name: string) => report.queues?.find((q) => q.queue === name);

/** Every threshold the report crosses, each as a sentence an operator can act on; empty when all is well. */
export function problems(report: StatusReport, limits: Limits): string[] {
  if (report.health.status !== 'ok') return [`unhealthy: settings ${report.health.checks.settings}, storage ${report.health.checks.storage}`];
  const found: string[] = [];
  const poison = queueOf(report, QUEUES.poison);
  if (poison && poison.count > 0) found.push(`${poison.count} message(s) in ${QUEUES.poison} (see: poison list)`);
  const pending = queueOf(report, QUEUES.events);
  if (pending?.oldestAgeSeconds !== undefined && pending.oldestAgeSeconds > limits.maxPendingAgeSeconds) {
    found.push(`oldest message in ${QUEUES.events} is ${minutes(pending.oldestAgeSeconds)} old (limit ${minutes(limits.maxPendingAgeSeconds)})`);
  }
  const age = report.reconcile?.lastCompleteAgeSeconds;
  if (age === undefined) found.push('no complete reconcile run recorded (see: reconcile)');
  else if (age > limits.maxReconcileAgeSeconds) found.push(`last complete reconcile run was ${minutes(age)} ago (limit ${minutes(limits.maxReconcileAgeSeconds)})`);
  const held = report.held;
  if (held && held.count > 0) found.push(`${held.count} held instance(s) waiting for an operator (see: held list)`);
  if (held && held.unreadable.length > 0) found.push(`${held.unreadable.length} unreadable held index blob(s): ${held.unreadable.join(', ')}`);
  for (const a of report.confirmations?.apps ?? []) {
    if (a.oldestUnconfirmedAgeSeconds !== null && a.oldestUnconfirmedAgeSeconds > limits.maxUnconfirmedAgeSeconds) {
      found.push(`${a.app}: the oldest completed instance not yet confirmed was first heard of ${minutes(a.oldestUnconfirmedAgeSeconds)} ago (limit ${minutes(limits.maxUnconfirmedAgeSeconds)}; ${a.unconfirmed} waiting)`);
    }
  }
  return found;
}

const minutes = (seconds: number) => (seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`);

/**
 * The monitor's log line: flat fields, so log search alerts read them as `m.<field>` without digging.
 * Every field is always present (null when unknown), so an alert query never misses one silently.
 */
export function monitorFields(report: StatusReport, limits: Limits) {
  const q = (name: string) => queueOf(report, name);
  const r = report.reconcile;
  return {
    healthy: report.health.status === 'ok',
    settings: report.health.checks.settings,
    storage: report.health.checks.storage,
    pendingCount: q(QUEUES.events)?.count ?? null,
    pendingOldestAgeSeconds: q(QUEUES.events)?.oldestAgeSeconds ?? null,
    poisonCount: q(QUEUES.poison)?.count ?? null,
    poisonOldestAgeSeconds: q(QUEUES.poison)?.oldestAgeSeconds ?? null,
    readyCount: q(QUEUES.ready)?.count ?? null,
    heldCount: report.held?.count ?? null,
    heldOldestAgeSeconds: report.held?.oldestAgeSeconds ?? null,
    reconcileLastAt: r?.last?.finishedAt ?? null,
    reconcileLastComplete: r?.last?.complete ?? null,
    reconcileLastFound: r?.last?.found ?? null,
    reconcileLastEnqueued: r?.last?.enqueued ?? null,
    reconcileLastCompleteAt: r?.lastComplete?.finishedAt ?? null,
    reconcileLastCompleteAgeSeconds: r?.lastCompleteAgeSeconds ?? null,
    ...confirmationFields(report.confirmations, limits),
    problems: problems(report, limits),
  };
}

/** The monitor line's time-to-confirmation fields: every app together flat (for alerts), per app in `confirmationsByApp`. */
function confirmationFields(c: ConfirmationReport | undefined, limits: Limits) {
  return {
    confirmationsLastHour: c?.all.confirmations ?? null,
    confirmP50Seconds: c?.all.p50Seconds ?? null,
    confirmP95Seconds: c?.all.p95Seconds ?? null,
    unconfirmedCount: c?.all.unconfirmed ?? null,
    oldestUnconfirmedAgeSeconds: c?.all.oldestUnconfirmedAgeSeconds ?? null,
    unconfirmedLimitSeconds: limits.maxUnconfirmedAgeSeconds,
    confirmationsByApp: (c?.apps ?? []).map((a) => ({
      app: a.app,
      confirmations: a.confirmations,
      p50Seconds: a.p50Seconds,
      p95Seconds: a.p95Seconds,
      unconfirmed: a.unconfirmed,
      oldestUnconfirmedAgeSeconds: a.oldestUnconfirmedAgeSeconds,
    })),
    confirmationTransactions: c?.transactions ?? null,
  };
}
