import { randomUUID } from 'node:crypto';
import azf from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectionString, startAzuriteService } from '../dev/azurite.js';
import { definition } from '../functions/eventsReceiver.js';
import { MAX_BODY_BYTES } from '../lib/webhook/body.js';
import { DECISION_HEADER } from '../lib/webhook/problem.js';
import { receiveEvent } from '../lib/webhook/receiveEvent.js';
import { serveWebhook } from '../lib/webhook/serveWebhook.js';
import { createRuntime } from '../lib/runtime.js';
import { memoryLogger } from './support/log.js';
import { decodeMessage, eventsMessageSchema } from '../lib/queue/messages.js';
import { createQueueSender } from '../lib/queue/sender.js';
import { QUEUES } from '../lib/queue/names.js';
import { validEnv } from './support/settings.js';
import { azuriteConnectionString, storageClients } from './support/storage.js';
import { JSON_HEADERS, logLines, queuedMessages, request, webhookDeps } from './support/webhook.js';

const ORIGIN = 'https://ttd.apps.altinn.no';
const ENV = { ALTINN_ENV: 'production' };

function event(overrides: Record<string, unknown> = {}) {
  const guid = randomUUID();
  return {
    specversion: '1.0',
    id: randomUUID(),
    type: 'app.instance.process.completed',
    source: `${ORIGIN}/ttd/app-a/instances/1337/${guid}`,
    subject: '/party/1337',
    time: '2026-11-26T11:59:59.1234567+01:00',
    ...overrides,
  };
}

const problemOf = (res: { body?: string }) => JSON.parse(res.body ?? '') as { type: string; title: string; status: number; detail: string };

describe('webhook answers (real Azurite queue)', () => {
  it('enqueues a handled event once, with the contract message and a log line without secrets', async () => {
    const { deps, queue, log } = webhookDeps(ENV);
    const e = event();
    const res = await receiveEvent(request(JSON.stringify(e)), deps);
    expect(res.status).toBe(200);
    expect([res.headers[DECISION_HEADER], res.body]).toEqual(['enqueued', undefined]);
    const [msg, ...rest] = await queuedMessages(queue);
    expect(rest).toEqual([]);
    expect(msg).toEqual({
      org: 'ttd',
      app: 'app-a',
      partyId: '1337',
      instanceGuid: e.source.split('/').at(-1),
      eventId: e.id,
      eventType: e.type,
      reason: 'event',
      enqueuedAt: '2026-11-26T12:00:00.000Z',
    });
    const [line] = logLines(log);
    expect(line).toMatchObject({
      level: 'info',
      msg: 'webhook request',
      method: 'POST',
      status: 200,
      decision: 'enqueued',
      eventId: e.id,
      eventType: e.type,
      app: 'app-a',
      instance: `1337/${msg?.instanceGuid}`,
    });
    expect(log.lines.join()).not.toContain('https://');
  });

  it.each([
    ['application/json', 200],
    ['application/json; charset=utf-8', 200],
    ['Application/JSON;Charset="UTF-8"', 200],
    ['application/cloudevents+json; charset=utf-8', 200],
    ['application/json; charset=iso-8859-1', 200],
    [undefined, 415],
    ['', 415],
    ['text/plain', 415],
    ['application/cloudevents-batch+json', 415],
    ['application/jsonx', 415],
    ['application/x-www-form-urlencoded', 415],
    ['multipart/form-data; boundary=x', 415],
  ] as const)('Content-Type %s → %i', async (contentType, status) => {
    const { deps, queue } = webhookDeps(ENV);
    const res = await receiveEvent(request(JSON.stringify(event()), contentType === undefined ? {} : { 'content-type': contentType }), deps);
    expect(res.status).toBe(status);
    expect(await queuedMessages(queue)).toHaveLength(status === 200 ? 1 : 0);
    if (status === 415) expect(problemOf(res).type).toBe('urn:altinn-receiver:problem:unsupported-media-type');
  });

  it.each(['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'post'])('%s → 405 with Allow: POST', async (method) => {
    const { deps, queue } = webhookDeps(ENV);
    const res = await receiveEvent(request(method === 'GET' || method === 'HEAD' ? null : JSON.stringify(event()), JSON_HEADERS, method), deps);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(problemOf(res)).toMatchObject({ type: 'urn:altinn-receiver:problem:method-not-allowed', status: 405 });
    expect(await queuedMessages(queue)).toEqual([]);
  });

  it.each([
    ['not JSON', '{"specversion":', 'not-json'],
    ['empty body', '', 'not-json'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'not-json'],
    ['JSON null', 'null', 'not-a-cloudevent'],
    ['JSON array (a batch)', JSON.stringify([event()]), 'not-a-cloudevent'],
    ['a string', '"hello"', 'not-a-cloudevent'],
    ['no id', JSON.stringify({ ...event(), id: undefined }), 'not-a-cloudevent'],
    ['empty id', JSON.stringify(event({ id: '' })), 'not-a-cloudevent'],
    ['id over 200 characters', JSON.stringify(event({ id: 'x'.repeat(201) })), 'not-a-cloudevent'],
    ['no type', JSON.stringify({ ...event(), type: undefined }), 'not-a-cloudevent'],
    ['no source', JSON.stringify({ ...event(), source: undefined }), 'not-a-cloudevent'],
    ['source not a string', JSON.stringify(event({ source: 42 })), 'not-a-cloudevent'],
    ['specversion 0.3', JSON.stringify(event({ specversion: '0.3' })), 'not-a-cloudevent'],
    ['specversion as a number', JSON.stringify(event({ specversion: 1.0 })), 'not-a-cloudevent'],
    ['time not RFC 3339', JSON.stringify(event({ time: '26.11.2026 12:00' })), 'not-a-cloudevent'],
    ['subject not a string', JSON.stringify(event({ subject: 1337 })), 'not-a-cloudevent'],
  ] as const)('%s → 400', async (_name, body, code) => {
    const { deps, queue } = webhookDeps(ENV);
    const res = await receiveEvent(request(body), deps);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const p = problemOf(res);
    expect(p).toMatchObject({ type: `urn:altinn-receiver:problem:${code}`, status: 400 });
    expect(p.detail.length).toBeGreaterThan(5);
    expect(await queuedMessages(queue)).toEqual([]);
  });

  it('names the broken attributes in the 400 detail', async () => {
    const { deps } = webhookDeps(ENV);
    const res = await receiveEvent(request(JSON.stringify({ ...event({ specversion: '0.3' }), id: undefined })), deps);
    expect(problemOf(res).detail).toBe('specversion: specversion must be "1.0"; id: id must be a string');
  });

  it('accepts null optional attributes, 7-digit fractions, offsets and unknown extensions', async () => {
    const { deps, queue } = webhookDeps(ENV);
    const body = event({ subject: null, time: '2026-11-26T12:00:00.1234567-05:30', resource: 'urn:altinn:resource:app_ttd_app-a', data: { x: 1 } });
    expect((await receiveEvent(request(JSON.stringify(body)), deps)).status).toBe(200);
    expect(await queuedMessages(queue)).toHaveLength(1);
  });

  it('answers 200 without enqueueing for a type or an app not handled', async () => {
    const { deps, queue, log } = webhookDeps({ ...ENV, ALTINN_APPS: 'app-a,app-b' });
    const otherType = await receiveEvent(request(JSON.stringify(event({ type: 'app.instance.created' }))), deps);
    const otherApp = await receiveEvent(request(JSON.stringify(event({ source: `${ORIGIN}/ttd/app-c/instances/1/${randomUUID()}` }))), deps);
    expect([otherType.status, otherApp.status]).toEqual([200, 200]);
    expect(logLines(log).map((l) => l.decision)).toEqual(['ignored-type', 'ignored-app']);
    expect(await queuedMessages(queue)).toEqual([]);
  });

  it('answers 200 to the subscription validation event without enqueueing', async () => {
    const { deps, queue } = webhookDeps(ENV);
    const body = { id: randomUUID(), source: 'https://platform.altinn.no/events/api/v1/subscriptions/1', type: 'platform.events.validatesubscription', specversion: '1.0' };
    const res = await receiveEvent(request(JSON.stringify(body)), deps);
    expect([res.status, res.headers[DECISION_HEADER]]).toEqual([200, 'validation']);
    expect(await queuedMessages(queue)).toEqual([]);
  });
});

describe('body limit (64 KiB)', () => {
  /** A valid event padded with `data` to exactly `size` bytes. */
  const padded = (size: number) => {
    const base = JSON.stringify({ ...event(), data: '' });
    return base.replace('"data":""', `"data":"${'x'.repeat(size - base.length)}"`);
  };

  it('accepts exactly 64 KiB and refuses one byte more', async () => {
    const { deps, queue } = webhookDeps(ENV);
    expect(padded(MAX_BODY_BYTES)).toHaveLength(MAX_BODY_BYTES);
    expect((await receiveEvent(request(padded(MAX_BODY_BYTES)), deps)).status).toBe(200);
    const over = await receiveEvent(request(padded(MAX_BODY_BYTES + 1)), deps);
    expect(over.status).toBe(413);
    expect(problemOf(over).type).toBe('urn:altinn-receiver:problem:body-too-large');
    expect(await queuedMessages(queue)).toHaveLength(1);
  });

  /** An endless body that counts what was pulled from it and whether it was cancelled. */
  function endless() {
    const seen = { bytes: 0, cancelled: false };
    const chunk = new Uint8Array(1024).fill(0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        seen.bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        seen.cancelled = true;
      },
    });
    return { body, seen };
  }

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    const { deps } = webhookDeps(ENV);
    const { body, seen } = endless();
    const res = await receiveEvent({ method: 'POST', headers: new Headers({ ...JSON_HEADERS, 'content-length': '65537' }), body }, deps);
    expect(res.status).toBe(413);
    expect(seen.bytes).toBeLessThanOrEqual(1024); // at most the stream's own first pull
  });

  it('stops reading an undeclared body as soon as it passes the limit', async () => {
    const { deps } = webhookDeps(ENV);
    const { body, seen } = endless();
    const res = await receiveEvent({ method: 'POST', headers: new Headers(JSON_HEADERS), body }, deps);
    expect(res.status).toBe(413);
    expect(seen.cancelled).toBe(true);
    expect(seen.bytes).toBeLessThanOrEqual(MAX_BODY_BYTES + 4 * 1024);
  });

  it.each(['abc', '-1', '1e5', '12 34'])('refuses Content-Length %j with 400', async (value) => {
    const { deps } = webhookDeps(ENV);
    const res = await receiveEvent(request(JSON.stringify(event()), { ...JSON_HEADERS, 'content-length': value }), deps);
    expect(res.status).toBe(400);
    expect(problemOf(res).type).toBe('urn:altinn-receiver:problem:bad-content-length');
  });
});

describe('queue unavailable', () => {
  const started: { stop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('answers 503 while the queue service is down; once it is back the same event is enqueued once', async () => {
    const first = await startAzuriteService('queue');
    started.push(first);
    const cs = connectionString(inject('azurite').blobPort, first.port);
    const { deps, log, queueName } = webhookDeps(ENV, createQueueSender(QueueServiceClient.fromConnectionString(cs)));
    const queue = QueueServiceClient.fromConnectionString(cs).getQueueClient(queueName);

    // Queue created and remembered by the sender while the service is up.
    expect((await receiveEvent(request(JSON.stringify(event())), deps)).status).toBe(200);

    await first.stop();
    const e = JSON.stringify(event());
    const down = await receiveEvent(request(e), { ...deps, queueTimeoutMs: 1_500 });
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('60');
    expect(problemOf(down)).toMatchObject({ type: 'urn:altinn-receiver:problem:queue-unavailable', status: 503 });
    expect(logLines(log).at(-1)).toMatchObject({ level: 'error', decision: 'unavailable', status: 503 });

    // Same port, fresh in-memory service: the queue the sender remembered is gone and must be recreated.
    const second = await startAzuriteService('queue', first.port);
    started.push(second);
    const up = await receiveEvent(request(e), deps);
    expect(up.status).toBe(200);
    const queued = await queuedMessages(queue);
    expect(queued.map((m) => m.eventId)).toEqual([(JSON.parse(e) as { id: string }).id]);
  });
});

describe('function wiring', () => {
  it('registers POST /api/events with a function key and every method routed to our 405', () => {
    expect(definition.options.route).toBe('events');
    expect(definition.options.authLevel).toBe('function');
    expect(definition.options.methods).toEqual(expect.arrayContaining(['POST', 'GET', 'PUT', 'DELETE']));
  });

  it('answers 503 (Altinn retries) when its own settings are invalid, naming only those', async () => {
    const log = memoryLogger();
    const res = await serveWebhook(request(JSON.stringify(event())), () => createRuntime({}), log);
    expect(res.status).toBe(503);
    expect(problemOf(res).type).toBe('urn:altinn-receiver:problem:not-configured');
    expect(logLines(log)[0]).toMatchObject({ status: 503, settings: ['ALTINN_ORG', 'AzureWebJobsStorage'] });
  });

  it.each([
    ['a broken key', { MASKINPORTEN_KEY: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----' }],
    ['a certificate that is none', { MASKINPORTEN_KID: undefined, MASKINPORTEN_CERTIFICATE: 'garbage' }],
    ['no client id', { MASKINPORTEN_CLIENT_ID: undefined }],
  ])('keeps queueing with %s: the webhook never needs Maskinporten', async (_name, broken) => {
    const log = memoryLogger();
    const e = event();
    const rt = createRuntime(validEnv({ ...ENV, AzureWebJobsStorage: azuriteConnectionString(), ...broken }));
    const res = await serveWebhook(request(JSON.stringify(e)), () => rt, log);
    expect(res.status).toBe(200);
    const peeked = await storageClients().queue.getQueueClient(QUEUES.events).peekMessages({ numberOfMessages: 32 });
    expect(peeked.peekedMessageItems.map((m) => decodeMessage(eventsMessageSchema, m.messageText)).filter((d) => d.ok && d.value.eventId === e.id)).toHaveLength(1);
  });

  it('logs hostile event fields (PEM header, JWT, CR/LF) as valid JSON lines that keep every audit field', async () => {
    const { deps, log } = webhookDeps(ENV);
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZw';
    const e = event({ id: '-----BEGIN A-----\r\n{"forged":true}', type: `app.instance.process.completed\r\n${jwt}` });
    const res = await receiveEvent(request(JSON.stringify(e)), deps);
    expect(res.status).toBe(200);
    const lines = logLines(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'webhook request', status: 200, decision: 'ignored-type', eventId: '[redacted-pem]', app: 'app-a', method: 'POST' });
    expect(lines[0]?.eventType).toBe('app.instance.process.completed\r\n[redacted-jwt]');
    expect(log.lines.join('\n')).not.toContain(jwt);
  });

  it('runs the registered handler against the process runtime and the contract queue', async () => {
    Object.assign(process.env, validEnv({ AzureWebJobsStorage: azuriteConnectionString(), ALTINN_ENV: 'production' }));
    const lines: string[] = [];
    // Lines go through the invocation context (Function.eventsReceiver.User in Azure), not the console.
    const context = new azf.InvocationContext({ functionName: 'eventsReceiver', logHandler: (_level, ...args) => void lines.push(String(args[0])) });
    const e = event();
    const req = new azf.HttpRequest({
      method: 'POST',
      url: 'http://localhost:7071/api/events?code=secret-function-key-123',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: { string: JSON.stringify(e) },
    });
    const res = await definition.options.handler(req, context);
    expect(res).toMatchObject({ status: 200 });
    expect(lines.join('\n')).toContain(e.id);
    expect(lines.join('\n')).not.toContain('secret-function-key');
    const peeked = await storageClients().queue.getQueueClient(QUEUES.events).peekMessages({ numberOfMessages: 32 });
    const mine = peeked.peekedMessageItems
      .map((m) => decodeMessage(eventsMessageSchema, m.messageText))
      .filter((d) => d.ok && d.value.eventId === e.id);
    expect(mine).toHaveLength(1);
  });
});
