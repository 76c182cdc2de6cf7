import { describe, expect, it } from 'vitest';
import type { InstanceDoc, Simulator } from '../dev/simulator/index.js';
import { QUEUES } from '../lib/queue/names.js';
import { blobSha256, messageFor, processorFor, withSimulator } from './support/processor.js';

/**
 * The processor against Altinn as Altinn's code behaves (dev/simulator/README.md, "Fidelity to Altinn"):
 * data comes from Storage, and nothing is confirmed that is unfinished, unselectable or missing.
 */
let sim: Simulator;
let env: Record<string, string>;

withSimulator((s, e) => {
  sim = s;
  env = e;
});

const FORM = { dataType: 'model', contentType: 'application/xml', size: 3_210 } as const;
const PDF = { dataType: 'vedlegg', contentType: 'application/pdf', filename: 'vedlegg.pdf', size: 70_001 } as const;

const guidOf = (doc: InstanceDoc) => doc.id.split('/')[1]!;
const effective = (doc: InstanceDoc) => sim.counters.effectiveCompletes[guidOf(doc)] ?? 0;
const downloads = (doc: InstanceDoc) => sim.counters.downloads[guidOf(doc)] ?? 0;
const appApi = (doc: InstanceDoc, tail = '') => fetch(`${sim.appsUrl}/${doc.appId}/instances/${doc.id}${tail}`, { headers: { authorization: `Bearer ${sim.altinnToken()}` } });
const folderOf = (doc: InstanceDoc) => `${doc.appId}/${doc.id}`;

describe('retrieval from Altinn Storage', () => {
  it('stores a form element byte for byte while the App API re-serialises it, and instance.json is Storage’s document as sent', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'skjema', completed: true, elements: [FORM, PDF] });
    const form = doc.data[0]!;
    const fromApp = await appApi(doc, `/data/${form.id}`);
    expect(fromApp.headers.get('content-length')).toBeNull();
    const appBytes = Buffer.from(await fromApp.arrayBuffer());
    const storageText = await (await fetch(`${sim.platformUrl}/storage/api/v1/instances/${doc.id}`, { headers: { authorization: `Bearer ${sim.altinnToken()}` } })).text();

    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 2 });
    const stored = await blobSha256(h.container, `${folderOf(doc)}/data/${form.id}`);
    expect(stored).toEqual({ sha256: await sim.elementSha256(guidOf(doc), form.id), bytes: FORM.size });
    expect(appBytes.length).not.toBe(FORM.size);
    const instanceJson = (await h.container.getBlockBlobClient(`${folderOf(doc)}/instance.json`).downloadToBuffer()).toString('utf8');
    expect(instanceJson).toBe(storageText);
    expect(effective(doc)).toBe(1);
    // The processor never called the App API: the one request there is this test's own.
    expect(sim.requests.filter((r) => r.path.includes(guidOf(doc)) && r.role === 'apps')).toHaveLength(1);
  });

  it('stores and confirms an instance of a retired app (the App API answers 404)', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'nedlagt', completed: true, elements: [FORM, PDF] });
    sim.applications.retireApp('nedlagt');
    expect((await appApi(doc)).status).toBe(404);
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 2 });
    expect(effective(doc)).toBe(1);
  });

  it('stores and confirms an instance of an app that demands its own scopes (the App API answers 403)', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'egne-scopes', completed: true, elements: [PDF] });
    sim.applications.declare('egne-scopes', { apiScopes: { read: 'ttd:egne-scopes/read', write: 'ttd:egne-scopes/write' } });
    expect((await appApi(doc)).status).toBe(403);
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    expect(effective(doc)).toBe(1);
  });

  it('stores and confirms an instance holding a retired data type when ALTINN_DATA_TYPES leaves it out (the App API answers 500)', async () => {
    const h = await processorFor(sim, env, { ALTINN_DATA_TYPES: 'model' });
    const doc = await sim.seedInstance({ app: 'ny-versjon', completed: true, elements: [FORM, { ...PDF, dataType: 'gammelt-vedlegg' }] });
    sim.applications.retireDataType('ny-versjon', 'gammelt-vedlegg');
    expect((await appApi(doc)).status).toBe(500);
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
    expect(effective(doc)).toBe(1);
  });

  it('never confirms an instance whose selected element Storage will not serve: a retired data type (400), a gone blob (410)', async () => {
    const h = await processorFor(sim, env);
    const retired = await sim.seedInstance({ app: 'ny-versjon-2', completed: true, elements: [FORM, { ...PDF, dataType: 'gammelt-vedlegg' }] });
    sim.applications.retireDataType('ny-versjon-2', 'gammelt-vedlegg');
    const gone = [await sim.seedInstance({ app: 'skjema', completed: true, elements: [FORM, PDF] })];
    sim.faults.add({ route: 'storage.data', dataGuid: gone[0]!.data[1]!.id, status: 410, times: Infinity });

    const outcomes = await Promise.all([retired, ...gone].map((doc) => h.processor.handle(messageFor(doc))));
    expect(outcomes.map((o) => o.kind)).toEqual(['poisoned', 'poisoned']);
    const reasons = outcomes.map((o) => (o.kind === 'poisoned' ? o.reason : ''));
    expect(reasons[0]).toMatch(/element-unavailable: data element .* \(gammelt-vedlegg\) .* Storage answered 400 \(its data type is not declared/);
    expect(reasons[1]).toMatch(/Storage answered 410 \(the element is gone\); not confirmed/);
    for (const doc of [retired, ...gone]) expect(effective(doc)).toBe(0);
    expect(await h.messages(QUEUES.poison)).toHaveLength(2);
  });
});

describe('guards before complete', () => {
  it('an unfinished process: nothing downloaded or confirmed, no poison, a log line that says why; confirmed once it ends', async () => {
    const h = await processorFor(sim, env);
    const doc = await sim.seedInstance({ app: 'skjema', completed: false, elements: [FORM] });
    await expect(h.processor.handle(messageFor(doc))).resolves.toEqual({ kind: 'process-not-ended' });
    expect(downloads(doc)).toBe(0);
    expect(sim.counters.completes[guidOf(doc)] ?? 0).toBe(0);
    expect(await h.messages(QUEUES.poison)).toEqual([]);
    expect(h.lines('done')).toEqual([expect.objectContaining({ outcome: 'process-not-ended', msg: expect.stringMatching(/process not ended/) as unknown })]);
    expect(await h.container.getBlockBlobClient(`${folderOf(doc)}/manifest.json`).exists()).toBe(false);

    sim.completeProcess(doc.id.split('/')[0]!, guidOf(doc));
    await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed', downloaded: 1 });
  });

  it('a mistyped ALTINN_DATA_TYPES entry: poisoned naming the setting, the entry and the app, never confirmed, in two processes alike', async () => {
    const h = await processorFor(sim, env, { ALTINN_DATA_TYPES: 'model,vedleg' });
    const docs = await Promise.all([0, 1].map(() => sim.seedInstance({ app: 'skjema', completed: true, elements: [FORM, PDF] })));
    const outcomes = await Promise.all([h.processor, h.another()].map((p, i) => p.handle(messageFor(docs[i]!))));
    for (const o of outcomes) {
      expect(o).toEqual({ kind: 'poisoned', reason: expect.stringMatching(/^config-data-types: ALTINN_DATA_TYPES names vedleg, which app ttd\/skjema does not declare/) as unknown });
    }
    for (const doc of docs) {
      expect(effective(doc)).toBe(0);
      expect(downloads(doc)).toBe(0);
    }
    const poison = (await h.messages(QUEUES.poison)) as { reason: string }[];
    expect(poison.map((p) => p.reason).sort()).toEqual(outcomes.map((o) => (o as { reason: string }).reason).sort());
  });

  it('reads an app’s metadata once per cache period, and again after it', async () => {
    const h = await processorFor(sim, env, { ALTINN_DATA_TYPES: 'model' });
    const metadata = () => sim.requests.filter((r) => r.route === 'storage.application' && r.path.endsWith('/ttd/cache-app')).length;
    const docs = await Promise.all([0, 1, 2].map(() => sim.seedInstance({ app: 'cache-app', completed: true, elements: [FORM] })));
    for (const doc of docs.slice(0, 2)) await expect(h.processor.handle(messageFor(doc))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(metadata()).toBe(1);
    h.clock.advance(5 * 60_000);
    await expect(h.processor.handle(messageFor(docs[2]!))).resolves.toMatchObject({ kind: 'confirmed' });
    expect(metadata()).toBe(2);
  });
});
