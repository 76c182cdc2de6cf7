import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALIDATION_RETRY_SECONDS } from '../cli/eventsValidation.js';
import { alternativeSubjectOf } from '../dev/simulator/events.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { loopbackWebhook } from './support/loopbackWebhook.js';

/** Altinn Events as altinn-events' code behaves (dev/simulator/README.md "Fidelity to Altinn"). */

let sim: Simulator;
/** A service owner's token without altinn:events.subscribe: enough for app subscriptions. */
let ownerToken: string;

const hooks: { close(): Promise<void> }[] = [];
/** One webhook per test: answers POSTs with `answers` in turn, then `rest`. */
const hook = async (answers: number[], rest = 200) => {
  const h = await loopbackWebhook(rest, answers);
  hooks.push(h);
  return h;
};

beforeAll(async () => {
  sim = await startSimulator({ port: 0, eventRetryScale: 0.001 });
  ownerToken = sim.altinnToken({ scope: 'altinn:serviceowner/instances.read' });
});
afterAll(async () => {
  await sim.stop();
  await Promise.all(hooks.map((h) => h.close()));
});

const subscribe = (body: unknown, token = ownerToken) =>
  fetch(`${sim.platformUrl}/events/api/v1/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
type Sub = { id: number; validated: boolean; resourceFilter: string; sourceFilter: string | null };
const created = async (body: unknown) => {
  const res = await subscribe(body);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Sub;
};
const resource = (app: string) => `urn:altinn:resource:app_ttd_${app}`;
const validationsTo = (id: number) => sim.events.deliveries.filter((d) => d.subscriptionId === id && d.type === 'platform.events.validatesubscription');

describe('subscribing', () => {
  it('an app resource needs no altinn:events.subscribe; any other resource does', async () => {
    const h = await hook([]);
    expect((await subscribe({ endPoint: h.url, resourceFilter: resource('scope-app') })).status).toBe(201);
    expect((await subscribe({ endPoint: h.url, resourceFilter: 'urn:altinn:resource:broker-thing' })).status).toBe(403);
    expect((await subscribe({ endPoint: h.url, resourceFilter: 'urn:altinn:resource:broker-thing' }, sim.altinnToken())).status).toBe(201);
  });

  it('resourceFilter is the form; a sourceFilter on the apps domain is turned into it', async () => {
    const h = await hook([]);
    expect(await created({ endPoint: h.url, resourceFilter: resource('form-a') })).toMatchObject({ resourceFilter: resource('form-a'), sourceFilter: null });
    expect(await created({ endPoint: h.url, sourceFilter: `${sim.appsUrl}/ttd/form-b` })).toMatchObject({ resourceFilter: resource('form-b') });
    expect(await created({ endPoint: h.url, sourceFilter: `${sim.appsUrl}/ttd/form-c`, resourceFilter: resource('form-c') })).toMatchObject({ resourceFilter: resource('form-c') });
  });

  it.each<[string, Record<string, string>, number]>([
    ['a % wildcard in the sourceFilter (not a well-formed URI)', { sourceFilter: '{apps}/ttd/%' }, 400],
    ['a sourceFilter deeper than /{org}/{app}', { sourceFilter: '{apps}/ttd/app/instances' }, 400],
    ['a resourceFilter and a sourceFilter that disagree', { sourceFilter: '{apps}/ttd/one', resourceFilter: resource('two') }, 400],
    ['a resourceFilter that is no urn', { resourceFilter: 'app_ttd_x' }, 400],
    ["another org's app", { resourceFilter: 'urn:altinn:resource:app_skd_x' }, 403],
    ['no filter at all', {}, 400],
  ])('refuses %s', async (_what, filters, status) => {
    const h = await hook([]);
    const body = Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, v.replace('{apps}', sim.appsUrl)]));
    const before = sim.events.subscriptions.size;
    // With altinn:events.subscribe, so the filter checks are what answers (without it, a non-app filter is a 403 first).
    expect((await subscribe({ endPoint: h.url, ...body }, sim.altinnToken())).status).toBe(status);
    expect(sim.events.subscriptions.size).toBe(before);
  });

  it.each<[string, Record<string, string>, string]>([
    ['an http endpoint', { endPoint: 'http://receiver.example/api/events?code=k', resourceFilter: resource('plain') }, 'Missing or invalid endpoint to push events towards'],
    ['an http sourceFilter', { endPoint: 'https://receiver.example/api/events', sourceFilter: 'http://ttd.apps.example/ttd/plain' }, 'SourceFilter must be an absolute URL with the https scheme.'],
  ])('refuses %s, as Altinn does (https only: SubscriptionController.IsValidUri, #1052)', async (_what, body, message) => {
    const res = await subscribe(body, sim.altinnToken());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(message);
  });

  it("without the dev-only loopback allowance, http to loopback is refused too; https is taken", async () => {
    const strict = await startSimulator({ httpLoopbackEndpoints: false });
    try {
      const post = (endPoint: string) =>
        fetch(`${strict.platformUrl}/events/api/v1/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${strict.altinnToken()}`, 'content-type': 'application/json' },
          body: JSON.stringify({ endPoint, resourceFilter: resource('strict') }),
        });
      const refused = await post('http://127.0.0.1:9/api/events');
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('Missing or invalid endpoint to push events towards');
      expect((await post('https://127.0.0.1:9/api/events')).status).toBe(201);
    } finally {
      await strict.stop();
    }
  });

  it('creating the same subscription again returns the existing one and sends the handshake again', async () => {
    const h = await hook([]);
    const body = { endPoint: h.url, resourceFilter: resource('dup'), typeFilter: 'app.instance.process.completed' };
    const first = await created(body);
    await sim.events.idle();
    const again = await created(body);
    await sim.events.idle();
    expect(again.id).toBe(first.id);
    expect(again.validated).toBe(true);
    expect(validationsTo(first.id)).toHaveLength(2);
    const other = await created({ ...body, typeFilter: 'app.instance.created' });
    expect(other.id).not.toBe(first.id);
  });
});

describe('the validation handshake', () => {
  it('any 2xx validates', async () => {
    const h = await hook([204]);
    const sub = await created({ endPoint: h.url, resourceFilter: resource('two-oh-four') });
    await sim.events.idle();
    expect(sim.events.subscriptions.get(sub.id)?.validated).toBe(true);
    expect(h.received.map((e) => e.type)).toEqual(['platform.events.validatesubscription']);
  });

  it("is retried on Altinn's validation schedule, then given up: the subscription stays unvalidated and gets no events", async () => {
    const h = await hook([], 503);
    const sub = await created({ endPoint: h.url, resourceFilter: resource('never') });
    await sim.events.idle();
    expect(validationsTo(sub.id).map((d) => d.status)).toEqual(Array<number>(VALIDATION_RETRY_SECONDS.length + 1).fill(503));
    expect(sim.events.abandoned.has(sub.id)).toBe(true);
    expect(sim.events.subscriptions.get(sub.id)?.validated).toBe(false);

    const doc = await sim.seedInstance({ app: 'never' });
    sim.completeProcess(doc.id.split('/')[0]!, doc.id.split('/')[1]!);
    await sim.events.idle();
    expect(h.received.every((e) => e.type === 'platform.events.validatesubscription')).toBe(true);
  });

  it('validated late within the window still counts', async () => {
    const h = await hook([503, 500, 502, 503, 504]);
    const sub = await created({ endPoint: h.url, resourceFilter: resource('late') });
    await sim.events.idle();
    expect(validationsTo(sub.id).map((d) => d.status)).toEqual([503, 500, 502, 503, 504, 200]);
    expect(sim.events.subscriptions.get(sub.id)?.validated).toBe(true);
    expect(sim.events.abandoned.has(sub.id)).toBe(false);
  });
});

describe('app events', () => {
  it('alternativesubject: the org number first, then the person number, then the external identifier (app-lib EventsClient.AddEvent)', () => {
    expect(alternativeSubjectOf({ partyId: '1', organisationNumber: '910000001', personNumber: '01039012345' })).toBe('/org/910000001');
    expect(alternativeSubjectOf({ partyId: '1', organisationNumber: ' ', personNumber: '01039012345', externalIdentifier: 'urn:altinn:person:idporten-email:a@b.no' })).toBe('/person/01039012345');
    expect(alternativeSubjectOf({ partyId: '1', externalIdentifier: 'urn:altinn:person:idporten-email:a@b.no' })).toBe('urn:altinn:person:idporten-email:a@b.no');
    expect(alternativeSubjectOf({ partyId: '1' })).toBeUndefined();
  });

  it('carry resource, resourceinstance {partyId}/{guid}, subject and alternativesubject; any 2xx delivers them', async () => {
    const h = await hook([], 202);
    const sub = await created({ endPoint: h.url, resourceFilter: resource('fields'), typeFilter: 'app.instance.process.completed' });
    await sim.events.idle();
    const doc = await sim.seedInstance({ app: 'fields' });
    const [partyId, guid] = doc.id.split('/') as [string, string];
    const event = sim.completeProcess(partyId, guid);
    await sim.events.idle();
    expect(h.received.at(-1)).toEqual({ ...event, url: '/api/events' });
    expect(event).toMatchObject({
      resource: resource('fields'),
      resourceinstance: `${partyId}/${guid}`,
      subject: `/party/${partyId}`,
      alternativesubject: '/person/01039012345',
      source: `${sim.appsUrl}/ttd/fields/instances/${partyId}/${guid}`,
    });
    expect(sim.events.deliveries.filter((d) => d.subscriptionId === sub.id && d.eventId === event.id).map((d) => d.status)).toEqual([202]);
  });
});
