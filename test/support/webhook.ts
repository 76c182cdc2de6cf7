import type { QueueClient } from '@azure/storage-queue';
import { loadConfig } from '../../lib/config.js';
import type { IncomingRequest } from '../../lib/webhook/body.js';
import type { WebhookDeps } from '../../lib/webhook/receiveEvent.js';
import { memoryLogger } from './log.js';
import { decodeMessage, eventsMessageSchema, type EventsMessage } from '../../lib/queue/messages.js';
import { createQueueSender, type QueueSender } from '../../lib/queue/sender.js';
import { withEventsQueue } from './queues.js';
import { validEnv } from './settings.js';
import { azuriteConnectionString, storageClients, uniqueName } from './storage.js';

/** The instant every test clock says; enqueuedAt must be exactly this. */
export const NOW = Date.parse('2026-11-26T12:00:00.000Z');

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** A request as the Functions host hands it over: headers plus a body stream (or none). */
export function request(body: string | Uint8Array | null, headers: Record<string, string> = JSON_HEADERS, method = 'POST'): IncomingRequest {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return { method, headers: new Headers(headers), body: bytes ? new Blob([bytes]).stream() : null };
}

/** The webhook's collaborators against real Azurite: its own fresh queue, a memory log, a fixed clock. */
export function webhookDeps(env: Record<string, string | undefined> = {}, queues?: QueueSender) {
  const cs = azuriteConnectionString();
  const config = loadConfig(validEnv({ AzureWebJobsStorage: cs, ...env }));
  const queueName = uniqueName('ev');
  const log = memoryLogger();
  const deps: WebhookDeps = {
    config,
    queues: withEventsQueue(queues ?? createQueueSender(storageClients(cs).queue), queueName),
    log,
    clock: { now: () => NOW },
  };
  return { deps, log, queueName, queue: storageClients(cs).queue.getQueueClient(queueName) };
}

/** Every message on the queue (it may not exist yet: then none), decoded and validated against the contract. */
export async function queuedMessages(queue: QueueClient): Promise<EventsMessage[]> {
  if (!(await queue.exists())) return [];
  const out: EventsMessage[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      const decoded = decodeMessage(eventsMessageSchema, m.messageText);
      if (!decoded.ok) throw new Error(`queued message breaks the contract: ${decoded.reason}`);
      out.push(decoded.value);
    }
  }
}

/** The request's log lines, parsed. */
export function logLines(log: { lines: string[] }): Record<string, unknown>[] {
  return log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}
