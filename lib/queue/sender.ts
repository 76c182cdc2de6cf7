import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { azureCall } from '../azure/call.js';
import { encodeMessage } from './messages.js';

export interface SendOptions {
  visibilityTimeoutSeconds?: number;
  /**
   * Bounds the whole send, the SDK's own retries included, tighter than AZURE_CALL_TIMEOUT_MS (a webhook that must
   * answer 503 in time). A bound, not a caller's signal: one deadline per call instead of a controller and a combined signal.
   */
  timeoutMs?: number;
}

/**
 * Sends JSON messages (base64, as the host reads them) to named queues, creating each queue once per
 * process on first use. A failed create is not remembered, so the next call tries again.
 */
export interface QueueSender {
  send(queue: string, message: unknown, options?: SendOptions): Promise<{ messageId: string }>;
  client(queue: string, timeoutMs?: number): Promise<QueueClient>;
}

export function createQueueSender(service: QueueServiceClient): QueueSender {
  const ready = new Map<string, Promise<QueueClient>>();
  const client = (name: string, timeoutMs?: number): Promise<QueueClient> => {
    let p = ready.get(name);
    if (!p) {
      const q = service.getQueueClient(name);
      p = azureCall('create queue', (signal) => q.createIfNotExists({ abortSignal: signal }), { timeoutMs }).then(() => q);
      p.catch(() => ready.delete(name));
      ready.set(name, p);
    }
    return p;
  };
  return {
    client,
    async send(queue, message, options) {
      const put = async () => {
        const timeoutMs = options?.timeoutMs;
        const q = await client(queue, timeoutMs);
        const text = encodeMessage(message);
        const put = (abortSignal: AbortSignal) => q.sendMessage(text, { visibilityTimeout: options?.visibilityTimeoutSeconds, messageTimeToLive: -1, abortSignal });
        return azureCall('put message', put, { timeoutMs });
      };
      try {
        return { messageId: (await put()).messageId };
      } catch (e) {
        // The queue was deleted (or the emulator restarted) after we created it: create it again, once.
        if ((e as { code?: unknown }).code !== 'QueueNotFound') throw e;
        ready.delete(queue);
        return { messageId: (await put()).messageId };
      }
    },
  };
}
