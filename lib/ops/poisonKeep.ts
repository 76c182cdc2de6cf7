import type { DequeuedMessageItem, PeekedMessageItem, QueueClient } from '@azure/storage-queue';
import { azureCall } from '../azure/call.js';
import { decodeMessage, encodeMessage, poisonEnvelopeSchema, type PoisonEnvelope } from '../queue/messages.js';
import { mapLimit } from '../pool.js';

/**
 * The Functions host moves a message that failed maxDequeueCount times to `altinn-events-poison` with the
 * queue's default time-to-live, 7 days, and offers no setting for it (Azure/azure-webjobs-sdk-extensions#891);
 * ours are sent with TTL -1 and never expire. Update Message cannot change a TTL, so each host-moved
 * message is sent again as our envelope with TTL -1, then the original is deleted: a poison message
 * an operator has not seen stays until someone replays or deletes it.
 */
const BATCH = 32;
/** Messages looked at per run at most (the rest the next run): bounds a run's time and transactions. */
const MAX_SCAN = 32 * 20;
/** Long enough for one run to finish: ours are made visible again at the end, the host-moved ones are gone by then. */
const SCAN_VISIBILITY_SECONDS = 120;

export const HOST_MOVED_REASON = 'moved to the poison queue by the Functions host after maxDequeueCount failed deliveries (the invocation threw each time); see the logs of that instance';

/** Expires never: Azure reports TTL -1 as 9999-12-31. */
const keptForever = (m: { expiresOn?: Date | undefined }) => (m.expiresOn?.getUTCFullYear() ?? 0) >= 9999;

export interface PoisonKept {
  /** Host-moved (or otherwise expiring) messages now kept forever. */
  rewrapped: number;
  scanned: number;
}

export async function keepHostMovedPoison(queue: QueueClient): Promise<PoisonKept> {
  if (!(await azureCall('queue exists', (abortSignal) => queue.exists({ abortSignal })))) return { rewrapped: 0, scanned: 0 };
  // The usual case, a short queue of our own envelopes, costs two requests and changes nothing.
  const [props, peeked] = await Promise.all([
    azureCall('queue properties', (abortSignal) => queue.getProperties({ abortSignal })),
    azureCall('peek messages', (abortSignal) => queue.peekMessages({ numberOfMessages: BATCH, abortSignal })),
  ]);
  const head: PeekedMessageItem[] = peeked.peekedMessageItems;
  if ((props.approximateMessagesCount ?? 0) <= head.length && head.every(keptForever)) return { rewrapped: 0, scanned: head.length };
  const ours: DequeuedMessageItem[] = [];
  const moved: DequeuedMessageItem[] = [];
  let scanned = 0;
  // Every message received first (hidden meanwhile), so the copies sent below are not received again.
  while (scanned < MAX_SCAN) {
    const { receivedMessageItems: batch } = await azureCall('get messages', (abortSignal) =>
      queue.receiveMessages({ numberOfMessages: BATCH, visibilityTimeout: SCAN_VISIBILITY_SECONDS, abortSignal }),
    );
    if (batch.length === 0) break;
    scanned += batch.length;
    for (const m of batch) (keptForever(m) ? ours : moved).push(m);
  }
  for (const m of moved) {
    // Sent before the original is deleted: a failure in between leaves a duplicate (replay is idempotent), never a loss.
    await azureCall('put message', (abortSignal) => queue.sendMessage(encodeMessage(envelopeOf(m)), { messageTimeToLive: -1, abortSignal }));
    await azureCall('delete message', (abortSignal) => queue.deleteMessage(m.messageId, m.popReceipt, { abortSignal }));
  }
  await mapLimit(ours, 8, (m) => azureCall('update message', (abortSignal) => queue.updateMessage(m.messageId, m.popReceipt, undefined, 0, { abortSignal })));
  return { rewrapped: moved.length, scanned };
}

/** Our envelope as it is (an expiring copy of one), or the host-moved original inside a new one. */
function envelopeOf(m: DequeuedMessageItem): PoisonEnvelope {
  const decoded = decodeMessage(poisonEnvelopeSchema, m.messageText);
  if (decoded.ok) return decoded.value;
  let original: unknown = m.messageText;
  try {
    original = JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'));
  } catch {
    // Not base64 JSON: kept as the text the host moved.
  }
  return { reason: HOST_MOVED_REASON, original, failedAt: (m.insertedOn ?? new Date()).toISOString() };
}
