import type { DequeuedMessageItem, PeekedMessageItem, QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { decodeMessage, eventsMessageSchema, instanceRefSchema, poisonEnvelopeSchema } from '../lib/queue/messages.js';

/** What a replay needs from a poison message: the instance, and the event it came from when known. */
const replayableSchema = instanceRefSchema.extend({
  eventId: eventsMessageSchema.shape.eventId,
  eventType: eventsMessageSchema.shape.eventType,
});
export type Replayable = z.infer<typeof replayableSchema>;

const HOST_REASON = 'failed repeatedly (moved here by the Functions host)';

export interface PoisonEntry {
  messageId: string;
  insertedOn: Date | undefined;
  dequeueCount: number;
  /** The processor's reason, or HOST_REASON for a raw message. */
  reason: string;
  failedAt: string | undefined;
  /** The instance to replay, when the message names one. */
  ref: Replayable | undefined;
  /** Why no instance could be read from the message. */
  problem: string | undefined;
}

function readPoison(item: PeekedMessageItem | DequeuedMessageItem): PoisonEntry {
  const base = { messageId: item.messageId, insertedOn: item.insertedOn, dequeueCount: item.dequeueCount };
  const any = decodeMessage(z.unknown(), item.messageText);
  const envelope = any.ok ? poisonEnvelopeSchema.safeParse(any.value) : undefined;
  const [reason, failedAt, original] = envelope?.success
    ? [envelope.data.reason, envelope.data.failedAt, envelope.data.original]
    : [HOST_REASON, undefined, item.messageText];
  const ref = decodeMessage(replayableSchema, original);
  return { ...base, reason, failedAt, ref: ref.ok ? ref.value : undefined, problem: ref.ok ? undefined : ref.reason };
}

/** Azure lets one peek see at most 32 messages: list and dry runs look at those, and say so. */
export const PEEK_LIMIT = 32;

export async function peekPoison(queue: QueueClient): Promise<{ count: number; entries: PoisonEntry[] }> {
  if (!(await queue.exists())) return { count: 0, entries: [] };
  const [props, peeked] = await Promise.all([queue.getProperties(), queue.peekMessages({ numberOfMessages: PEEK_LIMIT })]);
  const entries = peeked.peekedMessageItems.map(readPoison);
  return { count: Math.max(props.approximateMessagesCount ?? 0, entries.length), entries };
}

export type Decision = 'delete' | 'keep' | 'delete-and-stop' | 'keep-and-stop';

/** Seconds a message stays hidden while a drain decides about it; kept ones are made visible again at the end. */
const HOLD_SECONDS = 120;

/**
 * Receive every message once and let `decide` act on it: 'delete' removes it (after `decide` finished its work),
 * 'keep' leaves it in the queue; '…-and-stop' ends the drain after that. If `decide` throws, the message is
 * kept and the error rethrown. Kept messages are made visible again before returning.
 */
export async function drainPoison(queue: QueueClient, decide: (entry: PoisonEntry) => Promise<Decision>): Promise<void> {
  if (!(await queue.exists())) return;
  const kept = new Map<string, string>(); // messageId → current popReceipt
  try {
    for (;;) {
      const { receivedMessageItems: items } = await queue.receiveMessages({ numberOfMessages: PEEK_LIMIT, visibilityTimeout: HOLD_SECONDS });
      const fresh = items.filter((m) => !kept.has(m.messageId));
      for (const m of items) if (kept.has(m.messageId)) kept.set(m.messageId, m.popReceipt);
      if (fresh.length === 0) return;
      for (const [i, m] of fresh.entries()) {
        let decision: Decision;
        try {
          decision = await decide(readPoison(m));
        } catch (e) {
          for (const rest of fresh.slice(i)) kept.set(rest.messageId, rest.popReceipt);
          throw e;
        }
        if (decision.startsWith('delete')) await queue.deleteMessage(m.messageId, m.popReceipt);
        else kept.set(m.messageId, m.popReceipt);
        if (decision.endsWith('-and-stop')) {
          for (const rest of fresh.slice(i + 1)) kept.set(rest.messageId, rest.popReceipt);
          return;
        }
      }
    }
  } finally {
    await Promise.allSettled([...kept].map(([id, pop]) => queue.updateMessage(id, pop, undefined, 0)));
  }
}
