import { describe, expect, it } from 'vitest';
import type { InstanceDoc, SeedElement, Simulator } from '../dev/simulator/index.js';
import { onRequest } from '../dev/soak/observe.js';
import { manifestSchema, type Manifest } from '../lib/processor/manifest.js';
import { MAX_RECHECKS } from '../lib/processor/settle.js';
import { readyMessageSchema } from '../lib/queue/messages.js';
import { QUEUES } from '../lib/queue/names.js';
import type { fakeClock } from './support/clock.js';
import { blobSha256, messageFor, processorFor, untilDone, withSimulatorOnClock } from './support/processor.js';

/**
 * Settle, then re-check (issue 25.1), over real sockets: Altinn publishes the completed event before the
 * app's end-of-process handlers run (app-lib ProcessEngine `Next` → `HandleMoveToNext`, then
 * `RunAppDefinedProcessEndHandlers`); the simulator's handlers add elements seconds later, on a fake
 * clock shared by the simulator and the processor.
 */
let sim: Simulator;
let env: Record<string, string>;
let clock: ReturnType<typeof fakeClock>;

withSimulatorOnClock((s, e, c) => {
  sim = s;
  env = e;
  clock = c;
});

const FORM = { dataType: 'model', contentType: 'application/xml', size: 3_210 } as const;
const RECEIPT: SeedElement = { dataType: 'kvittering', contentType: 'application/pdf', filename: 'kvittering.pdf', size: 54_321 };
const GENERATED: SeedElement = { dataType: 'generert', contentType: 'application/xml', size: 4_444, form: false };

const guidOf = (doc: InstanceDoc) => doc.id.split('/')[1]!;
const folderOf = (doc: InstanceDoc) => `${doc.appId}/${doc.id}`;

/** A submitted instance of `app` (its handlers registered), the message the webhook enqueued at the event. */
async function submit(app: string): Promise<{ doc: InstanceDoc; msg: Record<string, unknown> }> {
  const doc = await sim.seedInstance({ app, elements: [FORM], completed: false });
  sim.completeProcess(doc.id.split('/')[0]!, guidOf(doc));
  return { doc, msg: messageFor(doc, { enqueuedAt: new Date(clock.now()).toISOString() }) };
}

/** The manifest as it was when `complete` arrived, for each complete request of the instance. */
function manifestsAtComplete(h: Awaited<ReturnType<typeof processorFor>>, doc: InstanceDoc): { seen: Promise<Manifest | undefined>[]; stop: () => void } {
  const seen: Promise<Manifest | undefined>[] = [];
  // complete's answer is held back while the manifest is read: otherwise the ready mark may rewrite the blob
  // mid-read (Azurite's in-memory store then serves a mix of the two), as the soak's observer does too.
  const hold = sim.faults.add({ route: 'storage.complete', latencyMs: 500, times: Infinity });
  const unwatch = onRequest(sim, (entry) => {
    if (entry.route !== 'storage.complete' || !entry.path.includes(guidOf(doc))) return;
    const blob = h.container.getBlockBlobClient(`${folderOf(doc)}/manifest.json`);
    seen.push(blob.downloadToBuffer().then((b) => manifestSchema.parse(JSON.parse(b.toString())), () => undefined));
  });
  const stop = () => {
    unwatch();
    sim.faults.remove(hold);
  };
  return { seen, stop };
}

async function expectStoredByteExact(h: Awaited<ReturnType<typeof processorFor>>, doc: InstanceDoc, manifest: Manifest): Promise<void> {
  const live = sim.instance(guidOf(doc));
  for (const el of live.data ?? []) {
    const expected = await sim.elementSha256(guidOf(doc), el.id);
    expect(manifest.elements.find((e) => e.id === el.id)).toMatchObject({ sha256: expected, size: el.size, status: 'stored' });
    expect(await blobSha256(h.container, `${folderOf(doc)}/data/${el.id}`)).toEqual({ sha256: expected, bytes: el.size });
  }
}

describe('settle, then re-check', () => {
  it('elements an end-of-process handler adds 5 s and 15 s after the completed event: stored byte-exact, in the manifest, before complete arrives', async () => {
    sim.addProcessEndHandler('med-kvittering', { afterMs: 5_000, element: RECEIPT });
    sim.addProcessEndHandler('med-kvittering', { afterMs: 15_000, element: GENERATED });
    const h = await processorFor(sim, env, { SETTLE_SECONDS: '60' }, { clock });
    const { doc, msg } = await submit('med-kvittering');
    const atComplete = manifestsAtComplete(h, doc);

    // The first delivery waits the settle time without asking Altinn anything.
    await expect(h.processor.handle(msg)).resolves.toEqual({ kind: 'deferred', reason: 'settling', delaySeconds: 60, deferrals: 0 });
    expect(sim.requests.filter((r) => r.path.includes(guidOf(doc)))).toEqual([]);
    expect(h.sent(QUEUES.events).at(-1)).toMatchObject({ visibilityTimeoutSeconds: 60, message: msg });

    clock.advance(60_000);
    await expect(h.processor.handle(h.sent(QUEUES.events).at(-1)!.message)).resolves.toMatchObject({ kind: 'confirmed', downloaded: 3 });
    atComplete.stop();
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`${folderOf(doc)}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements.map((e) => e.dataType).sort()).toEqual(['generert', 'kvittering', 'model']);
    await expectStoredByteExact(h, doc, manifest);
    const [seen] = await Promise.all(atComplete.seen);
    expect(seen?.elements).toHaveLength(3);
    expect(sim.counters.effectiveCompletes[guidOf(doc)]).toBe(1);
    // Read, stored, read again, then confirmed: two instance GETs, three data GETs, one complete.
    const routes = sim.requests.filter((r) => r.path.includes(guidOf(doc))).map((r) => r.route);
    expect(routes.filter((r) => r === 'storage.instance')).toHaveLength(2);
    expect(routes.lastIndexOf('storage.data')).toBeLessThan(routes.indexOf('storage.complete'));
  });

  it('an element added after the instance was read (the settle time too short) is found by the re-check, stored, and in the manifest and instance.json before complete', async () => {
    sim.addProcessEndHandler('sen-kvittering', { afterMs: 5_000, element: RECEIPT });
    sim.addProcessEndHandler('sen-kvittering', { afterMs: 15_000, element: GENERATED });
    const h = await processorFor(sim, env, { SETTLE_SECONDS: '10' }, { clock });
    const { doc, msg } = await submit('sen-kvittering');
    const atComplete = manifestsAtComplete(h, doc);
    // While the first read's elements download, 10 s pass: the 15 s handler has run by the re-check.
    let moved = false;
    const stopMoving = onRequest(sim, (entry) => {
      if (!moved && entry.route === 'storage.data' && entry.path.includes(guidOf(doc))) {
        moved = true;
        clock.advance(10_000);
      }
    });
    const { outcomes } = await untilDone(h, [msg]);
    stopMoving();
    atComplete.stop();
    expect(outcomes).toEqual([{ kind: 'confirmed', downloaded: 3, bytes: FORM.size + RECEIPT.size + GENERATED.size }]);
    expect(h.lines('recheck')).toEqual([expect.objectContaining({ round: 1, added: [expect.any(String)] as unknown })]);
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`${folderOf(doc)}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements).toHaveLength(3);
    await expectStoredByteExact(h, doc, manifest);
    const instanceJson = JSON.parse((await h.container.getBlockBlobClient(`${folderOf(doc)}/instance.json`).downloadToBuffer()).toString()) as { data: unknown[]; lastChanged: string };
    expect(instanceJson.data).toHaveLength(3);
    expect(instanceJson.lastChanged).toBe(manifest.instanceLastChanged);
    const seen = await Promise.all(atComplete.seen);
    expect(seen.map((m) => m?.elements.length)).toEqual([3]);
    const ready = h.sent(QUEUES.ready).map((s) => readyMessageSchema.parse(s.message));
    expect(ready).toHaveLength(1);
    // The element downloaded in the first pass was kept, not fetched again.
    expect(sim.counters.downloads[guidOf(doc)]).toBe(3);
  });

  it('a reconcile find whose process ended moments ago waits out the rest of the settle time (read once, nothing written)', async () => {
    const h = await processorFor(sim, env, { SETTLE_SECONDS: '60' }, { clock });
    const { doc } = await submit('rett-fra-avstemming');
    clock.advance(20_000);
    const msg = messageFor(doc, { reason: 'reconcile', enqueuedAt: new Date(clock.now()).toISOString() });
    await expect(h.processor.handle(msg)).resolves.toEqual({ kind: 'deferred', reason: 'settling', delaySeconds: 40, deferrals: 0 });
    expect(sim.requests.filter((r) => r.path.includes(guidOf(doc))).map((r) => r.route)).toEqual(['storage.instance']);
    expect((await h.container.listBlobsFlat().next()).done).toBe(true);
    clock.advance(40_000);
    await expect(h.processor.handle(h.sent(QUEUES.events).at(-1)!.message)).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
  });

  it(`an instance that changes on every read is not confirmed: after ${MAX_RECHECKS} re-checks the message is deferred`, async () => {
    const h = await processorFor(sim, env, { SETTLE_SECONDS: '0' }, { clock });
    const doc = await sim.seedInstance({ app: 'urolig', elements: [FORM], completed: true });
    // Something keeps changing the instance: each instance GET sees a new lastChanged.
    const stop = onRequest(sim, (entry) => {
      if (entry.route === 'storage.instance' && entry.path.includes(guidOf(doc))) sim.instance(guidOf(doc)).lastChanged = new Date(clock.now() + sim.requests.length).toISOString();
    });
    const outcome = await h.processor.handle(messageFor(doc));
    stop();
    expect(outcome).toMatchObject({ kind: 'deferred', reason: 'instance-changing' });
    expect(sim.counters.completes[guidOf(doc)] ?? 0).toBe(0);
    expect(sim.requests.filter((r) => r.route === 'storage.instance' && r.path.includes(guidOf(doc)))).toHaveLength(MAX_RECHECKS + 2);
  });
});
