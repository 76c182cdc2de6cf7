import type { Instance } from '../altinn/instanceSchema.js';
import type { EventsMessage } from '../queue/messages.js';
import type { HeardVia, Timing } from './manifest.js';

/** The path a message came by (its `reason`); the feed's messages carry `feed`. */
const VIA: Partial<Record<string, HeardVia>> = { event: 'webhook', feed: 'feed', reconcile: 'reconciler', replay: 'replay' };
export const heardVia = (msg: Pick<EventsMessage, 'reason'>): HeardVia => VIA[msg.reason] ?? 'replay';

/** What this run knows of the instance's time line: process.ended, and when and how we first heard of it. */
export function timingOf(msg: EventsMessage, instance: Pick<Instance, 'process'>): Timing {
  return { processEndedAt: instance.process?.ended ?? null, firstHeardAt: msg.enqueuedAt, firstHeardVia: heardVia(msg) };
}

/**
 * The blob index tag of an instance's lock blob (set when the first run creates it), for a message that says the
 * instance is completed (the default event type, the feed, the reconciler): lib/ops/confirmations.ts lists these
 * as the instances we know of, and those without a confirmed manifest as not yet confirmed. Its value starts
 * with when we first heard of it (the message's `enqueuedAt`), so a range on it selects a period.
 */
export const KNOWN_TAG = 'rcvKnown';
const COMPLETED_EVENT = 'app.instance.process.completed';

export function knownTags(msg: EventsMessage): Record<string, string> | undefined {
  const via = heardVia(msg);
  const completed = via === 'reconciler' || via === 'feed' || msg.eventType === COMPLETED_EVENT;
  return completed ? { [KNOWN_TAG]: `${msg.enqueuedAt} via=${via}` } : undefined;
}
