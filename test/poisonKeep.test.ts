import { describe, expect, it } from 'vitest';
import { HOST_MOVED_REASON, keepHostMovedPoison } from '../lib/ops/poisonKeep.js';
import { encodeMessage, poisonEnvelopeSchema } from '../lib/queue/messages.js';
import { storageClients, uniqueName } from './support/storage.js';

/** Host-moved poison gets the queue's 7-day TTL (Azure/azure-webjobs-sdk-extensions#891); the monitor makes it last like ours. */
async function poisonQueue() {
  const q = storageClients().queue.getQueueClient(uniqueName('poison'));
  await q.create();
  return q;
}

const decoded = (text: string) => JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;

describe('host-moved poison is kept as long as ours', () => {
  it('re-sends each expiring message as our envelope with TTL -1, deletes the original, and leaves ours in place and visible', async () => {
    const q = await poisonQueue();
    const ours = { reason: 'element-unavailable: gone', original: { instanceGuid: 'a' }, failedAt: new Date().toISOString() };
    const moved = { org: 'ttd', app: 'x', partyId: '1', instanceGuid: 'b', reason: 'event', enqueuedAt: new Date().toISOString() };
    await q.sendMessage(encodeMessage(ours), { messageTimeToLive: -1 });
    // As the host moves it: the original text, the queue's default time-to-live.
    await q.sendMessage(encodeMessage(moved));
    await q.sendMessage('not base64 json {');
    const expiring = (await q.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.filter((m) => m.expiresOn.getUTCFullYear() < 9999);
    expect(expiring).toHaveLength(2);

    await expect(keepHostMovedPoison(q)).resolves.toEqual({ rewrapped: 2, scanned: 3 });

    const after = (await q.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
    expect(after).toHaveLength(3);
    expect(after.every((m) => m.expiresOn.getUTCFullYear() >= 9999)).toBe(true);
    const bodies = after.map((m) => poisonEnvelopeSchema.parse(decoded(m.messageText)));
    expect(bodies).toContainEqual(ours);
    expect(bodies).toContainEqual({ reason: HOST_MOVED_REASON, original: moved, failedAt: expect.any(String) as unknown });
    expect(bodies).toContainEqual({ reason: HOST_MOVED_REASON, original: 'not base64 json {', failedAt: expect.any(String) as unknown });

    // A second run finds nothing to do and costs no receive.
    await expect(keepHostMovedPoison(q)).resolves.toEqual({ rewrapped: 0, scanned: 3 });
  });

  it('an expiring copy of our own envelope is re-sent as it is, not wrapped twice', async () => {
    const q = await poisonQueue();
    const ours = { reason: 'replayed by hand', original: { instanceGuid: 'c' }, failedAt: new Date().toISOString() };
    await q.sendMessage(encodeMessage(ours));
    await expect(keepHostMovedPoison(q)).resolves.toMatchObject({ rewrapped: 1 });
    const [m] = (await q.peekMessages()).peekedMessageItems;
    expect(decoded(m!.messageText)).toEqual(ours);
    expect(m!.expiresOn.getUTCFullYear()).toBeGreaterThanOrEqual(9999);
  });

  it('a queue that does not exist yet is nothing to do', async () => {
    await expect(keepHostMovedPoison(storageClients().queue.getQueueClient(uniqueName('none')))).resolves.toEqual({ rewrapped: 0, scanned: 0 });
  });
});
