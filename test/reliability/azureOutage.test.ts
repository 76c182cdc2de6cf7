import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SERVER_BUSY, type StorageProxy } from '../../dev/storageProxy.js';
import type { Simulator } from '../../dev/simulator/index.js';
import type { Outcome } from '../../lib/processor/processInstance.js';
import { elementPath } from '../../lib/processor/manifest.js';
import { QUEUES } from '../../lib/queue/names.js';
import { blobSha256, messageFor, processorFor, withSimulator } from '../support/processor.js';
import { viaBlobProxy, withBlobProxy } from '../support/blobProxy.js';

/**
 * Azure Storage failing under the processor, over real sockets: the processor's blob calls go through
 * our proxy (dev/storageProxy.ts) to the real Azurite; its queue sends go straight to Azurite.
 * What is simulated: the processor's clock is fake (its backoff sleeps and the proxy's outage window
 * run on it), and the test plays the queue: a deferred message is handed back once the fake clock has
 * been moved past its visibility delay. Leases are Azurite's, in real time.
 */
let sim: Simulator;
let env: Record<string, string>;
let proxy: StorageProxy;
let now: () => number = () => Date.now();

withSimulator((s, e) => {
  sim = s;
  env = e;
});
withBlobProxy(
  () => now(),
  (p) => (proxy = p),
);

const viaProxy = () => viaBlobProxy(proxy);
const guidOf = (m: unknown) => (m as { instanceGuid: string }).instanceGuid;

describe('Azure Blob answering 503 ServerBusy for 4 minutes', () => {
  it('every instance is confirmed, none poisoned, byte-exact, one ready message each', { timeout: 240_000 }, async () => {
    const p = await processorFor(sim, env, {}, { connectionString: viaProxy(), leaseSeconds: 15 });
    now = () => p.clock.now();
    const docs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        sim.seedInstance({
          app: 'outage',
          completed: true,
          elements: [
            { dataType: 'model', contentType: 'application/xml', size: 2_000 + i, withContentHash: true },
            { dataType: 'attachment', contentType: 'application/pdf', filename: `a${i}.pdf`, size: i === 0 ? 4 * 1024 * 1024 + 33 : 150_000 },
          ],
        }),
      ),
    );
    // From the first element write on, every blob operation (leases, reads, writes) answers 503 for 240 s of the processor's time.
    const outage = proxy.add({ effect: SERVER_BUSY, startsWith: { ops: ['put-blob', 'put-block'], pathIncludes: '/data/', durationMs: 240_000 } });

    const outcomes = await deliverUntilSettled(p, docs.map((d) => messageFor(d)));

    const from = outage.from!;
    expect(outage.until! - from).toBe(240_000);
    const faulted = proxy.requests.filter((r) => r.faulted);
    // Tried again and again through the outage (leases, element writes), not once and given up.
    expect(faulted.length).toBeGreaterThan(20);
    expect(Math.max(...faulted.map((r) => r.time)) - from).toBeGreaterThan(100_000);
    // Element writes and the next runs' lock (its blob is written before the lease is asked for).
    expect(faulted.some((r) => r.path.includes('/data/') && (r.op === 'put-blob' || r.op === 'put-block'))).toBe(true);
    expect(faulted.some((r) => r.path.endsWith('/.lock'))).toBe(true);
    // Every manifest was written after the outage ended.
    const manifests = proxy.requests.filter((r) => r.op === 'put-blob' && r.path.endsWith('/manifest.json') && r.outcome === 201);
    expect(manifests.length).toBeGreaterThanOrEqual(docs.length);
    expect(Math.min(...manifests.map((r) => r.time))).toBeGreaterThanOrEqual(outage.until!);
    const deferredBy503 = p.lines('message deferred').filter((l) => l.why === 'azure-http-503');
    expect(deferredBy503.length).toBeGreaterThan(0);

    expect(outcomes.map((o) => o.kind)).toEqual(['confirmed', 'confirmed', 'confirmed', 'confirmed']);
    expect(p.sent(QUEUES.poison)).toEqual([]);
    for (const doc of docs) {
      const [partyId = '', guid = ''] = doc.id.split('/');
      expect(sim.counters.effectiveCompletes[guid]).toBe(1);
      expect(sim.counters.completes[guid]).toBe(1);
      expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);
      for (const el of doc.data ?? []) {
        const stored = await blobSha256(p.container, elementPath({ org: sim.org, app: 'outage', partyId, instanceGuid: guid }, el.id));
        expect(stored).toEqual({ sha256: await sim.elementSha256(guid, el.id), bytes: el.size });
      }
    }
  });
});

type Harness = Awaited<ReturnType<typeof processorFor>>;

/**
 * Plays the queue: delivers each message, and for each deferral moves the fake clock past its delay and
 * delivers the deferred copy; a run that could not release its lease during the outage holds it until
 * Azurite's lease lapses (real time), so an `instance-busy` deferral waits a real second first.
 */
async function deliverUntilSettled(p: Harness, first: unknown[]): Promise<Outcome[]> {
  const outcomes = new Map<string, Outcome>();
  let pending = first;
  for (let round = 0; pending.length > 0 && round < 300; round++) {
    const results = await Promise.all(pending.map((m) => p.processor.handle(m)));
    const next: unknown[] = [];
    let wait = 0;
    results.forEach((r, i) => {
      const guid = guidOf(pending[i]);
      if (r.kind !== 'deferred') return void outcomes.set(guid, r);
      const copy = p.sent(QUEUES.events).filter((s) => guidOf(s.message) === guid).at(-1)!;
      next.push(copy.message);
      wait = Math.max(wait, r.delaySeconds * 1000);
    });
    if (results.some((r) => r.kind === 'deferred' && r.reason === 'instance-busy')) await delay(1_000);
    p.clock.advance(wait);
    pending = next;
  }
  return first.map((m) => outcomes.get(guidOf(m)) ?? { kind: 'poisoned', reason: 'never settled' });
}

describe('a lease whose renewals fail', () => {
  it('renewals answered 503 past the lease, a second process takes over: one confirmation, one ready message', { timeout: 120_000 }, async () => {
    const p = await processorFor(sim, env, {}, { connectionString: viaProxy(), leaseSeconds: 15 });
    const doc = await sim.seedInstance({ app: 'lease', completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 50_000, withContentHash: true }] });
    const guid = doc.id.split('/')[1]!;
    // The first run's element arrives after 20 s; meanwhile every renewal of its lease answers 503.
    sim.faults.add({ role: 'platform', route: 'storage.data', instanceGuid: guid, latencyMs: 20_000, times: 1 });
    proxy.add({ ops: ['lease-renew'], effect: SERVER_BUSY });
    const first = p.processor.handle(messageFor(doc));
    // The first run holds the lease before the other process starts.
    while (!proxy.requests.some((r) => r.op === 'lease-acquire' && r.outcome === 201 && r.path.includes(guid))) await delay(50);

    // Another process, straight to Azurite: busy while the lease holds, then (once it lapsed) the run is its own.
    const other = p.another({ leaseSeconds: 15 });
    let second: Outcome;
    for (let i = 0; ; i++) {
      second = await other.handle(messageFor(doc, { reason: 'reconcile' }));
      if (second.kind !== 'deferred' || second.reason !== 'instance-busy' || i > 60) break;
      await delay(1_000);
    }
    expect(second).toMatchObject({ kind: 'confirmed' });
    await expect(first).resolves.toMatchObject({ kind: 'deferred', reason: 'instance-lease-lost' });

    expect(proxy.requests.filter((r) => r.op === 'lease-renew' && r.faulted && r.path.includes(guid)).length).toBeGreaterThan(0);
    expect(sim.counters.completes[guid]).toBe(1);
    expect(sim.counters.effectiveCompletes[guid]).toBe(1);
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);
    expect(p.lines('lease').some((l) => String(l.msg).startsWith('instance lease lost'))).toBe(true);
    // The first run's deferred copy comes back to a finished instance.
    const again = p.sent(QUEUES.events).filter((s) => guidOf(s.message) === guid && (s.message as { reason: string }).reason === 'event').at(-1)!;
    await expect(p.processor.handle(again.message)).resolves.toMatchObject({ kind: 'already-done' });
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);
  });
});
