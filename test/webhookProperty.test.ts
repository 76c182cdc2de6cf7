import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VALIDATE_SUBSCRIPTION } from '../lib/webhook/cloudEvent.js';
import { DECISION_HEADER } from '../lib/webhook/problem.js';
import { receiveEvent } from '../lib/webhook/receiveEvent.js';
import { eventsMessageSchema } from '../lib/queue/messages.js';
import { createQueueSender, type QueueSender } from '../lib/queue/sender.js';
import { storageClients } from './support/storage.js';
import { queuedMessages, webhookDeps } from './support/webhook.js';

const ORIGIN = 'https://ttd.apps.altinn.no';
const APPS = ['app-a', 'app-c'];
const TYPES = ['app.instance.process.completed', 'app.instance.created'];
const RUNS = 2_000;

const ascii = (maxLength = 40) => fc.string({ unit: 'grapheme-ascii', maxLength });

/** Real instance URLs of our org, near-misses (each part right or subtly wrong), and arbitrary strings. */
const sourceArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({ app: fc.constantFrom('app-a', 'app-b', 'app-c'), partyId: fc.integer({ min: 1 }), guid: fc.uuid() })
      .map((p) => `${ORIGIN}/ttd/${p.app}/instances/${p.partyId}/${p.guid}`),
  },
  {
    weight: 8,
    arbitrary: fc
      .record({
        scheme: fc.constantFrom('https://', 'https://', 'https://', 'http://', 'HTTPS://', '//', ''),
        host: fc.constantFrom(
          'ttd.apps.altinn.no',
          'ttd.apps.altinn.no',
          'ttd.apps.altinn.no',
          'TTD.apps.altinn.no',
          'nav.apps.altinn.no',
          'ttd.apps.altinn.no.',
          'ttd.apps.altinn.no:443',
          'u@ttd.apps.altinn.no',
          'ttd.apps.altinn.no@evil.example',
          'ttd.apps.tt02.altinn.no',
        ),
        org: fc.constantFrom('ttd', 'ttd', 'ttd', 'nav', 'TTD', '%74td'),
        app: fc.oneof(fc.constantFrom('app-a', 'app-b', 'app-c', 'App-a', '..', '.', 'app-a%2F'), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), ascii(10)),
        instances: fc.constantFrom('instances', 'instances', 'instances', 'Instances', 'instance'),
        partyId: fc.oneof(fc.nat().map(String), fc.constantFrom('0', '01337', '-1', 'abc', ''), ascii(6)),
        guid: fc.oneof(fc.uuid(), fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), ascii(40), fc.constant('..')),
        suffix: fc.constantFrom('', '', '', '', '/', '?a=1', '#f', '/..', '%2F', '\n', ' '),
      })
      .map((p) => `${p.scheme}${p.host}/${p.org}/${p.app}/${p.instances}/${p.partyId}/${p.guid}${p.suffix}`),
  },
  { weight: 1, arbitrary: fc.webUrl() },
  { weight: 1, arbitrary: fc.string() },
);

/** Each attribute usually valid, sometimes wrong in a way a CloudEvent must not be. */
const usually = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>, odds = 6) =>
  fc.oneof({ weight: odds, arbitrary: good }, { weight: 1, arbitrary: bad });
const attributes = {
  specversion: usually(fc.constant('1.0'), fc.constantFrom('0.3', '1', 1, null), 20),
  id: usually(fc.uuid(), fc.oneof(fc.string({ maxLength: 250 }), fc.integer()), 20),
  type: usually(fc.constantFrom(...TYPES, ...TYPES, VALIDATE_SUBSCRIPTION, 'instance.deleted'), fc.string(), 20),
  source: sourceArb,
  time: usually(
    fc.oneof(fc.date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2099-12-31') }).map((d) => d.toISOString()), fc.constant('2026-11-26T12:00:00.1234567+01:00')),
    fc.oneof(fc.string(), fc.constant(null)),
    20,
  ),
  subject: usually(fc.constant('/party/1337'), fc.oneof(fc.constant(null), fc.integer()), 20),
  data: fc.jsonValue(),
};
/** Usually all required attributes present (so the source and filters get exercised), sometimes any subset. */
const eventArb = fc.oneof(
  { weight: 4, arbitrary: fc.record(attributes, { requiredKeys: ['specversion', 'id', 'type', 'source'] }) },
  { weight: 1, arbitrary: fc.record(attributes, { requiredKeys: [] }) },
);

const bodyArb = fc.oneof(
  { weight: 12, arbitrary: eventArb.map((e) => JSON.stringify(e)) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.tuple(eventArb, fc.nat(2_000)).map(([e, n]) => JSON.stringify({ ...e, data: 'x'.repeat(65_400 + n) })) },
);

const requestArb = fc.record({
  method: usually(fc.constant('POST'), fc.constantFrom('GET', 'PUT', 'post', 'DELETE', 'HEAD')),
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/cloudevents+json; charset=utf-8', 'APPLICATION/JSON;charset=UTF-8') },
    { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/cloudevents-batch+json', '', undefined) },
    { weight: 1, arbitrary: ascii() },
  ),
  contentLength: usually(fc.constantFrom('exact', 'none'), fc.constantFrom('garbage', 'huge', 'small')),
  body: bodyArb,
});
type GeneratedRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

function toRequest(r: GeneratedRequest) {
  const bytes = typeof r.body === 'string' ? new TextEncoder().encode(r.body) : r.body;
  const headers = new Headers();
  if (r.contentType !== undefined) headers.set('content-type', r.contentType);
  const length = { exact: String(bytes.byteLength), garbage: 'x1', huge: '9999999', small: '1', none: undefined }[r.contentLength];
  if (length !== undefined) headers.set('content-length', length);
  return { method: r.method, headers, body: new Blob([bytes]).stream() };
}

/** The one thing an enqueue may come from: a POSTed event whose source is exactly our canonical instance URL. */
function assertLegitimate(r: GeneratedRequest, message: unknown) {
  const m = eventsMessageSchema.parse(message);
  const event = JSON.parse(r.body as string) as Record<string, unknown>;
  expect(r.method).toBe('POST');
  expect(m.org).toBe('ttd');
  expect(APPS).toContain(m.app);
  expect(TYPES).toContain(m.eventType);
  expect([m.eventType, m.eventId, m.reason]).toEqual([event.type, event.id, 'event']);
  expect(`${ORIGIN}/${m.org}/${m.app}/instances/${m.partyId}/${m.instanceGuid}`).toBe(event.source);
}

describe('webhook property: generated bodies and headers (real Azurite queue)', () => {
  it(`never answers 5xx, never enqueues anything invalid, always explains a rejection (${RUNS} runs)`, async () => {
    const real = createQueueSender(storageClients().queue);
    let sent: unknown[] = [];
    const recording: QueueSender = { ...real, send: (queue, message, options) => (sent.push(message), real.send(queue, message, options)) };
    const { deps, queue } = webhookDeps({ ALTINN_ENV: 'production', ALTINN_APPS: APPS.join(','), ALTINN_EVENT_TYPES: TYPES.join(',') }, recording);
    const statuses = new Map<string, number>();
    let enqueued = 0;

    await fc.assert(
      fc.asyncProperty(requestArb, async (r) => {
        sent = [];
        const res = await receiveEvent(toRequest(r), deps);
        expect(res.status).toBeLessThan(500);
        const decision = res.headers[DECISION_HEADER];
        if (res.status === 200) {
          expect(['enqueued', 'validation', 'ignored-type', 'ignored-app']).toContain(decision);
          expect(res.body).toBeUndefined();
        } else {
          expect(res.headers['content-type']).toBe('application/problem+json');
          expect(JSON.parse(res.body ?? '')).toEqual({ type: expect.stringMatching(/^urn:altinn-receiver:problem:[a-z-]+$/) as unknown, title: expect.any(String) as unknown, status: res.status, detail: expect.stringMatching(/\S/) as unknown });
        }
        const key = res.status === 200 ? String(decision) : String(res.status);
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        expect(sent).toHaveLength(decision === 'enqueued' ? 1 : 0);
        if (sent.length === 1) {
          assertLegitimate(r, sent[0]);
          enqueued++;
        }
      }),
      { numRuns: RUNS },
    );

    // The generator really reached every answer, so the properties above were exercised, not vacuous.
    for (const key of ['enqueued', 'validation', 'ignored-type', 'ignored-app', '400', '403', '405', '413', '415']) {
      expect({ key, seen: (statuses.get(key) ?? 0) > 0 }).toEqual({ key, seen: true });
    }
    // And what reached the real queue is exactly what was enqueued, all of it valid by the contract.
    const queued = await queuedMessages(queue);
    expect(queued).toHaveLength(enqueued);
    console.log('webhook property: answers', Object.fromEntries(statuses));
  }, 180_000);
});
