import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { encodeMessage } from './messages.js';

/**
 * Sends JSON messages (base64, as the host reads them) to named queues, creating each queue once per
 * process on first use. A failed create is not remembered, so the next call tries again.
 */
export interface QueueSender {
  send(queue: string, message: unknown, options?: { visibilityTimeoutSeconds?: number }): Promise<{ messageId: string }>;
  client(queue: string): Promise<QueueClient>;
}

export function createQueueSender(service: QueueServiceClient): QueueSender {
  const ready = new Map<string, Promise<QueueClient>>();
  const client = (name: string): Promise<QueueClient> => {
    let p = ready.get(name);
    if (!p) {
      const q = service.getQueueClient(name);
      p = q.createIfNotExists().then(() => q);
      p.catch(() => ready.delete(name));
      ready.set(name, p);
    }
    return p;
  };
  return {
    client,
    async send(queue, message, options) {
      const q = await client(queue);
      const res = await q.sendMessage(encodeMessage(message), {
        visibilityTimeout: options?.visibilityTimeoutSeconds,
        messageTimeToLive: -1,
      });
      return { messageId: res.messageId };
    },
  };
}
