import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../dev/simulator/index.js';
import { readyMessageSchema } from '../lib/queue/messages.js';
import { manifestSchema } from '../lib/processor/manifest.js';
import { QUEUES } from '../lib/queue/names.js';
import type { ContainerClient } from '@azure/storage-blob';
import type { InstanceRef } from '../lib/queue/messages.js';
import { lockPath } from '../lib/processor/lease.js';
import { MAX_ELEMENT_STREAMS } from '../lib/processor/limits.js';
import { CREDENTIALS_REFUSED } from '../lib/processor/processInstance.js';
import { onRequest } from '../dev/soak/observe.js';
import { blobSha256, messageFor, processorFor, withSimulator } from './support/processor.js';
import { FIXTURES } from './support/fixtures.js';

const instances = join(FIXTURES, 'instances');

let sim: Simulator;
let env: Record<string, string>;

withSimulator((s, e) => {
  sim = s;
  env = e;
});

const FORM = { dataType: 'model', contentType: 'application/xml', size: 2_345, withContentHash: true } as const;
const several = [
  FORM,
  { dataType: 'skjema-json', contentType: 'application/json', size: 777 },
  { dataType: 'vedlegg', contentType: 'application/pdf', filename: 'Søknad om støtte.pdf', size: 300_001, withContentHash: true },
  { dataType: 'binary', contentType: 'application/octet-stream', filename: 'data.bin', size: 4 * 1024 * 1024 + 17 },
];

const downloads = (guid: string) => sim.counters.downloads[guid] ?? 0;
const completes = (guid: string) => sim.counters.completes[guid] ?? 0;
const effective = (guid: string) => sim.counters.effectiveCompletes[guid] ?? 0;

/** Azurite keeps real time for leases: poll the lock blob until its lease has lapsed. */
async function waitUntilLeaseLapses(container: ContainerClient, path: string): Promise<void> {
  for (;;) {
    const { leaseState } = await container.getBlockBlobClient(path).getProperties();
    if (leaseState !== 'leased') return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('instance processor (simulator + Azurite)', () => {
  it('stores every element byte for byte, the manifest with correct sha256s, then confirms once and sends one ready message', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: several, completed: true });
    const guid = doc.id.split('/')[1]!;
    const msg = messageFor(doc);

    await expect(h.processor.handle(msg, { dequeueCount: 1 })).resolves.toMatchObject({ kind: 'confirmed', downloaded: 4 });

    const folder = `ttd/soknad/${msg.partyId}/${guid}`;
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`${folder}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements).toHaveLength(4);
    for (const el of doc.data ?? []) {
      const expected = await sim.elementSha256(guid, el.id);
      const stored = await blobSha256(h.container, `${folder}/data/${el.id}`);
      expect(stored).toEqual({ sha256: expected, bytes: el.size });
      const entry = manifest.elements.find((e) => e.id === el.id);
      expect(entry).toMatchObject({ sha256: expected, size: el.size, blob: `${folder}/data/${el.id}`, status: 'stored', contentType: el.contentType });
      const props = await h.container.getBlockBlobClient(`${folder}/data/${el.id}`).getProperties();
      expect(props.contentType).toBe(el.contentType);
      expect(props.metadata).toMatchObject({ datatype: el.dataType, sha256: expected, size: String(el.size) });
      if (el.filename) expect(decodeURIComponent(props.metadata?.filename ?? '')).toBe(el.filename);
    }
    const pdf = await h.container.getBlockBlobClient(`${folder}/data/${doc.data?.[2]?.id}`).getProperties();
    expect(pdf.contentDisposition).toContain(`filename*=UTF-8''${encodeURIComponent('Søknad om støtte.pdf')}`);
    const instanceJson = JSON.parse((await h.container.getBlockBlobClient(`${folder}/instance.json`).downloadToBuffer()).toString()) as { id: string };
    expect(instanceJson.id).toBe(doc.id);

    expect(completes(guid)).toBe(1);
    expect(effective(guid)).toBe(1);
    expect(downloads(guid)).toBe(4);
    const ready = await h.messages(QUEUES.ready);
    expect(ready).toHaveLength(1);
    expect(readyMessageSchema.parse(ready[0])).toMatchObject({ instanceGuid: guid, manifest: `${folder}/manifest.json` });

    // Only URLs we built, on Storage: the instance, its data, complete. Never the selfLinks from the document, never the App API.
    const ours = sim.requests.filter((r) => r.path.includes(guid));
    expect(ours.every((r) => r.role === 'platform' && r.path.startsWith(`/storage/api/v1/instances/${msg.partyId}/${guid}`))).toBe(true);
    // Order: blobs, manifest, then complete; one structured line per stage.
    const stages = h.log.lines.map((l) => (JSON.parse(l) as { stage?: string }).stage);
    expect(stages.indexOf('manifest written')).toBeLessThan(stages.indexOf('confirmed'));
    expect(h.lines('element stored')).toHaveLength(4);
    expect(h.lines('done')[0]).toMatchObject({ instanceId: `${msg.partyId}/${guid}`, eventId: msg.eventId, dequeueCount: 1, bytes: 2_345 + 777 + 300_001 + 4 * 1024 * 1024 + 17 });
  });

  it('handles an Altinn-shaped fixture instance (data[] summary, element document with its own fields)', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.loadInstanceFixture(join(instances, 'ttd', 'flyttemelding', '512345', 'e4a7c1b9-3d58-4f26-8b0e-6c2d9a1f5e73.json'));
    const guid = 'e4a7c1b9-3d58-4f26-8b0e-6c2d9a1f5e73';
    // The fixture is still in a task: only a submitted (process ended) instance is downloaded.
    sim.completeProcess(512345, guid);
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    const el = doc.data?.[0];
    const stored = await blobSha256(h.container, `ttd/flyttemelding/512345/${guid}/data/${el?.id}`);
    expect(stored).toEqual({ sha256: await sim.elementSha256(guid, el!.id), bytes: 173 });
    expect(effective(guid)).toBe(1);
  });

  it.each([
    ['a body shorter than size', { truncateAfterBytes: 1000 }],
    ['a body longer than size', { sizeDelta: 5 }],
    ['a reset mid-body', { resetAfterBytes: 70_000 }],
  ])('never confirms after %s; the retry then succeeds with a right manifest', async (_name, fault) => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: several.slice(1, 3), completed: true });
    const guid = doc.id.split('/')[1]!;
    const victim = doc.data[1]!;
    // Persistent fault: the invocation gives up and defers the message, nothing confirmed, the element blob absent.
    const rule = sim.faults.add({ role: 'platform', route: 'storage.data', dataGuid: victim.id, times: Infinity, ...fault });
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'deferred', deferrals: 1 });
    expect(completes(guid)).toBe(0);
    expect(await h.container.getBlockBlobClient(`ttd/soknad/${doc.id}/data/${victim.id}`).exists()).toBe(false);
    expect(await h.container.getBlockBlobClient(`ttd/soknad/${doc.id}/manifest.json`).exists()).toBe(false);
    expect(await h.messages(QUEUES.ready)).toEqual([]);
    sim.faults.remove(rule);

    // One faulty body, then good ones: recovered inside the invocation.
    sim.faults.add({ role: 'platform', route: 'storage.data', dataGuid: victim.id, ...fault });
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`ttd/soknad/${doc.id}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements.find((e) => e.id === victim.id)?.sha256).toBe(await sim.elementSha256(guid, victim.id));
    expect(effective(guid)).toBe(1);
    expect(h.lines('retrying').some((l) => l.stage === 'download')).toBe(true);
    // The element stored by the failed invocation was verified and kept: the host's retry did not fetch it again.
    const healthy = doc.data[0]!.id;
    expect(sim.requests.filter((r) => r.route === 'storage.data' && r.path.endsWith(healthy))).toHaveLength(1);
  });

  it('a folder without its lock but confirmed by us (stored by a version before the lock) is looked at, not fetched and announced again', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: several.slice(0, 2), completed: true });
    const guid = doc.id.split('/')[1]!;
    const msg = messageFor(doc);
    await expect(h.processor.handle(msg)).resolves.toMatchObject({ kind: 'confirmed', downloaded: 2 });
    // The lock is created by the run that takes it: without one, a run would otherwise take the folder for untouched.
    await h.container.getBlockBlobClient(lockPath(msg as InstanceRef)).delete();
    await expect(h.another().handle(msg)).resolves.toEqual({ kind: 'already-done' });
    expect(downloads(guid)).toBe(2);
    expect(await h.messages(QUEUES.ready)).toHaveLength(1);
  });

  it('the same message 3 times concurrently, then 3 times in sequence: each element downloaded once, one effective confirmation', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: several.slice(0, 3), completed: true });
    const guid = doc.id.split('/')[1]!;
    const msg = messageFor(doc);
    const concurrent = await Promise.all([h.processor.handle(msg), h.processor.handle(msg), h.processor.handle(msg)]);
    expect(concurrent.every((o) => o.kind === 'confirmed')).toBe(true);
    for (let i = 0; i < 3; i++) await expect(h.another().handle(msg)).resolves.toEqual({ kind: 'already-done' });
    expect(downloads(guid)).toBe(3);
    expect(effective(guid)).toBe(1);
    expect(completes(guid)).toBe(1);
    expect(await h.messages(QUEUES.ready)).toHaveLength(1);
  });

  it('two processes race on one instance: one run downloads and confirms, the other defers or finds it done; one ready message', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: several.slice(1, 4), completed: true });
    const guid = doc.id.split('/')[1]!;
    // An event and a reconcile message for the same instance, on two hosts at once.
    const outcomes = await Promise.all([h.another().handle(messageFor(doc)), h.another().handle(messageFor(doc, { reason: 'reconcile' }))]);
    expect(outcomes.filter((o) => o.kind === 'confirmed')).toHaveLength(1);
    const other = outcomes.find((o) => o.kind !== 'confirmed');
    expect(other?.kind === 'already-done' || (other?.kind === 'deferred' && other.reason === 'instance-busy')).toBe(true);
    expect(downloads(guid)).toBe(3);
    expect(effective(guid)).toBe(1);
    expect(await h.messages(QUEUES.ready)).toHaveLength(1);
    for (const el of doc.data ?? []) {
      expect(await blobSha256(h.container, `ttd/soknad/${doc.id}/data/${el.id}`)).toEqual({ sha256: await sim.elementSha256(guid, el.id), bytes: el.size });
    }
    // The deferred delivery, when it comes back, finds the work done.
    for (const d of h.sent(QUEUES.events)) await expect(h.another().handle(d.message)).resolves.toEqual({ kind: 'already-done' });
    expect(await h.messages(QUEUES.ready)).toHaveLength(1);
  });

  it('a delivery that finds the instance leased by another process defers without downloading; the lease lapses when its holder dies', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    // A holder that never finishes and never renews: a crashed host (15 s, Azure's shortest lease).
    const lock = h.container.getBlockBlobClient(lockPath(messageFor(doc) as InstanceRef));
    await lock.upload('', 0);
    await lock.getBlobLeaseClient().acquireLease(15);
    const outcome = await h.processor.handle(messageFor(doc));
    expect(outcome).toMatchObject({ kind: 'deferred', reason: 'instance-busy', delaySeconds: 36, deferrals: 1 });
    expect(downloads(guid)).toBe(0);
    // Storage is asked before the lease (nothing is written before it has shown the instance); nothing more.
    expect(sim.requests.filter((r) => r.path.includes(guid)).map((r) => r.route)).toEqual(['storage.instance']);
    const [deferred] = h.sent(QUEUES.events);
    expect(deferred).toMatchObject({ visibilityTimeoutSeconds: 36, message: { instanceGuid: guid, deferrals: 1 } });
    // Once the 15 s lease has lapsed (Azurite's real clock), the deferred message runs.
    await waitUntilLeaseLapses(h.container, `ttd/soknad/${doc.id}/.lock`);
    await expect(h.another().handle(deferred?.message)).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    expect(effective(guid)).toBe(1);
  });

  it('an instance confirmed by us with its manifest present causes no download at all', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    await h.processor.handle(messageFor(doc));
    expect(downloads(guid)).toBe(1);
    const dataRequests = () => sim.requests.filter((r) => r.route === 'storage.data' && r.path.includes(guid)).length;
    const before = dataRequests();
    await expect(h.another().handle(messageFor(doc, { reason: 'reconcile' }))).resolves.toEqual({ kind: 'already-done' });
    expect(dataRequests()).toBe(before);
    expect(downloads(guid)).toBe(1);
  });

  it('an element changed after the manifest was written: downloaded again, the manifest replaced, announced again', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    await h.processor.handle(messageFor(doc));
    const changed = '2031-01-01T00:00:00.0000000Z';
    const live = sim.instance(guid);
    live.lastChanged = changed;
    live.data![0]!.lastChanged = changed;
    await expect(h.another().handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`ttd/soknad/${doc.id}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements[0]?.lastChanged).toBe(changed);
    expect([downloads(guid), completes(guid)]).toEqual([2, 1]);
    expect(await h.messages(QUEUES.ready)).toHaveLength(2);
    expect(h.lines('stale manifest removed')).toHaveLength(1);
  });

  it('a manifest without confirmation (complete failed) is confirmed later without downloading again', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    sim.faults.add({ role: 'platform', route: 'storage.complete', status: 503, times: Infinity });
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'deferred', reason: 'altinn-http-503', deferrals: 1 });
    expect(effective(guid)).toBe(0);
    sim.faults.clear();
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 0 });
    expect(downloads(guid)).toBe(1);
    expect(effective(guid)).toBe(1);
  });

  it('a run that failed after complete sends the ready message on the host retry, without confirming or downloading again', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    h.breakQueue(QUEUES.ready);
    await expect(h.processor.handle(messageFor(doc))).rejects.toThrow();
    expect(effective(guid)).toBe(1);
    h.repairQueue(QUEUES.ready);
    expect(await h.messages(QUEUES.ready)).toEqual([]);
    await expect(h.another().handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 0 });
    expect([completes(guid), downloads(guid)]).toEqual([1, 1]);
    const ready = await h.messages(QUEUES.ready);
    expect(ready).toHaveLength(1);
    expect(Date.parse((ready[0] as { confirmedAt: string }).confirmedAt)).toBe(Date.parse(String((sim.instance(guid).completeConfirmations as { confirmedOn: string }[])[0]?.confirmedOn)));
    await expect(h.another().handle(messageFor(doc))).resolves.toEqual({ kind: 'already-done' });
    expect(await h.messages(QUEUES.ready)).toHaveLength(1);
  });

  it('recovers from 429 with Retry-After (honoured) and from a run of 503s', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    sim.faults.add({ role: 'platform', route: 'storage.instance', status: 429, retryAfter: 7 });
    sim.faults.add({ role: 'platform', route: 'storage.data', status: [503, 503, 503] });
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(h.clock.sleeps[0]).toBe(7_000);
    expect(h.lines('retrying').filter((l) => l.stage === 'download')).toHaveLength(3);
    expect(effective(guid)).toBe(1);
  });

  it('a 429 storm (Retry-After: 120) defers the message for 120 s at once; an outage defers with growing backoff; nothing is poisoned', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    sim.faults.add({ role: 'platform', route: 'storage.instance', status: 429, retryAfter: 120, times: 1 });
    const first = messageFor(doc);
    await expect(h.processor.handle(first)).resolves.toEqual({ kind: 'deferred', reason: 'altinn-http-429', delaySeconds: 120, deferrals: 1 });
    expect(h.clock.sleeps).toEqual([]);
    sim.faults.add({ role: 'platform', status: 503, times: Infinity });
    let message = h.sent(QUEUES.events)[0]?.message;
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const o = await h.another().handle(message);
      if (o.kind !== 'deferred') throw new Error(`expected a deferral, got ${o.kind}`);
      delays.push(o.delaySeconds);
      message = h.sent(QUEUES.events).at(-1)?.message;
    }
    // random() = 1 in the harness: the upper edge of the ±20 % jitter, capped at 15 min.
    expect(delays).toEqual([72, 144, 288, 576, 900, 900]);
    expect(message).toEqual({ ...first, deferrals: 7 });
    sim.faults.clear();
    await expect(h.another().handle(message)).resolves.toMatchObject({ kind: 'confirmed' });
    expect(await h.messages(QUEUES.poison)).toEqual([]);
    expect(effective(guid)).toBe(1);
  });

  it('transient trouble past DEFER_HORIZON_HOURS (counted from the first enqueue) is poisoned with the reason', async () => {
    const h = await processorFor(sim, env, { DEFER_HORIZON_HOURS: '2' });
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    sim.faults.add({ role: 'platform', route: 'storage.instance', status: 503, times: Infinity });
    const old = messageFor(doc, { enqueuedAt: new Date(h.clock.now() - 3 * 3_600_000).toISOString(), deferrals: 9 });
    await expect(h.processor.handle(old)).resolves.toMatchObject({ kind: 'poisoned', reason: expect.stringMatching(/over 2 h \(DEFER_HORIZON_HOURS\), 9 deferrals; last: altinn-http-503/) as unknown });
    expect(h.sent(QUEUES.events)).toEqual([]);
    expect(await h.messages(QUEUES.poison)).toMatchObject([{ original: old }]);
  });

  it('refused credentials (exchange 401 that persists, an unknown Maskinporten client) defer for 10 min with an error line, never poison inside the horizon', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    const exchange = sim.faults.add({ route: 'authentication.exchange', status: 401, times: Infinity });
    const first = messageFor(doc);
    await expect(h.processor.handle(first)).resolves.toEqual({ kind: 'deferred', reason: 'altinn-exchange-401', delaySeconds: 600, deferrals: 1 });
    expect(h.lines(CREDENTIALS_REFUSED)).toMatchObject([{ level: 'error', error: { code: 'altinn-exchange-401' }, instanceId: doc.id }]);
    sim.faults.remove(exchange);

    const unknownClient = await processorFor(sim, env, { MASKINPORTEN_CLIENT_ID: 'no-such-client' });
    const again = h.sent(QUEUES.events)[0]?.message;
    await expect(unknownClient.processor.handle(again)).resolves.toMatchObject({ kind: 'deferred', reason: 'maskinporten-invalid_client', delaySeconds: 600, deferrals: 2 });
    const late = messageFor(doc, { enqueuedAt: new Date(h.clock.now() - 49 * 3_600_000).toISOString(), deferrals: 200 });
    await expect(unknownClient.processor.handle(late)).resolves.toMatchObject({ kind: 'poisoned', reason: expect.stringMatching(/^refused credentials for over 48 h .*maskinporten-invalid_client/) as unknown });

    // The settings fixed (changed app settings restart the app: a new process, its own token cache).
    const fixed = await processorFor(sim, env);
    await expect(fixed.processor.handle(again)).resolves.toMatchObject({ kind: 'confirmed' });
    // The first process remembers the refusal for a minute rather than asking Maskinporten per message.
    await expect(h.another().handle(again)).resolves.toMatchObject({ kind: 'deferred', reason: 'altinn-exchange-401' });
    expect(await h.messages(QUEUES.poison)).toEqual([]);
    expect(effective(guid)).toBe(1);
  });

  it('element streams in one process stay within MAX_ELEMENT_STREAMS however many instances and DOWNLOAD_CONCURRENCY=64 allow', async () => {
    const h = await processorFor(sim, env, { DOWNLOAD_CONCURRENCY: '64' });
    const docs = await Promise.all([1, 2, 3].map(() => sim.seedInstance({ app: 'soknad', elements: Array.from({ length: 12 }, () => ({ ...FORM, size: 5_000 })), completed: true })));
    // Every data response waits a moment, so open streams pile up as far as the processor lets them.
    const slow = sim.faults.add({ role: 'platform', route: 'storage.data', latencyMs: 50, times: Infinity });
    let open = 0;
    let peak = 0;
    const stop = onRequest(sim, (entry) => {
      if (entry.route !== 'storage.data') return;
      const ours = (path: string) => docs.some((d) => path.includes(d.id));
      open = sim.requests.filter((r) => r.route === 'storage.data' && ours(r.path) && !r.completed).length + 1;
      peak = Math.max(peak, open);
    });
    try {
      const outcomes = await Promise.all(docs.map((d) => h.processor.handle(messageFor(d))));
      expect(outcomes.map((o) => o.kind)).toEqual(['confirmed', 'confirmed', 'confirmed']);
    } finally {
      stop();
      sim.faults.remove(slow);
    }
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(MAX_ELEMENT_STREAMS);
  });

  it('recovers when Altinn rejects the cached token as expired (401: one new token, same request again)', async () => {
    const h = await processorFor(sim, env);
    const first = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    await h.processor.handle(messageFor(first));
    const exchanges = sim.counters.exchangesIssued;
    const doc = await sim.seedInstance({ app: 'soknad', elements: [FORM], completed: true });
    const guid = doc.id.split('/')[1]!;
    sim.faults.add({ role: 'platform', route: 'storage.data', instanceGuid: guid, status: 401 });
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(sim.counters.exchangesIssued).toBe(exchanges + 1);
    expect(sim.requests.filter((r) => r.route === 'storage.data' && r.path.includes(guid)).map((r) => r.status)).toEqual([401, 200]);
    expect(effective(guid)).toBe(1);
  });

  it('with HEAL_WINDOW_MINUTES=0 a deleted instance (404) goes to poison at once, with the reason, without throwing', async () => {
    const h = await processorFor(sim, env, { HEAL_WINDOW_MINUTES: '0' });
    const msg = messageFor({ id: '50001234/0b7c2d2e-1f55-4e39-9b1f-0d6d8b7e6a11', appId: 'ttd/soknad' });
    const outcomes = await Promise.all([h.processor.handle(msg, { dequeueCount: 1 }), h.processor.handle(msg, { dequeueCount: 1 })]);
    expect(outcomes.map((o) => o.kind)).toEqual(['poisoned', 'poisoned']);
    const poison = (await h.messages(QUEUES.poison)) as { reason: string; original: unknown; failedAt: string }[];
    expect(poison).toHaveLength(1);
    expect(poison[0]?.reason).toMatch(/^instance not found in Altinn Storage: Storage answered 404 × 1 over 0 s since .* \(HEAL_WINDOW_MINUTES=0\); last: altinn-http-404: /);
    expect(poison[0]?.original).toEqual(msg);
    expect(Date.parse(poison[0]?.failedAt ?? '')).not.toBeNaN();
    expect(sim.requests.filter((r) => r.path.includes(msg.instanceGuid!))).toHaveLength(1);
  });

  it('a malformed message goes to poison at once with the precise reason; Altinn is not called', async () => {
    const h = await processorFor(sim, env);
    const before = sim.requests.length;
    const raw = Buffer.from(JSON.stringify({ org: 'ttd', app: 'soknad', partyId: '12x', instanceGuid: 'nope' })).toString('base64');
    await expect(h.processor.handle(raw)).resolves.toMatchObject({ kind: 'poisoned' });
    await expect(h.processor.handle({ ...messageFor({ id: '1/0b7c2d2e-1f55-4e39-9b1f-0d6d8b7e6a11', appId: 'skd/soknad' }) })).resolves.toMatchObject({
      kind: 'poisoned',
      reason: expect.stringContaining('not ALTINN_ORG') as unknown,
    });
    const poison = (await h.messages(QUEUES.poison)) as { reason: string; original: unknown }[];
    expect(poison[0]?.reason).toMatch(/partyId: partyId must be digits.*instanceGuid/);
    expect(poison[0]?.original).toBe(raw);
    expect(sim.requests.length).toBe(before);
  });

  it('Pending virus scan: retryable, nothing stored; Infected: recorded, not downloaded, not confirmed unless CONFIRM_ON_INFECTED', async () => {
    const h = await processorFor(sim, env);
    const pending = await sim.seedInstance({ app: 'soknad', elements: [FORM, { ...FORM, fileScanResult: 'Pending' }], completed: true });
    await expect(h.processor.handle(messageFor(pending))).resolves.toMatchObject({ kind: 'deferred', reason: 'filescan-pending' });
    expect(downloads(pending.id.split('/')[1]!)).toBe(0);

    const infected = await sim.seedInstance({ app: 'soknad', elements: [FORM, { ...FORM, dataType: 'vedlegg', fileScanResult: 'Infected' }], completed: true });
    const guid = infected.id.split('/')[1]!;
    await expect(h.processor.handle(messageFor(infected))).resolves.toMatchObject({ kind: 'held-infected', infected: [infected.data[1]!.id] });
    expect(downloads(guid)).toBe(1);
    expect(completes(guid)).toBe(0);
    const manifest = manifestSchema.parse(JSON.parse((await h.container.getBlockBlobClient(`ttd/soknad/${infected.id}/manifest.json`).downloadToBuffer()).toString()));
    expect(manifest.elements.map((e) => e.status)).toEqual(['stored', 'infected']);
    expect(h.lines('element infected')).toHaveLength(1);
    // Held: announced once on altinn-instances-held, however often the instance is delivered again.
    await expect(h.processor.handle(messageFor(infected))).resolves.toMatchObject({ kind: 'held-infected' });
    expect(await h.messages(QUEUES.held)).toEqual([
      expect.objectContaining({ instanceGuid: guid, reason: 'infected', manifestStatus: 'held', infected: [expect.objectContaining({ id: infected.data[1]!.id, dataType: 'vedlegg' })] }),
    ]);
    expect(await h.container.getBlockBlobClient(`_held/${infected.id}.json`).exists()).toBe(true);
    expect(completes(guid)).toBe(0);

    const confirming = await processorFor(sim, env, { CONFIRM_ON_INFECTED: 'true' });
    await expect(confirming.processor.handle(messageFor(infected))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(effective(guid)).toBe(1);
  });

  it('sets the substatus after confirming when ALTINN_SUBSTATUS_LABEL is set, and downloads only ALTINN_DATA_TYPES', async () => {
    const h = await processorFor(sim, env, { ALTINN_SUBSTATUS_LABEL: 'Mottatt', ALTINN_DATA_TYPES: 'model' });
    const doc = await sim.seedInstance({ app: 'soknad', elements: several.slice(0, 2), completed: true });
    const guid = doc.id.split('/')[1]!;
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    expect(downloads(guid)).toBe(1);
    expect((sim.instance(guid).status as { substatus?: { label: string } }).substatus?.label).toBe('Mottatt');
    const order = sim.requests.filter((r) => r.path.includes(guid)).map((r) => r.route);
    expect(order.indexOf('storage.complete')).toBeLessThan(order.indexOf('storage.substatus'));
  });
});
