import type { QueueSender } from '../../lib/queue/sender.js';
import { QUEUES } from '../../lib/queue/names.js';

/** The sender with `altinn-events` renamed to `name`: each test case gets its own events queue. */
export function withEventsQueue(sender: QueueSender, name: string): QueueSender {
  return { ...sender, send: (queue, message, options) => sender.send(queue === QUEUES.events ? name : queue, message, options) };
}
