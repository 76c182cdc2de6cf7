import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { StorageProxy } from '../../dev/storageProxy.js';
import type { Simulator } from '../../dev/simulator/index.js';
import { QUEUES } from '../../lib/queue/names.js';
import { messageFor, processorFor, withSimulator } from '../support/processor.js';
import { viaBlobProxy, withBlobProxy } from '../support/blobProxy.js';

/**
 * A run reads the instance before it takes the lease. Another process can confirm and announce the instance in
 * between (here: the first run's lock request stalls in dev/storageProxy.ts until the other run has finished, as
 * an Azure Blob blip held it in the fault soak). The lease is what the first run gets afterwards; what it read
 * before it must not decide that the instance still needs `complete` and a ready message.
 */
let sim: Simulator;
let env: Record<string, string>;
let proxy: StorageProxy;

withSimulator((s, e) => {
  sim = s;
  env = e;
});
withBlobProxy(
  () => Date.now(),
  (p) => (proxy = p),
);

const guidOf = (m: unknown) => (m as { instanceGuid: string }).instanceGuid;

describe('a run whose instance read is older than its lease', () => {
  it('another process confirmed and announced the instance meanwhile: already done, no second complete or ready message', { timeout: 60_000 }, async () => {
    const p = await processorFor(sim, env, {}, { connectionString: viaBlobProxy(proxy) });
    const doc = await sim.seedInstance({ app: 'stale', completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 2_000, withContentHash: true }] });
    const guid = doc.id.split('/')[1]!;
    // The slow run's first request for the instance's lock gets no answer until released.
    proxy.add({ pathIncludes: `${guid}/.lock`, effect: { stall: true }, times: 1 });
    const slow = p.processor.handle(messageFor(doc, { reason: 'reconcile' }));
    while (!proxy.requests.some((r) => r.outcome === 'stalled')) await delay(10);
    const instanceReads = () => sim.requests.filter((r) => r.route === 'storage.instance' && r.path.includes(guid)).length;
    expect(instanceReads()).toBe(1);

    // Another process (straight to Azurite) does the whole run while the slow one waits for its lock.
    await expect(p.another({}).handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(sim.counters.completes[guid]).toBe(1);
    const readsBefore = instanceReads();
    proxy.releaseStalled();

    await expect(slow).resolves.toMatchObject({ kind: 'already-done' });
    // It read the instance once more under its lease (the lock existed: another run had held it).
    expect(instanceReads() - readsBefore).toBe(1);
    expect(sim.counters.completes[guid]).toBe(1);
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);
    expect(p.sent(QUEUES.poison)).toEqual([]);
  });
});
