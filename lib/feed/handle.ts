import type { ContainerClient } from '@azure/storage-blob';
import type { BlobStore } from '../blob/store.js';
import { isHeld } from '../processor/held.js';
import { readManifest } from '../processor/manifest.js';
import { eventsMessageSchema, instanceId } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import type { EnqueueMarks } from '../reconcile/state.js';
import { parseInstanceSource } from '../webhook/source.js';
import type { FeedItem } from './client.js';
import type { FeedDeps } from './run.js';

export interface FeedCounts {
  /** Feed requests sent (pages read). */
  requests: number;
  /** Messages sent: completed instances not stored yet. */
  enqueued: number;
  /** Events of instances already stored and confirmed (the manifest has `readyAt`): what the webhook did. */
  stored: number;
  /** Held for an operator (infected element; `held list`). */
  held: number;
  /** Enqueued recently by this run, an earlier feed run or the reconciler (the shared enqueue marks), or of a type not handled. */
  skipped: number;
  /** Not usable: not a CloudEvent, or a source that is not an instance of this app (logged each). */
  invalid: number;
  /** Events left for a later run: younger than FEED_MIN_AGE_SECONDS (and those after them). */
  waiting: number;
  /** Cursor blob writes. */
  cursorWrites: number;
}

export const newCounts = (): FeedCounts => ({ requests: 0, enqueued: 0, stored: 0, held: 0, skipped: 0, invalid: 0, waiting: 0, cursorWrites: 0 });

export interface EventContext {
  deps: FeedDeps;
  container: ContainerClient;
  store: BlobStore;
  /** The reconciler's enqueue marks (`_reconcile/instances/`): neither enqueues what the other just did. */
  marks: EnqueueMarks;
  /** An instance counts once per run (checked before any await, so race-free). */
  inThisRun: Set<string>;
}

/**
 * One feed event: enqueue its instance unless it is stored and confirmed, held, or enqueued recently; returns
 * what happened. The event is a hint, exactly like a webhook delivery: its source is parsed strictly and only
 * the validated parts travel on (docs/processing.md, Webhook).
 */
export async function handleEvent(ctx: EventContext, app: string, item: FeedItem): Promise<keyof FeedCounts> {
  const { config, log, clock, queues } = ctx.deps;
  if (!item.event) {
    log.warn('feed: event skipped, not usable', { app, eventId: item.id, reason: item.problem });
    return 'invalid';
  }
  const { event } = item;
  if (!config.eventTypes.includes(event.type)) return 'skipped';
  const source = parseInstanceSource(event.source, { appsOrigin: config.altinn.appsOrigin, org: config.org });
  if (!source.ok || source.ref.app !== app) {
    log.warn('feed: event skipped, its source is not an instance of this app', { app, eventId: event.id, reason: source.ok ? `app ${source.ref.app}` : source.reason });
    return 'invalid';
  }
  const ref = source.ref;
  if (ctx.inThisRun.has(ref.instanceGuid)) return 'skipped';
  ctx.inThisRun.add(ref.instanceGuid);
  if ((await readManifest(ctx.store, ref))?.readyAt) return 'stored';
  if (await isHeld(ctx.container, ref)) return 'held';
  if (await ctx.marks.isRecent(ref.instanceGuid)) return 'skipped';
  const message = eventsMessageSchema.parse({ ...ref, eventId: event.id, eventType: event.type, reason: 'feed', enqueuedAt: new Date(clock.now()).toISOString() });
  await queues.send(QUEUES.events, message);
  // Marked after the send: a crash in between costs at most one duplicate, never a lost instance.
  await ctx.marks.mark(ref.instanceGuid);
  log.info('feed: enqueued an instance the webhook has not stored', { app, instanceId: instanceId(ref), eventId: event.id, eventTime: event.time });
  return 'enqueued';
}
