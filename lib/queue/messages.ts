import { z } from 'zod';
import { APP, GUID, ORG } from '../patterns.js';

/** Queue message contracts (docs/contracts.md, Queues). Every producer and consumer goes through these schemas. */

export const instanceRefSchema = z.object({
  org: z.string().regex(ORG, 'org must be an Altinn org code'),
  app: z.string().regex(APP, 'app must be an Altinn app name'),
  partyId: z.string().regex(/^\d{1,18}$/, 'partyId must be digits'),
  instanceGuid: z
    .string()
    .regex(GUID, 'instanceGuid must be a GUID')
    .transform((g) => g.toLowerCase()),
});
export type InstanceRef = z.infer<typeof instanceRefSchema>;

export const eventsMessageSchema = instanceRefSchema.extend({
  eventId: z.string().max(200).optional(),
  eventType: z.string().max(200).optional(),
  /** What found the instance: the webhook (`event`), the reconciler's Storage query, Altinn Events' feed, or an operator's replay. */
  reason: z.enum(['event', 'reconcile', 'feed', 'replay']),
  /** When the instance was first enqueued; a deferred message keeps it, so the deferral horizon counts from here. */
  enqueuedAt: z.iso.datetime({ offset: true }),
  /** How often the processor has put this message back for later (transient trouble, or the instance busy on another host). */
  deferrals: z.number().int().min(0).max(1_000_000).optional(),
  /**
   * Storage answered 403 or 404 on the instance or an element (which heals: Authorization down, any
   * exception on an instance GET): since when, and how often each. Past HEAL_WINDOW_MINUTES from `since` it is poisoned.
   */
  refused: z
    .object({
      since: z.iso.datetime({ offset: true }),
      forbidden: z.number().int().min(0).max(1_000_000),
      notFound: z.number().int().min(0).max(1_000_000),
    })
    .optional(),
});
export type EventsMessage = z.infer<typeof eventsMessageSchema>;

export const readyMessageSchema = instanceRefSchema.extend({
  manifest: z.string().min(1),
  confirmedAt: z.iso.datetime({ offset: true }),
  /** Ids of elements Altinn flagged as infected and we never downloaded: only on an instance an operator released (`held release`). */
  infected: z.array(z.string().min(1)).min(1).optional(),
  /** The instance's `process.ended` (null: Altinn gave none); absent from messages of earlier versions. */
  processEndedAt: z.string().nullable().optional(),
  /** When we first heard of the instance, and by which path (webhook, feed, reconciler, replay). */
  firstHeardAt: z.iso.datetime({ offset: true }).optional(),
  firstHeardVia: z.enum(['webhook', 'feed', 'reconciler', 'replay']).optional(),
});
export type ReadyMessage = z.infer<typeof readyMessageSchema>;

/** An element Altinn's virus scan flagged: not downloaded, listed in the held message. */
const infectedElementSchema = z.object({ id: z.string().min(1), dataType: z.string(), filename: z.string().nullable() });

/**
 * `altinn-instances-held`: an instance stored except its infected elements, not confirmed to Altinn
 * (CONFIRM_ON_INFECTED=false), waiting for an operator. The same document is the held index blob.
 */
export const heldMessageSchema = instanceRefSchema.extend({
  reason: z.literal('infected'),
  infected: z.array(infectedElementSchema).min(1),
  manifest: z.string().min(1),
  /** The manifest is written (every other element stored and verified) and carries `heldAt`. */
  manifestStatus: z.literal('held'),
  heldAt: z.iso.datetime({ offset: true }),
});
export type HeldMessage = z.infer<typeof heldMessageSchema>;

/**
 * `altinn-events-poison` holds two shapes: this envelope, which the processor writes for a message it
 * rejects, and raw messages the Functions host moves there after maxDequeueCount failures.
 */
export const poisonEnvelopeSchema = z.object({ reason: z.string(), original: z.unknown(), failedAt: z.string() });
export type PoisonEnvelope = z.infer<typeof poisonEnvelopeSchema>;

/** `{partyId}/{instanceGuid}`: how Altinn names an instance, and what our logs and errors carry. */
export function instanceId(ref: Pick<InstanceRef, 'partyId' | 'instanceGuid'>): string {
  return `${ref.partyId}/${ref.instanceGuid}`;
}

/** Blob folder of one instance: {org}/{app}/{partyId}/{instanceGuid}. */
export function instanceFolder(ref: InstanceRef): string {
  return `${ref.org}/${ref.app}/${ref.partyId}/${ref.instanceGuid}`;
}

/** Base64-encoded JSON: the Functions host's default `messageEncoding`. */
export function encodeMessage(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Decode a queue message as the host hands it over (already-parsed object, JSON string, or base64 text)
 * and validate it; the reason says precisely what is wrong, for the poison queue.
 */
export function decodeMessage<T>(schema: z.ZodType<T>, raw: unknown): DecodeResult<T> {
  let value: unknown = raw;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    const text = value.trim();
    const json = text.startsWith('{') ? text : Buffer.from(text, 'base64').toString('utf8');
    try {
      value = JSON.parse(json);
    } catch {
      return { ok: false, reason: 'message is not JSON (nor base64-encoded JSON)' };
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; '),
    };
  }
  return { ok: true, value: parsed.data };
}
