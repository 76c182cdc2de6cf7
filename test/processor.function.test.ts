import azf from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { startAzurite } from '../dev/azurite.js';
import { definition } from '../functions/instanceProcessor.js';
import { QUEUES } from '../lib/queue/names.js';
import { storageClients } from './support/storage.js';

/**
 * The function as Azure runs it: settings from process.env, the runtime's storage and Altinn auth.
 * It writes to the fixed queue names, so it gets an Azurite of its own.
 */
let sim: Simulator;
let azurite: Awaited<ReturnType<typeof startAzurite>>;
beforeAll(async () => {
  [sim, azurite] = await Promise.all([startSimulator(), startAzurite()]);
  Object.assign(process.env, (await sim.newClient()).env, { AzureWebJobsStorage: azurite.connectionString, BLOB_CONTAINER: 'received' });
});
afterAll(async () => {
  await Promise.all([sim.stop(), azurite.stop()]);
});

async function queueTexts(name: string): Promise<unknown[]> {
  const q = storageClients(azurite.connectionString).queue.getQueueClient(name);
  if (!(await q.exists())) return [];
  const { peekedMessageItems } = await q.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown);
}

describe('instanceProcessor function', () => {
  it('is a queue trigger on altinn-events over AzureWebJobsStorage', () => {
    expect(definition).toMatchObject({ kind: 'storageQueue', name: 'instanceProcessor', options: { queueName: 'altinn-events', connection: 'AzureWebJobsStorage' } });
  });

  // First of the runs: a runtime built with good settings is kept for the process.
  it.each([
    ['ALTINN_ORG', undefined],
    ['ALTINN_PLATFORM_URL', 'ftp://platform.example'],
  ])('with a broken core setting (%s) defers the message (long delay, not poisoned), names the setting, asks Altinn nothing', async (setting, value) => {
    const doc = await sim.seedInstance({ app: 'soknad', elements: [{ dataType: 'model', contentType: 'application/xml', size: 10 }], completed: true });
    const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
    const saved = { ALTINN_ENV: process.env.ALTINN_ENV, [setting]: process.env[setting] };
    if (value === undefined) delete process.env[setting];
    else process.env[setting] = value;
    const before = sim.requests.length;
    const lines: string[] = [];
    const context = new azf.InvocationContext({ invocationId: 'i-s', functionName: 'instanceProcessor', triggerMetadata: { dequeueCount: 1 }, logHandler: (_l, ...a) => lines.push(a.map(String).join(' ')) });
    const events = storageClients(azurite.connectionString).queue.getQueueClient(QUEUES.events);
    try {
      // Every delivery, however many: the host never gets an error to count towards maxDequeueCount.
      for (let i = 1; i <= 6; i++) await definition.options.handler({ org: 'ttd', app: 'soknad', partyId, instanceGuid, reason: 'event', enqueuedAt: new Date().toISOString() }, context);
    } finally {
      Object.assign(process.env, saved);
    }
    expect(sim.requests.length).toBe(before);
    expect(await queueTexts(QUEUES.poison)).toEqual([]);
    expect((await events.getProperties()).approximateMessagesCount).toBe(6);
    const said = lines.join('\n');
    expect(said).toContain('invalid settings');
    expect(said).toContain(setting);
    expect(said).toContain('"delaySeconds":600');
    await events.clearMessages();
  });

  it('with a broken MASKINPORTEN_KEY defers the message (long delay, not poisoned) and asks Altinn nothing', async () => {
    const doc = await sim.seedInstance({ app: 'soknad', elements: [{ dataType: 'model', contentType: 'application/xml', size: 10 }], completed: true });
    const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
    const key = process.env.MASKINPORTEN_KEY;
    process.env.MASKINPORTEN_KEY = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----';
    const before = sim.requests.length;
    const context = new azf.InvocationContext({ invocationId: 'i-0', functionName: 'instanceProcessor', triggerMetadata: { dequeueCount: 1 } });
    try {
      await definition.options.handler({ org: 'ttd', app: 'soknad', partyId, instanceGuid, reason: 'event', enqueuedAt: new Date().toISOString() }, context);
    } finally {
      process.env.MASKINPORTEN_KEY = key;
    }
    expect(sim.requests.length).toBe(before);
    expect(await queueTexts(QUEUES.poison)).toEqual([]);
    // The deferred message is invisible for 10 minutes: it shows in the queue's count, not in a peek.
    const events = storageClients(azurite.connectionString).queue.getQueueClient(QUEUES.events);
    expect((await events.getProperties()).approximateMessagesCount).toBe(1);
    expect(await queueTexts(QUEUES.events)).toEqual([]);
  });

  it('stores and confirms the instance of a message with the runtime settings, storage and auth', async () => {
    const doc = await sim.seedInstance({ app: 'soknad', elements: [{ dataType: 'model', contentType: 'application/xml', size: 1234 }], completed: true });
    const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
    const message = { org: 'ttd', app: 'soknad', partyId, instanceGuid, reason: 'event', enqueuedAt: new Date().toISOString() };
    const context = new azf.InvocationContext({ invocationId: 'i-1', functionName: 'instanceProcessor', triggerMetadata: { dequeueCount: 2 } });
    await definition.options.handler(message, context);

    const container = storageClients(azurite.connectionString).blob.getContainerClient('received');
    expect(await container.getBlockBlobClient(`ttd/soknad/${partyId}/${instanceGuid}/manifest.json`).exists()).toBe(true);
    expect(sim.counters.effectiveCompletes[instanceGuid]).toBe(1);
    expect(await queueTexts(QUEUES.ready)).toMatchObject([{ instanceGuid }]);
  });

  it('poisons a malformed message without throwing (the host does not retry it)', async () => {
    const context = new azf.InvocationContext({ invocationId: 'i-2', functionName: 'instanceProcessor', triggerMetadata: { dequeueCount: 1 } });
    await expect(definition.options.handler('not json at all', context)).resolves.toBeUndefined();
    expect(await queueTexts(QUEUES.poison)).toMatchObject([{ reason: expect.stringContaining('not JSON') as unknown, original: 'not json at all' }]);
  });
});
