import type { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../../dev/azurite.js';
import { startSimulator, type Simulator } from '../../dev/simulator/index.js';
import { encodeMessage, readyMessageSchema } from '../../lib/queue/messages.js';
import { QUEUES } from '../../lib/queue/names.js';
import { fastHostJson } from '../support/hostJson.js';
import { startLocalHost, stopAll, type LocalHost } from '../support/processes.js';
import { storageClients, uniqueName } from '../support/storage.js';

/**
 * One instance, two deliveries (its event and a reconcile find), two host processes on the same queues.
 * Each host takes one message at a time (batchSize 1, newBatchThreshold 0), so while the first host is
 * busy with the event the reconcile message can only go to the other host: the instance lease in blob
 * storage is all that stands between them.
 */
const APP = 'race-app';
let sim: Simulator;
let queueService: AzuriteProcess;
let hosts: LocalHost[];
let queues: QueueServiceClient;

beforeAll(async () => {
  [sim, queueService] = await Promise.all([startSimulator(), startAzuriteService('queue')]);
  const cs = connectionString(inject('azurite').blobPort, queueService.port);
  queues = storageClients(cs).queue;
  const hostJson = await fastHostJson(5, { batchSize: 1, newBatchThreshold: 0 });
  const env = {
    ...(await sim.newClient()).env,
    AzureWebJobsStorage: cs,
    BLOB_CONTAINER: uniqueName('race'),
    DEFER_BASE_SECONDS: '1',
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    FEED_SCHEDULE: '0 0 0 1 1 *',
  };
  hosts = await Promise.all(['host#1', 'host#2'].map((name) => startLocalHost({ env, hostJson, name, functions: 'dist/functions/instanceProcessor.js' })));
}, 120_000);
afterAll(async () => {
  await stopAll();
  await Promise.all([sim?.stop(), queueService?.stop()]);
});

describe('two host processes, one instance', () => {
  it('the second host defers while the first holds the lease; one download per element, one confirmation, one ready message', { timeout: 120_000 }, async () => {
    const doc = await sim.seedInstance({
      app: APP,
      completed: true,
      elements: [
        { dataType: 'model', contentType: 'application/xml', size: 4_000 },
        { dataType: 'attachment', contentType: 'application/pdf', filename: 'a.pdf', size: 200_000 },
        { dataType: 'attachment', contentType: 'image/png', filename: 'b.png', size: 50_000 },
      ],
    });
    const [partyId = '', instanceGuid = ''] = doc.id.split('/');
    const ref = { org: sim.org, app: APP, partyId, instanceGuid };
    // The first run's element downloads take 10 s, so the second delivery arrives during it even on a loaded machine.
    const slow = sim.faults.add({ role: 'platform', route: 'storage.data', instanceGuid, latencyMs: 10_000, times: Infinity });
    const events = queues.getQueueClient(QUEUES.events);
    await events.createIfNotExists();
    const send = (reason: string) => events.sendMessage(encodeMessage({ ...ref, reason, enqueuedAt: new Date().toISOString() }));

    await send('event');
    const holder = await Promise.race(hosts.map((h) => h.waitForJson((r) => r.msg === 'instance fetched' && r.instanceId === doc.id, { timeoutMs: 30_000 }).then(() => h)));
    await send('reconcile');
    const other = hosts.find((h) => h !== holder)!;
    await other.waitForJson((r) => r.msg === 'message deferred' && r.why === 'instance-busy' && r.instanceId === doc.id, { timeoutMs: 30_000 });
    await holder.waitForJson((r) => r.msg === 'done' && r.outcome === 'confirmed' && r.instanceId === doc.id, { timeoutMs: 60_000 });
    sim.faults.remove(slow);

    // The deferred delivery comes back (about 1 s) and finds the instance done.
    const second = await Promise.race(
      hosts.map((h) => h.waitForJson((r) => r.stage === 'done' && r.reason === 'reconcile' && r.instanceId === doc.id, { timeoutMs: 30_000 })),
    );
    expect(second.outcome).toBe('already-done');
    expect(sim.requests.filter((r) => r.route === 'storage.data' && r.path.includes(instanceGuid))).toHaveLength(3);
    expect(sim.counters.effectiveCompletes[instanceGuid]).toBe(1);
    const ready = (await queues.getQueueClient(QUEUES.ready).peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) =>
      readyMessageSchema.parse(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8'))),
    );
    expect(ready.filter((m) => m.instanceGuid === instanceGuid)).toHaveLength(1);
    const poison = queues.getQueueClient(QUEUES.poison);
    expect((await poison.exists()) ? (await poison.peekMessages()).peekedMessageItems : []).toEqual([]);
  });
});
