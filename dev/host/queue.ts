import type { StorageQueueFunctionOptions } from '@azure/functions';
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { systemClock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { QueueSettings } from './hostJson.js';
import type { Invoker } from './invoke.js';

/** First idle back-off step; it doubles up to maxPollingInterval, as the host's does. */
const MIN_POLL_MS = 100;
/** How long a received message stays invisible while its invocation runs; renewed at half-time, like the host. */
const LEASE_SECONDS = 600;

export interface QueueListener {
  /** Resolves when polling has stopped (after `stop`). */
  readonly stopped: Promise<void>;
  /** Stops fetching new messages; invocations in flight go on. */
  stop(): void;
  /** Resolves when every message taken so far is settled (deleted, made visible again, or poisoned). */
  settled(): Promise<void>;
  /** Makes the messages still in flight visible again at once (shutdown with unfinished work). */
  release(): Promise<number>;
}

interface Active {
  popReceipt: string;
  renew: NodeJS.Timeout;
  done: Promise<void>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The message as the host hands it to a JavaScript handler: JSON objects/arrays parsed, anything else a string. */
export function decodeQueueMessage(raw: string, encoding: QueueSettings['messageEncoding']): unknown {
  let text = raw;
  if (encoding === 'base64') {
    if (!BASE64.test(raw)) throw new Error('message is not valid base64 (host.json messageEncoding is base64)');
    text = Buffer.from(raw, 'base64').toString('utf8');
  }
  if (/^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/** What a listener's message handling needs: the function, its queue, and the messages in flight by id. */
interface Listener {
  name: string;
  options: StorageQueueFunctionOptions;
  queue: QueueClient;
  settings: QueueSettings;
  invoker: Invoker;
  log: Logger;
  active: Map<string, Active>;
  toPoison: (m: DequeuedMessageItem, popReceipt: string) => Promise<void>;
}

export function startQueueListener(args: {
  name: string;
  options: StorageQueueFunctionOptions;
  queue: QueueClient;
  poison: QueueClient;
  settings: QueueSettings;
  invoker: Invoker;
  log: Logger;
}): QueueListener {
  const { name, options, queue, poison, settings, invoker } = args;
  const log = args.log.child({ function: name, queue: queue.name });
  const active = new Map<string, Active>();
  const listener: Listener = { name, options, queue, settings, invoker, log, active, toPoison: poisoner(queue, poison, log) };
  const stopping = new AbortController();
  const stopped = new Promise<void>((r) => stopping.signal.addEventListener('abort', () => r(), { once: true }));
  const begin = (m: DequeuedMessageItem) => beginMessage(listener, m);

  const polling = poll({ queue, settings, active, stopping: stopping.signal, stopped, begin, log }).catch((error: unknown) => log.error('queue listener stopped', { error }));

  return {
    stopped: stopped.then(() => polling),
    stop: () => stopping.abort(),
    settled: async () => {
      while (active.size > 0) await Promise.all([...active.values()].map((a) => a.done));
    },
    release: () => releaseMessages(listener),
  };
}

/** Takes a received message into flight: its lease renewed at half-time until it is settled. */
function beginMessage(listener: Listener, m: DequeuedMessageItem): void {
  const { queue, active, log } = listener;
  const entry: Active = {
    popReceipt: m.popReceipt,
    renew: setInterval(() => {
      queue
        .updateMessage(m.messageId, entry.popReceipt, undefined, LEASE_SECONDS)
        .then((r) => (entry.popReceipt = r.popReceipt ?? entry.popReceipt))
        .catch((error: unknown) => log.warn('could not extend message visibility', { messageId: m.messageId, error }));
    }, (LEASE_SECONDS * 1000) / 2),
    done: Promise.resolve(),
  };
  active.set(m.messageId, entry);
  entry.done = handleMessage(listener, m)
    .catch((error: unknown) => log.error('could not settle message', { messageId: m.messageId, error }))
    .finally(() => {
      clearInterval(entry.renew);
      active.delete(m.messageId);
    });
}

/** Invokes the function with a message and settles it: deleted on success, else visible again after visibilityTimeout or poisoned. */
async function handleMessage(listener: Listener, m: DequeuedMessageItem): Promise<void> {
  const { name, options, queue, settings, invoker, toPoison } = listener;
  const entry = listener.active.get(m.messageId)!;
  if (m.dequeueCount > settings.maxDequeueCount) {
    // Dequeued too often without an outcome (e.g. the process died mid-invocation): never invoked again.
    return toPoison(m, entry.popReceipt);
  }
  const outcome = await invoker.invoke(
    name,
    { trigger: 'queue', queue: queue.name, messageId: m.messageId, dequeueCount: m.dequeueCount },
    triggerMetadata(m),
    (context) => options.handler(decodeQueueMessage(m.messageText, settings.messageEncoding), context),
  );
  clearInterval(entry.renew);
  if (outcome.ok) return void (await queue.deleteMessage(m.messageId, entry.popReceipt));
  if (m.dequeueCount >= settings.maxDequeueCount) return toPoison(m, entry.popReceipt);
  await queue.updateMessage(m.messageId, entry.popReceipt, undefined, Math.round(settings.visibilityTimeout / 1000));
}

/** Makes every message still in flight visible again at once; resolves with how many there were. */
async function releaseMessages({ queue, active, log }: Listener): Promise<number> {
  const unfinished = [...active.entries()];
  await Promise.all(
    unfinished.map(([id, a]) => {
      clearInterval(a.renew);
      return queue
        .updateMessage(id, a.popReceipt, undefined, 0)
        .catch((error: unknown) => log.warn('could not release message', { messageId: id, error }));
    }),
  );
  return unfinished.length;
}

/** Receives batches while not stopped: the next once in-flight work drops to newBatchThreshold, backing off when idle. */
async function poll(p: {
  queue: QueueClient;
  settings: QueueSettings;
  active: Map<string, Active>;
  stopping: AbortSignal;
  stopped: Promise<void>;
  begin: (m: DequeuedMessageItem) => void;
  log: Logger;
}): Promise<void> {
  const { queue, settings, active, stopping, stopped, begin, log } = p;
  let idleMs = Math.min(MIN_POLL_MS, settings.maxPollingInterval);
  while (!stopping.aborted) {
    if (active.size > settings.newBatchThreshold) {
      // The host fetches the next batch once in-flight work drops to newBatchThreshold.
      await Promise.race([...[...active.values()].map((a) => a.done), stopped]);
      continue;
    }
    let batch: DequeuedMessageItem[] = [];
    try {
      // Not aborted by stop: an aborted receive could leave messages invisible for the whole lease.
      batch = (await queue.receiveMessages({ numberOfMessages: settings.batchSize, visibilityTimeout: LEASE_SECONDS }))
        .receivedMessageItems;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) log.warn('polling failed', { error });
    }
    if (stopping.aborted) {
      await Promise.all(batch.map((m) => queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
      break;
    }
    if (batch.length === 0) {
      await systemClock.sleep(idleMs, stopping).catch(() => undefined);
      idleMs = Math.min(idleMs * 2, settings.maxPollingInterval);
      continue;
    }
    idleMs = Math.min(MIN_POLL_MS, settings.maxPollingInterval);
    batch.forEach(begin);
  }
}

/** Moves a message to the poison queue (created on first use), deleting it from its own. */
function poisoner(queue: QueueClient, poison: QueueClient, log: Logger) {
  let poisonReady: Promise<unknown> | undefined;
  return async (m: DequeuedMessageItem, popReceipt: string) => {
    poisonReady ??= poison.createIfNotExists().catch((e: unknown) => {
      poisonReady = undefined;
      throw e;
    });
    await poisonReady;
    // The original text, still encoded: a replay puts it back exactly as it came.
    await poison.sendMessage(m.messageText);
    await queue.deleteMessage(m.messageId, popReceipt);
    log.warn('message moved to poison queue', { messageId: m.messageId, dequeueCount: m.dequeueCount, poisonQueue: poison.name });
  };
}

/** The trigger metadata the host passes along with a queue message. */
function triggerMetadata(m: DequeuedMessageItem) {
  return {
    id: m.messageId,
    queueTrigger: m.messageText,
    dequeueCount: m.dequeueCount,
    insertionTime: m.insertedOn.toISOString(),
    expirationTime: m.expiresOn.toISOString(),
    nextVisibleTime: m.nextVisibleOn.toISOString(),
    popReceipt: m.popReceipt,
  };
}
