import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../dev/azurite.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import type { InstanceRef } from '../lib/queue/messages.js';
import { instanceJsonPath, manifestPath, manifestSchema } from '../lib/processor/manifest.js';
import { QUEUES } from '../lib/queue/names.js';
import { DEFAULT_RETRY } from '../lib/retry.js';
import { jsonOf, runCli } from './support/cli.js';
import { fastHostJson } from './support/hostJson.js';
import { startLocalHost, stopAll, type LocalHost } from './support/processes.js';
import { storageClients, uniqueName } from './support/storage.js';

/**
 * The whole job through real processes, driven only from outside: the local host (a child process)
 * runs every function; the simulator plays Altinn over loopback and counts confirmations; the test
 * speaks HTTP to the webhook, reads blobs and queues with the storage SDK, and runs the CLI.
 * Blobs live in the run's Azurite (a container of our own); the queues have the contract's fixed
 * names, so this file has a queue service of its own (no other file can take these messages).
 */
const APP = 'e2e-app';
const MAX_DEQUEUE = 3;

let sim: Simulator;
let queueService: AzuriteProcess;
let host: LocalHost;
let env: Record<string, string>;
let blobs: BlobServiceClient;
let container: string;
let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'e2e-'));
  const hostJson = await fastHostJson(MAX_DEQUEUE, { batchSize: 8 });
  [sim, queueService] = await Promise.all([startSimulator({ eventRetryScale: 0.001 }), startAzuriteService('queue')]);
  container = uniqueName('e2e');
  const cs = connectionString(inject('azurite').blobPort, queueService.port);
  blobs = storageClients(cs).blob;
  // The reconciler's timer is set far out: the test runs the reconciler when it wants one (through the CLI).
  env = { ...(await sim.newClient()).env, AzureWebJobsStorage: cs, BLOB_CONTAINER: container, RECONCILE_SCHEDULE: '0 0 0 1 1 *', MONITOR_SCHEDULE: '0 0 0 1 1 *', FEED_SCHEDULE: '0 0 0 1 1 *' };
  host = await startLocalHost({ env, hostJson });
  const sub = await runCli(['subscriptions', 'create', '--app', APP, '--endpoint', `${host.url}/api/events`, '--json'], { env, cwd });
  expect(sub.code, sub.stderr).toBe(0);
  expect(jsonOf(sub)).toMatchObject({ validated: true });
});
afterAll(async () => {
  await stopAll();
  await Promise.all([sim?.stop(), queueService?.stop()]);
});

const refOf = (doc: { id: string }, app = APP): InstanceRef => {
  const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
  return { org: 'ttd', app, partyId, instanceGuid };
};

/** Resolves with the processor's `done` record once the host has stored and confirmed the instance. */
const confirmedInHost = (ref: InstanceRef) =>
  host.waitForJson((r) => r.msg === 'done' && r.outcome === 'confirmed' && r.instanceId === `${ref.partyId}/${ref.instanceGuid}`, { timeoutMs: 45_000 });

const blobText = async (path: string) => (await blobs.getContainerClient(container).getBlockBlobClient(path).downloadToBuffer()).toString('utf8');
const manifestExists = (ref: InstanceRef) => blobs.getContainerClient(container).getBlockBlobClient(manifestPath(ref)).exists();

describe('end to end through the local host', () => {
  it('instances announced by events end as byte-exact blobs, a manifest and one effective confirmation each', async () => {
    const docs = await Promise.all(
      [0, 1, 2].map((i) =>
        sim.seedInstance({
          app: APP,
          elements: [
            { dataType: 'model', contentType: 'application/xml', size: 3000 + i },
            { dataType: 'ref-data-as-pdf', contentType: 'application/pdf', filename: `kvittering-${i}.pdf`, size: 150_000 + i, withContentHash: true },
            ...(i === 2 ? [{ dataType: 'attachment', contentType: 'image/png', filename: 'skann.png', size: 1 }] : []),
          ],
        }),
      ),
    );
    const refs = docs.map((d) => refOf(d));
    const events = refs.map((r) => sim.completeProcess(r.partyId, r.instanceGuid));
    await Promise.all(refs.map(confirmedInHost));

    // Each event reached the webhook (Altinn's view: answered 200).
    for (const e of events) expect(sim.events.deliveries.filter((d) => d.eventId === e.id).map((d) => d.status)).toContain(200);
    const c = blobs.getContainerClient(container);
    for (const [i, ref] of refs.entries()) {
      expect(sim.counters.effectiveCompletes[ref.instanceGuid]).toBe(1);
      const manifest = manifestSchema.parse(JSON.parse(await blobText(manifestPath(ref))));
      const elements = docs[i]!.data ?? [];
      expect(manifest.elements.map((e) => e.id).sort()).toEqual(elements.map((e) => e.id).sort());
      expect(JSON.parse(await blobText(instanceJsonPath(ref)))).toMatchObject({ id: `${ref.partyId}/${ref.instanceGuid}` });
      for (const el of elements) {
        const entry = manifest.elements.find((e) => e.id === el.id)!;
        const blob = c.getBlockBlobClient(entry.blob!);
        const bytes = await blob.downloadToBuffer();
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        expect(bytes.length).toBe(el.size);
        expect(sha256).toBe(await sim.elementSha256(ref.instanceGuid, el.id));
        expect(entry).toMatchObject({ status: 'stored', size: el.size, sha256 });
        expect((await blob.getProperties()).contentType).toBe(el.contentType);
      }
    }
  });

  it('an event Altinn never delivered is found by the reconciler, then stored and confirmed', async () => {
    const ref = refOf(await sim.seedInstance({ app: APP, elements: [{ dataType: 'model', contentType: 'application/xml', size: 2048 }] }));
    sim.events.dropNext(1);
    const event = sim.completeProcess(ref.partyId, ref.instanceGuid);
    await sim.events.idle();
    expect(sim.events.deliveries.filter((d) => d.eventId === event.id).map((d) => d.status)).toEqual([-1]);
    expect(sim.counters.effectiveCompletes[ref.instanceGuid]).toBeUndefined();

    const run = await runCli(['reconcile', '--app', APP, '--json'], { env, cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf(run)).toMatchObject({ status: 'complete', found: 1, enqueued: 1 });
    const done = await confirmedInHost(ref);
    expect(done.reason).toBe('reconcile');
    expect(sim.counters.effectiveCompletes[ref.instanceGuid]).toBe(1);
    expect(await manifestExists(ref)).toBe(true);
  });

  it(`an instance that always answers 500 is deferred, never poisoned, until DEFER_HORIZON_HOURS; then it lands on ${QUEUES.poison} with the reason`, async () => {
    // An app nobody subscribed to: the test posts the event itself, and the reconcile above never saw it.
    const ref = refOf(await sim.seedInstance({ app: 'e2e-poison', elements: [{ dataType: 'model', contentType: 'application/xml', size: 100 }] }), 'e2e-poison');
    sim.faults.add({ role: 'platform', route: 'storage.instance', instanceGuid: ref.instanceGuid, status: 500, times: Infinity });
    const event = sim.completeProcess(ref.partyId, ref.instanceGuid);
    const id = `${ref.partyId}/${ref.instanceGuid}`;

    const since = host.lines.length;
    const res = await fetch(`${host.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    expect(res.status).toBe(200);
    const deferred = await host.waitForJson((r) => r.msg === 'message deferred' && r.instanceId === id, { since, timeoutMs: 45_000 });
    expect(deferred).toMatchObject({ why: 'altinn-http-500', deferrals: 1 });
    // One invocation retried the instance GET to its own limit, then put the message back (invisible) and ended normally.
    const gets = () => sim.requests.filter((r) => r.route === 'storage.instance' && r.path.includes(ref.instanceGuid));
    expect(gets()).toHaveLength(DEFAULT_RETRY.maxAttempts);
    const queues = storageClients(env.AzureWebJobsStorage).queue;
    expect(await queues.getQueueClient(QUEUES.poison).exists()).toBe(false);
    expect((await queues.getQueueClient(QUEUES.events).getProperties()).approximateMessagesCount).toBe(1);
    expect(host.records((r) => r.msg === 'processing failed; the host will retry' && r.instanceId === id)).toEqual([]);

    // The same instance first enqueued 49 hours ago (e.g. a long Altinn incident): past the 48 h horizon.
    const old = { ...ref, eventId: event.id, reason: 'replay', enqueuedAt: new Date(Date.now() - 49 * 3_600_000).toISOString(), deferrals: 40 };
    await queues.getQueueClient(QUEUES.events).sendMessage(Buffer.from(JSON.stringify(old)).toString('base64'));
    await host.waitForJson((r) => r.msg === 'message poisoned' && r.instanceId === id, { since, timeoutMs: 45_000 });
    const poisoned = (await queues.getQueueClient(QUEUES.poison).peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
    expect(poisoned).toHaveLength(1);
    const envelope = JSON.parse(Buffer.from(poisoned[0]!.messageText, 'base64').toString('utf8')) as { reason: string; original: unknown };
    expect(envelope.reason).toMatch(/^transient failures for over 48 h \(DEFER_HORIZON_HOURS\), 40 deferrals; last: altinn-http-500/);
    expect(envelope.original).toEqual(old);
    expect(sim.counters.completes[ref.instanceGuid]).toBeUndefined();
    expect(await manifestExists(ref)).toBe(false);
  });
});
