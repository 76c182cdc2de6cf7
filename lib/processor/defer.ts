import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EventsMessage } from '../queue/messages.js';
import type { QueueSender } from '../queue/sender.js';
import { QUEUES } from '../queue/names.js';

/** Longest wait between two tries of a message (a Retry-After may ask for more, up to an hour). */
const MAX_DEFER_SECONDS = 900;
const MAX_RETRY_AFTER_SECONDS = 3_600;

/**
 * How long to put a message away: the server's Retry-After when it gave one, else jittered backoff
 * from `baseSeconds` (DEFER_BASE_SECONDS), doubled per deferral up to MAX_DEFER_SECONDS.
 */
function deferDelaySeconds(deferrals: number, retryAfterSeconds: number | undefined, baseSeconds: number, random: () => number = Math.random): number {
  if (retryAfterSeconds !== undefined) return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(retryAfterSeconds)));
  const backoff = Math.min(MAX_DEFER_SECONDS, baseSeconds * 2 ** Math.min(deferrals, 16));
  // ±20 %: a backlog deferred by one outage does not come back in one burst.
  return Math.min(MAX_DEFER_SECONDS, Math.max(1, Math.round(backoff * (0.8 + 0.4 * random()))));
}

/** Transient trouble has lasted longer than the horizon (counted from the message's first enqueue). */
export function pastHorizon(msg: Pick<EventsMessage, 'enqueuedAt'>, now: number, horizonHours: number): boolean {
  const since = Date.parse(msg.enqueuedAt);
  return !Number.isNaN(since) && now - since > horizonHours * 3_600_000;
}

export interface Deferral {
  kind: 'deferred';
  /** Why: the error code, `instance-busy` when another process holds the instance, or `announce-pending` (confirm.ts announcePending). */
  reason: string;
  delaySeconds: number;
  deferrals: number;
}

/**
 * Put the message back on altinn-events, invisible for the delay, with `deferrals` counted up; the
 * caller then completes the current delivery. A failed send throws, so the host retries the current
 * message instead: a deferred instance is never dropped.
 */
export async function deferMessage(
  deps: { queues: Pick<QueueSender, 'send'>; log: Logger; baseSeconds: number; random?: (() => number) | undefined },
  msg: EventsMessage,
  why: { reason: string; retryAfterSeconds?: number | undefined },
): Promise<Deferral> {
  const deferrals = (msg.deferrals ?? 0) + 1;
  const delaySeconds = deferDelaySeconds(deferrals - 1, why.retryAfterSeconds, deps.baseSeconds, deps.random);
  await deps.queues.send(QUEUES.events, { ...msg, deferrals }, { visibilityTimeoutSeconds: delaySeconds });
  deps.log.warn('message deferred', { stage: 'deferred', why: why.reason, delaySeconds, deferrals });
  return { kind: 'deferred', reason: why.reason, delaySeconds, deferrals };
}

/** The code an operator searches for: ReceiverError's code, else the error's name. */
export function reasonOf(e: unknown): string {
  return e instanceof ReceiverError ? e.code : ((e as Error)?.name ?? 'error');
}
