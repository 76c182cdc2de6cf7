import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ProxyRule, StorageProxy } from '../../dev/storageProxy.js';
import type { Simulator } from '../../dev/simulator/index.js';
import { ANNOUNCE_GRACE_MS, READY_MARK_PATIENCE_MS } from '../../lib/processor/confirm.js';
import { manifestPath, manifestSchema } from '../../lib/processor/manifest.js';
import type { Outcome, Processor } from '../../lib/processor/processInstance.js';
import { QUEUES } from '../../lib/queue/names.js';
import { messageFor, processorFor, withSimulator } from '../support/processor.js';
import { viaBlobProxy, withBlobProxy } from '../support/blobProxy.js';

/**
 * Azure Blob failing between the ready message and the manifest's `readyAt` mark, over real sockets: the
 * processors' blob calls go through dev/storageProxy.ts to Azurite, queue sends straight to Azurite. The
 * processors' clock (their backoff, their lease's expiry, the proxy's outage window) is fake; Azurite's leases are real time.
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
type Harness = Awaited<ReturnType<typeof processorFor>>;

/** A processor whose blob calls go through the proxy, which answers 503 to every blob request for `outageMs` from the first ready message on. */
async function outageAfterReady(outageMs: number) {
  let outage: ProxyRule | undefined;
  const p = await processorFor(
    sim,
    env,
    {},
    { connectionString: viaProxy(), leaseSeconds: 15, leaseOnFakeClock: true, onSent: (q) => void (q === QUEUES.ready && (outage ??= proxy.outage(outageMs))) },
  );
  now = () => p.clock.now();
  const doc = await sim.seedInstance({ app: 'mark', completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 3_000, withContentHash: true }] });
  const [partyId = '', guid = ''] = doc.id.split('/');
  const ref = { org: sim.org, app: 'mark', partyId, instanceGuid: guid };
  return { p, doc, guid, ref, outage: () => outage };
}

/**
 * Plays the queue for `processor` until it settles: a deferred copy is delivered again, the fake clock moved past its
 * delay once `moveClock()` says so (before that, at once: the other run's backoff moves time); an `instance-busy`
 * waits a real second first (Azurite's lease lapses in real time).
 */
async function settle(p: Harness, processor: Processor, msg: unknown, opts: { moveClock: () => boolean; stopAt?: (o: Outcome) => boolean }): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await processor.handle(msg);
    outcomes.push(r);
    if (r.kind !== 'deferred' || opts.stopAt?.(r)) return outcomes;
    msg = p.sent(QUEUES.events).filter((s) => guidOf(s.message) === guidOf(msg)).at(-1)!.message;
    await delay(r.reason === 'instance-busy' ? 1_000 : 50);
    if (opts.moveClock()) p.clock.advance(r.delaySeconds * 1000);
  }
  throw new Error(`not settled: ${JSON.stringify(outcomes.at(-1))}`);
}

describe('Azure Blob down between the ready message and its readyAt mark', () => {
  it('503 for 4 minutes from the ready message, a second process trying meanwhile: one ready message, one complete, readyAt set', { timeout: 180_000 }, async () => {
    const { p, guid, doc, ref, outage } = await outageAfterReady(240_000);
    let firstDone = false;
    const first = p.processor.handle(messageFor(doc)).finally(() => (firstDone = true));
    while (!outage() && !firstDone) await delay(20);
    const other = p.another({ connectionString: viaProxy(), leaseSeconds: 15, leaseOnFakeClock: true });
    const second = await settle(p, other, messageFor(doc, { reason: 'reconcile' }), { moveClock: () => firstDone });

    await expect(first).resolves.toMatchObject({ kind: 'confirmed' });
    expect(second.at(-1)).toMatchObject({ kind: 'already-done' });
    const window = outage()!;
    expect(window.until! - window.from!).toBe(240_000);
    // The mark was tried through the outage (16 times the 15 s lease on the processors' clock, 4 times the default
    // minute of retries) and landed after it, once.
    const firstFaulted = proxy.requests.findIndex((r) => r.faulted);
    const marks = proxy.requests.slice(firstFaulted).filter((r) => r.op === 'put-blob' && r.path.endsWith('/manifest.json'));
    expect(marks.filter((r) => r.faulted).length).toBeGreaterThan(3);
    expect(marks.filter((r) => r.outcome === 201).map((r) => r.time >= window.until!)).toEqual([true]);

    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);
    expect(sim.counters.completes[guid]).toBe(1);
    expect(sim.counters.effectiveCompletes[guid]).toBe(1);
    expect(p.sent(QUEUES.poison)).toEqual([]);
    const manifest = manifestSchema.parse(JSON.parse((await p.container.getBlockBlobClient(manifestPath(ref)).downloadToBuffer()).toString('utf8')));
    expect(manifest.readyAt).toBe((p.sent(QUEUES.ready)[0]!.message as { confirmedAt: string }).confirmedAt);
  });

  it('the run that sent it never marks it: another process waits out the grace, then announces again (at least once)', { timeout: 180_000 }, async () => {
    // Longer than the first run's patience: it gives up, as a run that died would have left the folder.
    const { p, guid, doc, ref, outage } = await outageAfterReady(2 * READY_MARK_PATIENCE_MS);
    await expect(p.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'deferred', reason: 'azure-http-503' });
    expect(outage()).toBeDefined();
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);

    // Another host, straight to Azurite: busy until the first run's lease lapses, then inside the grace it waits.
    const other = p.another({ leaseSeconds: 15 });
    const waited = await settle(p, other, messageFor(doc, { reason: 'reconcile' }), { moveClock: () => false, stopAt: (o) => o.kind === 'deferred' && o.reason === 'announce-pending' });
    const pending = waited.at(-1)!;
    expect(pending).toMatchObject({ kind: 'deferred', reason: 'announce-pending' });
    const manifest = () => p.container.getBlockBlobClient(manifestPath(ref)).downloadToBuffer().then((b) => manifestSchema.parse(JSON.parse(b.toString('utf8'))));
    const written = Date.parse((await manifest()).downloadedAt);
    // Deferred to just past the manifest's write + the grace.
    expect(p.clock.now() + (pending.kind === 'deferred' ? pending.delaySeconds : 0) * 1000).toBeGreaterThan(written + ANNOUNCE_GRACE_MS);
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(1);

    const after = await settle(p, other, p.sent(QUEUES.events).at(-1)!.message, { moveClock: () => true });
    expect(after.at(-1)).toMatchObject({ kind: 'confirmed', downloaded: 0 });
    expect(p.sent(QUEUES.ready).filter((s) => guidOf(s.message) === guid)).toHaveLength(2);
    expect(sim.counters.completes[guid]).toBe(1);
    expect((await manifest()).readyAt).toBeDefined();
    // And then it is done.
    await expect(other.handle(messageFor(doc, { reason: 'reconcile' }))).resolves.toMatchObject({ kind: 'already-done' });
  });
});
