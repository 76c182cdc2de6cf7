import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type CloudEvent, type InstanceDoc, type Simulator } from '../dev/simulator/index.js';

let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, eventRetryScale: 0.001 });
  token = sim.altinnToken();
});
afterAll(() => sim.stop());

const auth = (t = token) => ({ authorization: `Bearer ${t}` });
const appUrl = (doc: InstanceDoc, tail = '') => `${sim.appsUrl}/${doc.appId}/instances/${doc.id}${tail}`;
const storageUrl = (doc: InstanceDoc, tail = '') => `${sim.platformUrl}/storage/api/v1/instances/${doc.id}${tail}`;
const guidOf = (doc: InstanceDoc) => doc.id.split('/')[1]!;

async function sha256Of(res: Response): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { hash: hash.digest('hex'), bytes };
}

describe('simulator App and Storage APIs', () => {
  it('serves a seeded instance in the app shape and the storage shape, and its data with type, filename and hash', async () => {
    const doc = await sim.seedInstance({
      app: 'app1',
      completed: true,
      elements: [
        { dataType: 'model', contentType: 'application/xml', size: 1000 },
        { dataType: 'attachment', contentType: 'application/pdf', filename: 'søknad 1.pdf', size: 200_000, withContentHash: true },
      ],
    });
    const app = (await (await fetch(appUrl(doc), { headers: auth() })).json()) as Record<string, unknown>;
    expect(app).toMatchObject({ id: doc.id, appId: 'ttd/app1', status: { readStatus: 1, substatus: null }, dueBefore: null });
    expect((app.instanceOwner as Record<string, unknown>).party).toMatchObject({ partyId: Number(doc.id.split('/')[0]) });
    expect(await (await fetch(storageUrl(doc), { headers: auth() })).json()).toEqual(doc);

    const pdf = doc.data[1]!;
    expect(pdf.contentHash).toBe(await sim.elementSha256(guidOf(doc), pdf.id));
    for (const url of [appUrl(doc, `/data/${pdf.id}`), storageUrl(doc, `/data/${pdf.id}`)]) {
      const res = await fetch(url, { headers: auth() });
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''s%C3%B8knad%201.pdf");
      expect(await sha256Of(res)).toEqual({ hash: pdf.contentHash, bytes: 200_000 });
    }
    // A form: Storage streams the stored bytes; the App API serialises the model anew (app-lib DataController.GetFormData).
    const form = doc.data[0]!;
    const stored = await fetch(storageUrl(doc, `/data/${form.id}`), { headers: auth() });
    // Without Content-Length: Storage streams a blob download that cannot seek (DataController.Get → File(stream)).
    expect(stored.headers.get('content-length')).toBeNull();
    expect(stored.headers.get('transfer-encoding')).toBe('chunked');
    expect(await sha256Of(stored)).toEqual({ hash: await sim.elementSha256(guidOf(doc), form.id), bytes: 1000 });
    const reserialised = await fetch(appUrl(doc, `/data/${form.id}`), { headers: auth() });
    expect(reserialised.headers.get('content-length')).toBeNull();
    expect(reserialised.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await reserialised.arrayBuffer()).byteLength).not.toBe(1000);
    expect(sim.counters.downloads[guidOf(doc)]).toBe(4);
  });

  it('answers 401 without a valid token, 403 for a missing scope or another org, 404 for an unknown instance', async () => {
    const doc = await sim.seedInstance({ app: 'app1' });
    expect((await fetch(appUrl(doc))).status).toBe(401);
    expect((await fetch(appUrl(doc), { headers: auth('not.a.jwt') })).status).toBe(401);
    expect((await fetch(appUrl(doc), { headers: auth(sim.altinnToken({ scope: 'altinn:events.subscribe' })) })).status).toBe(403);
    expect((await fetch(appUrl(doc), { headers: auth(sim.altinnToken({ org: 'skd' })) })).status).toBe(403);
    expect((await fetch(storageUrl(doc), { headers: auth(sim.altinnToken({ org: null })) })).status).toBe(403);
    expect((await fetch(`${sim.appsUrl}/ttd/app1/instances/1/${guidOf(doc)}`, { headers: auth() })).status).toBe(404);
    const readOnly = sim.altinnToken({ scope: 'altinn:serviceowner/instances.read' });
    expect((await fetch(appUrl(doc, '/complete'), { method: 'POST', headers: auth(readOnly) })).status).toBe(403);
  });

  it('completes idempotently per org through either API, counting effective and total calls', async () => {
    const doc = await sim.seedInstance({ app: 'app1', completed: true });
    const first = (await (await fetch(appUrl(doc, '/complete'), { method: 'POST', headers: auth() })).json()) as InstanceDoc;
    expect(first.completeConfirmations).toEqual([{ stakeholderId: 'ttd', confirmedOn: expect.any(String) as unknown }]);
    await fetch(storageUrl(doc, '/complete'), { method: 'POST', headers: auth() });
    expect(sim.counters.completes[guidOf(doc)]).toBe(2);
    expect(sim.counters.effectiveCompletes[guidOf(doc)]).toBe(1);
    expect(sim.instance(guidOf(doc)).completeConfirmations).toHaveLength(1);
  });

  it('sets the substatus, validating the body', async () => {
    const doc = await sim.seedInstance({ app: 'app1', completed: true });
    const put = (body: unknown) =>
      fetch(appUrl(doc, '/substatus'), { method: 'PUT', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put({ description: 'x' })).status).toBe(400);
    const res = (await (await put({ label: 'Mottatt' })).json()) as { status: { substatus: unknown } };
    expect(res.status.substatus).toEqual({ label: 'Mottatt', description: null });
  });

  it('queries Storage with filters, newest first, ignoring unknown parameters, with next after a full page', async () => {
    const s = await startSimulator({ port: 0, org: 'qry' });
    try {
      const t = s.altinnToken();
      const done = await s.seedInstance({ app: 'a', completed: true, lastChanged: '2024-01-02T00:00:00Z' });
      await s.seedInstance({ app: 'a', completed: true, confirmedBy: ['qry'], lastChanged: '2024-01-03T00:00:00Z' });
      await s.seedInstance({ app: 'a', completed: false, lastChanged: '2024-01-04T00:00:00Z' });
      await s.seedInstance({ app: 'b', completed: true, lastChanged: '2024-01-01T00:00:00Z' });
      const q = async (query: string) => {
        const res = await fetch(`${s.platformUrl}/storage/api/v1/instances?${query}`, { headers: auth(t) });
        return { status: res.status, body: (await res.json()) as { count: number; instances: InstanceDoc[]; next: string | null } };
      };
      const page = await q('appId=qry/a&process.isComplete=true&excludeConfirmedBy=qry');
      expect(page.body.instances.map((i) => i.id)).toEqual([done.id]);
      expect((await q('org=qry&lastChanged=gt:2024-01-02T00:00:00Z')).body.count).toBe(2);
      expect((await q('org=qry&lastChanged=gte:2024-01-02T00:00:00Z&lastChanged=lt:2024-01-04T00:00:00Z')).body.count).toBe(2);
      // Newest first; unknown parameters ignored; a full last page still carries `next`, to an empty page.
      const all = await q('org=qry&foo=1');
      expect(all.status).toBe(200);
      const changed = all.body.instances.map((i) => String(i.lastChanged));
      expect(changed).toEqual([...changed].sort().reverse());
      expect(changed).toHaveLength(4);
      const full = await q('org=qry&size=4');
      expect(full.body.next).toMatch(/continuationToken=/);
      const after = await q(new URL(full.body.next!).search.slice(1));
      expect(after.body).toMatchObject({ count: 0, next: null });
      expect((await q('org=ttd')).status).toBe(403);
    } finally {
      await s.stop();
    }
  });
});

describe('simulator faults', () => {
  it('plays a status sequence with Retry-After, then passes through', async () => {
    const doc = await sim.seedInstance({ app: 'app1' });
    sim.faults.add({ route: 'apps.instance', instanceGuid: guidOf(doc), status: [503, 429], retryAfter: 2 });
    const a = await fetch(appUrl(doc), { headers: auth() });
    const b = await fetch(appUrl(doc), { headers: auth() });
    const c = await fetch(appUrl(doc), { headers: auth() });
    expect([a.status, b.status, c.status]).toEqual([503, 429, 200]);
    expect(b.headers.get('retry-after')).toBe('2');
  });

  it('breaks data bodies: reset, truncation, and a body longer or shorter than the size', async () => {
    const doc = await sim.seedInstance({ app: 'app1', elements: [{ dataType: 'a', contentType: 'application/octet-stream', size: 300_000 }] });
    const url = appUrl(doc, `/data/${doc.data[0]!.id}`);
    sim.faults.add({ route: 'apps.data', resetAfterBytes: 100_000 });
    await expect(fetch(url, { headers: auth() }).then((r) => r.arrayBuffer())).rejects.toThrow();
    sim.faults.add({ route: 'apps.data', truncateAfterBytes: 10 });
    await expect(fetch(url, { headers: auth() }).then((r) => r.arrayBuffer())).rejects.toThrow();
    for (const sizeDelta of [7, -7]) {
      sim.faults.add({ route: 'apps.data', sizeDelta });
      expect((await (await fetch(url, { headers: auth() })).arrayBuffer()).byteLength).toBe(300_000 + sizeDelta);
    }
    expect((await (await fetch(url, { headers: auth() })).arrayBuffer()).byteLength).toBe(300_000);
    expect(sim.requests.filter((r) => r.route === 'apps.data' && r.path.includes(guidOf(doc))).map((r) => r.completed)).toEqual([false, false, true, true, true]);
  });

  it('injects random faults reproducibly from a seed', async () => {
    const run = async () => {
      sim.faults.random({ rate: 0.5, routes: ['maskinporten.metadata'], seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await fetch(`${sim.maskinportenUrl}/.well-known/oauth-authorization-server`)).status);
      sim.faults.random(undefined);
      return statuses;
    };
    const first = await run();
    expect(first.some((s) => s !== 200) && first.includes(200)).toBe(true);
    expect(await run()).toEqual(first);
  });
});

describe('simulator Events API', () => {
  let hook: Server;
  let hookUrl: string;
  const received: CloudEvent[] = [];
  let answers: number[] = [];

  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as CloudEvent);
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/api/events?code=k`;
  });
  afterAll(() => new Promise<void>((r) => hook.close(() => r())));

  const subscribe = (body: unknown, t = token) =>
    fetch(`${sim.platformUrl}/events/api/v1/subscriptions`, { method: 'POST', headers: { ...auth(t), 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('validates the request: https endpoint (http only for loopback), own-org sourceFilter', async () => {
    expect((await subscribe({ endPoint: 'http://example.com/hook', sourceFilter: `${sim.appsUrl}/ttd/app1` })).status).toBe(400);
    expect((await subscribe({ endPoint: hookUrl, sourceFilter: 'https://example.com/ttd/app1' })).status).toBe(400);
    expect((await subscribe({ endPoint: hookUrl, sourceFilter: `${sim.appsUrl}/skd/app1` })).status).toBe(403);
    expect((await subscribe({ endPoint: hookUrl })).status).toBe(400);
    // altinn:events.subscribe is needed for other resources only (the app case: test/simulator.events.test.ts).
    expect((await subscribe({ endPoint: hookUrl, resourceFilter: 'urn:altinn:resource:other' }, sim.altinnToken({ scope: 'altinn:serviceowner/instances.read' }))).status).toBe(403);
  });

  it('sends the validation event, then delivers matching events with retries, and drops on request', async () => {
    const res = await subscribe({ endPoint: hookUrl, sourceFilter: `${sim.appsUrl}/ttd/app2`, typeFilter: 'app.instance.process.completed' });
    expect(res.status).toBe(201);
    const sub = (await res.json()) as { id: number; validated: boolean; resourceFilter: string; consumer: string };
    expect(sub).toMatchObject({ validated: false, resourceFilter: 'urn:altinn:resource:app_ttd_app2', consumer: '/org/ttd' });
    await sim.events.idle();
    expect(received.at(-1)).toMatchObject({ type: 'platform.events.validatesubscription', source: `${sim.platformUrl}/events/api/v1/subscriptions/${sub.id}` });
    const got = (await (await fetch(`${sim.platformUrl}/events/api/v1/subscriptions/${sub.id}`, { headers: auth() })).json()) as { validated: boolean };
    expect(got.validated).toBe(true);

    const doc = await sim.seedInstance({ app: 'app2' });
    const other = await sim.seedInstance({ app: 'app3' });
    answers = [500, 503];
    const event = sim.completeProcess(doc.id.split('/')[0]!, guidOf(doc));
    sim.completeProcess(other.id.split('/')[0]!, guidOf(other));
    sim.emitEvent(guidOf(doc), 'app.instance.created');
    await sim.events.idle();
    const mine = sim.events.deliveries.filter((d) => d.subscriptionId === sub.id && d.eventId === event.id);
    expect(mine.map((d) => [d.attempt, d.status])).toEqual([[1, 500], [2, 503], [3, 200]]);
    expect(received.filter((e) => e.source.includes(guidOf(other)) || e.type === 'app.instance.created')).toEqual([]);
    expect(received.at(-1)).toMatchObject({ id: event.id, source: appUrl(doc), type: 'app.instance.process.completed', subject: `/party/${doc.id.split('/')[0]}` });

    sim.events.dropNext(1);
    const count = received.length;
    const dropped = sim.completeProcess(doc.id.split('/')[0]!, guidOf(doc));
    await sim.events.idle();
    expect(received.length).toBe(count);
    expect(sim.events.deliveries.at(-1)).toMatchObject({ eventId: dropped.id, status: -1 });

    const list = (await (await fetch(`${sim.platformUrl}/events/api/v1/subscriptions`, { headers: auth() })).json()) as { count: number };
    expect(list.count).toBeGreaterThan(0);
    expect((await fetch(`${sim.platformUrl}/events/api/v1/subscriptions/${sub.id}`, { method: 'DELETE', headers: auth() })).status).toBe(200);
    expect((await fetch(`${sim.platformUrl}/events/api/v1/subscriptions/${sub.id}`, { headers: auth() })).status).toBe(404);
  });
});
