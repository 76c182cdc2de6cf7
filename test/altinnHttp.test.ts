import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { createAltinnHttp, type AltinnHttp } from '../lib/altinn/http.js';
import { ReceiverError } from '../lib/errors.js';
import { providerFor, secretWatch } from './support/authHarness.js';
import { fakeClock } from './support/clock.js';

const clock = fakeClock();
const watch = secretWatch();
let sim: Simulator;
let http: AltinnHttp;
let instanceUrl: string;
let guid: string;
let elementId: string;

/** Requests to a simulator route, in order. */
const hits = (route: string) => sim.requests.filter((r) => r.route === route);

async function failure(p: Promise<unknown>): Promise<ReceiverError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  watch.error(e);
  expect(e).toBeInstanceOf(ReceiverError);
  return e as ReceiverError;
}

beforeAll(async () => {
  sim = await startSimulator({ now: () => clock.now() });
  const client = await sim.newClient();
  http = createAltinnHttp({ tokens: providerFor(sim, client, clock, watch), fetch: watch.fetch, log: watch.log, clock });
  const doc = await sim.seedInstance({ app: 'auth-app', elements: [{ dataType: 'attachment', contentType: 'application/pdf', size: 200_000 }] });
  const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
  guid = instanceGuid;
  elementId = doc.data[0]!.id;
  instanceUrl = `${sim.appsUrl}/ttd/auth-app/instances/${partyId}/${guid}`;
});
afterAll(async () => {
  await sim.stop();
});

describe('altinnHttp', () => {
  it('adds the Altinn token and hands back a 2xx response unread, for streaming', async () => {
    const res = await http.request(`${instanceUrl}/data/${elementId}`, { instanceId: guid });
    expect(res.status).toBe(200);
    expect(res.bodyUsed).toBe(false);
    const hash = createHash('sha256');
    await pipeline(Readable.fromWeb(res.body!), hash);
    expect(hash.digest('hex')).toBe(await sim.elementSha256(guid, elementId));
    expect(hits('apps.data').at(-1)).toMatchObject({ hasAuth: true, status: 200 });
  });

  it('after a 401 drops the token and retries once with a new one', async () => {
    await http.request(instanceUrl); // a cached token to start from
    const grants = hits('maskinporten.token').length;
    sim.faults.add({ route: 'apps.instance', status: 401 });
    const res = await http.request(instanceUrl, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toContain(guid);
    expect(hits('maskinporten.token').length - grants).toBe(1);
    expect(hits('apps.instance').slice(-2).map((r) => r.status)).toEqual([401, 200]);
  });

  it('a second 401 is final: altinn-http-401, not retryable, one new token only', async () => {
    const grants = hits('maskinporten.token').length;
    sim.faults.add({ route: 'apps.instance', status: [401, 401] });
    const e = await failure(http.request(instanceUrl, { instanceId: guid }));
    expect(e).toMatchObject({ code: 'altinn-http-401', status: 401, retryable: false, instanceId: guid });
    expect(hits('maskinporten.token').length - grants).toBe(1);
  });

  it('5xx and 429 are retryable and carry Retry-After; the message names method, path and status', async () => {
    sim.faults.add({ route: 'apps.complete', status: 503, retryAfter: 7 });
    const e = await failure(http.request(`${instanceUrl}/complete`, { method: 'POST', instanceId: guid }));
    expect(e).toMatchObject({ code: 'altinn-http-503', status: 503, retryable: true, retryAfterSeconds: 7, instanceId: guid });
    expect(e.message).toContain(`503 to POST /ttd/auth-app/instances/`);

    sim.faults.add({ route: 'apps.instance', status: 429, retryAfter: new Date(clock.now() + 30_000).toUTCString() });
    expect(await failure(http.request(instanceUrl))).toMatchObject({ code: 'altinn-http-429', retryable: true, retryAfterSeconds: 30 });
  });

  it('404 and 403 are permanent and say what Altinn said', async () => {
    const missing = instanceUrl.replace(guid, '00000000-0000-4000-8000-000000000000');
    expect(await failure(http.request(missing))).toMatchObject({ code: 'altinn-http-404', status: 404, retryable: false });

    const readOnly = await sim.newClient({ scopes: ['altinn:serviceowner/instances.read'] });
    const narrow = createAltinnHttp({ tokens: providerFor(sim, readOnly, clock, watch), fetch: watch.fetch, log: watch.log, clock });
    const e = await failure(narrow.request(`${instanceUrl}/complete`, { method: 'POST' }));
    expect(e).toMatchObject({ code: 'altinn-http-403', retryable: false });
    expect(e.message).toMatch(/lacks the scope altinn:serviceowner\/instances\.write/);
  });

  it('an unreachable host is a retryable altinn-unreachable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const e = await failure(http.request(`http://127.0.0.1:${port}/ttd/auth-app/instances/1/${guid}`, { instanceId: guid }));
    expect(e).toMatchObject({ code: 'altinn-unreachable', retryable: true, instanceId: guid });
    expect(e.message).toMatch(/ECONNREFUSED/);
  });

  it('a server that never answers, or stalls mid-body, fails with a retryable altinn-timeout instead of hanging', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (req) => {
        // /silent: never answer. /stall: headers and 1,000 of 10,000 bytes, then nothing.
        if (req.toString().startsWith('GET /stall')) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10000\r\n\r\n' + 'x'.repeat(1000));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await sim.newClient();
    const quick = createAltinnHttp({ tokens: providerFor(sim, client, clock, watch), log: watch.log, clock, timeouts: { headersMs: 300, idleBodyMs: 300, bodyBaseMs: 60_000, bodyMsPerMiB: 0 } });
    try {
      const silent = await failure(quick.request(`http://127.0.0.1:${port}/silent`, { instanceId: guid }));
      expect(silent).toMatchObject({ code: 'altinn-unreachable', retryable: true, instanceId: guid });
      expect(String((silent.cause as Error).cause ?? silent.cause)).toMatch(/altinn-timeout|no response headers/);
      const res = await quick.request(`http://127.0.0.1:${port}/stall`, { instanceId: guid });
      const read = await res.arrayBuffer().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(read).toMatchObject({ code: 'altinn-timeout', retryable: true });
      expect(String((read as Error).message)).toMatch(/no body bytes for 300 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a body that trickles (never idle, never done) fails at its total limit, which grows with the declared size', async () => {
    const timers = new Set<NodeJS.Timeout>();
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n');
        const t = setInterval(() => socket.write('x'), 50);
        timers.add(t);
        socket.once('close', () => clearInterval(t));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = await sim.newClient();
    // 400 ms plus 1 s per MiB: the declared 1 MiB gets 1.4 s, still far less than the trickle needs (100,000 x 50 ms).
    const bounded = createAltinnHttp({ tokens: providerFor(sim, client, clock, watch), log: watch.log, clock, timeouts: { headersMs: 5_000, idleBodyMs: 5_000, bodyBaseMs: 400, bodyMsPerMiB: 1_000 } });
    try {
      for (const expectedBytes of [undefined, 1024 * 1024]) {
        const res = await bounded.request(`http://127.0.0.1:${port}/trickle`, { instanceId: guid, expectedBytes });
        const read = await res.arrayBuffer().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(read).toMatchObject({ code: 'altinn-timeout', retryable: true });
        expect(String((read as Error).message)).toContain(`body not finished within ${expectedBytes ? 1_400 : 400} ms`);
      }
    } finally {
      for (const t of timers) clearInterval(t);
      for (const so of sockets) so.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("the caller's abort passes through as an abort, not as a retryable error", async () => {
    sim.faults.add({ route: 'apps.instance', latencyMs: 5_000 });
    const controller = new AbortController();
    const pending = http.request(instanceUrl, { signal: controller.signal });
    controller.abort();
    const e = await pending.then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(e?.name).toBe('AbortError');
    expect(e).not.toBeInstanceOf(ReceiverError);
  });

  it('no private key, assertion or token appears in any log line or error message', () => {
    expect(watch.secretCount()).toBeGreaterThan(5);
    expect(watch.log.lines.some((l) => l.includes('401'))).toBe(true);
    expect(watch.leaks()).toEqual([]);
  });
});
