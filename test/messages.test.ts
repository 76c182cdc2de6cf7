import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, eventsMessageSchema, instanceFolder, instanceId } from '../lib/queue/messages.js';
import { createQueueSender } from '../lib/queue/sender.js';
import { storageClients, uniqueName } from './support/storage.js';

const message = {
  org: 'ttd',
  app: 'my-app',
  partyId: '50015641',
  instanceGuid: 'A2AF1CFD-DB99-45F9-9625-9DFA1223485F',
  eventId: 'e1',
  eventType: 'app.instance.process.completed',
  reason: 'event',
  enqueuedAt: '2026-11-26T10:00:00.1234567+01:00',
};

describe('queue messages', () => {
  it('round-trips base64 JSON, normalising the GUID to lower case', () => {
    const decoded = decodeMessage(eventsMessageSchema, encodeMessage(message));
    expect(decoded).toEqual({ ok: true, value: { ...message, instanceGuid: message.instanceGuid.toLowerCase() } });
  });

  it('accepts what the host hands over: an object, JSON text or a Buffer', () => {
    for (const raw of [message, JSON.stringify(message), Buffer.from(JSON.stringify(message))]) {
      expect(decodeMessage(eventsMessageSchema, raw).ok).toBe(true);
    }
  });

  it('says precisely what is wrong', () => {
    expect(decodeMessage(eventsMessageSchema, 'not base64 json !!')).toEqual({ ok: false, reason: 'message is not JSON (nor base64-encoded JSON)' });
    const bad = decodeMessage(eventsMessageSchema, { ...message, partyId: '12a', reason: 'whim' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/partyId: partyId must be digits/);
    expect(!bad.ok && bad.reason).toMatch(/reason:/);
  });

  it('names instances and their folders from validated parts', () => {
    const ref = { org: 'ttd', app: 'my-app', partyId: '1337', instanceGuid: 'b1135209-628e-4a6e-9efd-e4282068ef41' };
    expect(instanceId(ref)).toBe('1337/b1135209-628e-4a6e-9efd-e4282068ef41');
    expect(instanceFolder(ref)).toBe('ttd/my-app/1337/b1135209-628e-4a6e-9efd-e4282068ef41');
  });

  it('sends to Azurite as the host reads it: base64 JSON, queue created on first use', async () => {
    const { queue } = storageClients();
    const name = uniqueName('msg');
    const sender = createQueueSender(queue);
    await sender.send(name, message);
    await sender.send(name, message);
    const got = await queue.getQueueClient(name).receiveMessages({ numberOfMessages: 2 });
    expect(got.receivedMessageItems).toHaveLength(2);
    const text = got.receivedMessageItems[0]!.messageText;
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(message);
  });
});
