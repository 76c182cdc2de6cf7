import { describe, expect, it } from 'vitest';
import { DECISION_HEADER } from '../lib/webhook/problem.js';
import { receiveEvent } from '../lib/webhook/receiveEvent.js';
import { fixtureText } from './support/fixtures.js';
import { logLines, NOW, queuedMessages, request, webhookDeps } from './support/webhook.js';

const raw = (file: string) => fixtureText('events', file);
/** Events DB rows wrap each delivered CloudEvent in a `cloudEvent` member. */
const rows = (file: string) => (JSON.parse(raw(file)) as { cloudEvent: Record<string, unknown> }[]).map((r) => r.cloudEvent);
const list = (file: string) => JSON.parse(raw(file)) as Record<string, unknown>[];

type Env = Record<string, string>;
const production = (org: string, types: string, apps = ''): Env => ({
  ALTINN_ENV: 'production',
  ALTINN_ORG: org,
  ALTINN_EVENT_TYPES: types,
  ALTINN_APPS: apps,
});

interface Case {
  name: string;
  body: string;
  env: Env;
  status: number;
  /** 'enqueued' | 'validation' | 'ignored-type' | 'ignored-app' | a problem code */
  outcome: string;
}

const cases: Case[] = [];
const add = (name: string, body: string | Record<string, unknown>, env: Env, status: number, outcome: string) =>
  cases.push({ name, body: typeof body === 'string' ? body : JSON.stringify(body), env, status, outcome });

// A delivered app event and Altinn's subscription handshake, byte for byte as stored.
const created = raw('instance-created.json');
add('instance.created, type handled', created, production('ttd', 'app.instance.created'), 200, 'enqueued');
add('instance.created, app listed', created, production('ttd', 'app.instance.created', 'flyttemelding'), 200, 'enqueued');
add('instance.created, default types', created, production('ttd', ''), 200, 'ignored-type');
add('instance.created, other apps listed', created, production('ttd', 'app.instance.created', 'other-app'), 200, 'ignored-app');
add('instance.created, tt02 origin configured', created, { ALTINN_EVENT_TYPES: 'app.instance.created' }, 403, 'forbidden-source');
add('instance.created, other org configured', created, production('nav', 'app.instance.created'), 403, 'forbidden-source');
const validate = raw('validatesubscription.json');
add('validatesubscription (tt02)', validate, {}, 200, 'validation');
add('validatesubscription (production, app filter)', validate, production('ttd', '', 'other-app'), 200, 'validation');

// Events DB rows (ttd, production): instance.deleted, two parties.
rows('rows-ttd.json').forEach((e, i) => {
  add(`rows-ttd row ${i + 1}, type handled`, e, production('ttd', 'instance.deleted'), 200, 'enqueued');
  add(`rows-ttd row ${i + 1}, type not handled`, e, production('ttd', ''), 200, 'ignored-type');
});
// nav's events (and one of skd's, forged from nav's point of view); data as a plain string.
rows('rows-nav.json').forEach((e, i) => {
  const skd = String(e.source).startsWith('https://skd.');
  add(`rows-nav row ${i + 1} as nav`, e, production('nav', 'instance.created,instance.saved'), skd ? 403 : 200, skd ? 'forbidden-source' : 'enqueued');
  if (skd) add(`rows-nav row ${i + 1} as skd`, e, production('skd', 'instance.saved'), 200, 'enqueued');
});
// urn sources: valid CloudEvents, but not an app instance: never ours to fetch.
[...rows('rows-urn.json'), ...list('batch-urn.json')].forEach((e, i) => {
  add(`urn-sourced event ${i + 1}`, e, production('ttd', 'instance.deleted'), 403, 'forbidden-source');
});
// The files themselves are arrays (a batch / DB rows), not one structured CloudEvent.
for (const f of ['rows-ttd.json', 'rows-nav.json', 'rows-urn.json', 'batch-urn.json']) add(`${f} posted whole`, raw(f), production('ttd', ''), 400, 'not-a-cloudevent');
// Publish requests: no id yet (Events assigns it), so not a delivered CloudEvent; with an id, the
// template's placeholder host and a non-Altinn source are not our apps.
for (const f of ['publish-app-event.json', 'publish-generic-event.json']) {
  add(`${f} as published`, raw(f), production('ttd', 'app.instance.created'), 400, 'not-a-cloudevent');
  add(`${f} with an id`, { ...(JSON.parse(raw(f)) as object), id: 'pub-1' }, production('ttd', 'app.instance.created'), 403, 'forbidden-source');
}

/** What the message must be, derived from the event independently of the parser under test. */
function expectedMessage(event: Record<string, unknown>) {
  const m = /^https:\/\/[a-z]+\.apps\.altinn\.no\/([a-z]+)\/([a-z0-9-]+)\/instances\/(\d+)\/([0-9a-f-]{36})$/.exec(String(event.source));
  if (!m) throw new Error(`fixture source not an instance URL: ${String(event.source)}`);
  return {
    org: m[1],
    app: m[2],
    partyId: m[3],
    instanceGuid: m[4],
    eventId: event.id,
    eventType: event.type,
    reason: 'event',
    enqueuedAt: new Date(NOW).toISOString(),
  };
}

describe('every Altinn-shaped event in the fixtures gets the right answer (real Azurite queue)', () => {
  it('covers every fixture event', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { deps, queue, log } = webhookDeps(c.env);
    const res = await receiveEvent(request(c.body, { 'content-type': 'application/cloudevents+json; charset=utf-8' }), deps);
    expect(res.status).toBe(c.status);
    if (c.status === 200) expect([res.headers[DECISION_HEADER], res.body]).toEqual([c.outcome, undefined]);
    else expect(JSON.parse(res.body ?? '')).toMatchObject({ type: `urn:altinn-receiver:problem:${c.outcome}`, status: c.status });

    const queued = await queuedMessages(queue);
    if (c.outcome === 'enqueued') expect(queued).toEqual([expectedMessage(JSON.parse(c.body) as Record<string, unknown>)]);
    else expect(queued).toEqual([]);

    const lines = logLines(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'webhook request', status: c.status, decision: c.status === 200 ? c.outcome : 'rejected' });
  });
});
