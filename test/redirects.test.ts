import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAltinnHttp } from '../lib/altinn/http.js';
import { exchangeForAltinnToken } from '../lib/auth/exchange.js';
import { requestMaskinportenToken } from '../lib/auth/maskinporten.js';
import { ReceiverError } from '../lib/errors.js';
import { memoryLogger } from './support/log.js';

/**
 * #27.3 tokens stay home, over real sockets: "home" answers every request with a redirect to "elsewhere",
 * a second loopback server that counts what reaches it. Nothing may: not the grant, not a token.
 */
interface Counting {
  server: Server;
  origin: string;
  requests: { method?: string; url?: string; authorization?: string; body: string }[];
}

async function listen(handler: (c: Counting) => Parameters<typeof createServer>[1]): Promise<Counting> {
  const c = { requests: [] } as unknown as Counting;
  c.server = createServer(handler(c));
  await new Promise<void>((r) => c.server.listen(0, '127.0.0.1', r));
  c.origin = `http://127.0.0.1:${(c.server.address() as AddressInfo).port}`;
  return c;
}

let elsewhere: Counting;
let home: Counting;
let status = 307;

beforeAll(async () => {
  elsewhere = await listen((c) => (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      c.requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"stolen","expires_in":120}');
    });
  });
  home = await listen((c) => (req, res) => {
    c.requests.push({ method: req.method, url: req.url, body: '' });
    req.resume();
    res.writeHead(status, { location: `${elsewhere.origin}/steal?where=${encodeURIComponent(req.url ?? '')}` }).end();
  });
});
afterAll(async () => {
  await new Promise((r) => elsewhere.server.close(r));
  await new Promise((r) => home.server.close(r));
});
beforeEach(() => {
  elsewhere.requests.length = 0;
  home.requests.length = 0;
});

async function refusal(work: Promise<unknown>): Promise<ReceiverError> {
  const e = await work.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ReceiverError);
  return e as ReceiverError;
}

const tokens = { getToken: () => Promise.resolve('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig'), invalidate: () => {} };

describe.each([301, 302, 303, 307, 308])('a %i redirect', (code) => {
  beforeEach(() => {
    status = code;
  });

  it('from Maskinporten: the grant is not re-sent to the other origin; the error names that host', async () => {
    const e = await refusal(requestMaskinportenToken({ url: home.origin, assertion: 'eyJhbGciOiJSUzI1NiJ9.grant.signature', fetch }));
    expect(e).toMatchObject({ code: 'maskinporten-redirect', retryable: false, status: code });
    expect(e.message).toContain(elsewhere.origin);
    expect(e.message).not.toContain('steal');
    expect(home.requests).toHaveLength(1);
    expect(elsewhere.requests).toEqual([]);
  });

  it('from the token exchange: the Maskinporten token is not re-sent (no retry either)', async () => {
    const e = await refusal(exchangeForAltinnToken({ platformUrl: home.origin, maskinportenToken: 'eyJ.mp.token', fetch, sleep: () => Promise.resolve() }));
    expect(e).toMatchObject({ code: 'altinn-exchange-redirect', retryable: false, status: code });
    expect(e.message).toContain(elsewhere.origin);
    expect(home.requests).toHaveLength(1);
    expect(elsewhere.requests).toEqual([]);
  });

  it('from Altinn Storage: the Altinn token is not re-sent', async () => {
    const http = createAltinnHttp({ tokens, log: memoryLogger() });
    const e = await refusal(http.request(`${home.origin}/storage/api/v1/instances/1/abc`, { method: 'POST', body: 'x', instanceId: '1/abc' }));
    expect(e).toMatchObject({ code: 'altinn-redirect', retryable: false, status: code, instanceId: '1/abc' });
    expect(e.message).toContain(elsewhere.origin);
    expect(elsewhere.requests).toEqual([]);
  });
});

it('a relative or missing Location is refused too, and 304 is not a redirect', async () => {
  status = 307;
  const e = await refusal(requestMaskinportenToken({ url: home.origin, assertion: 'grant', fetch: (u, i) => fetch(u, i).then(() => new Response(null, { status: 302, headers: { location: '/x' } })) }));
  expect(e.message).toContain(home.origin);
  const none = await refusal(requestMaskinportenToken({ url: home.origin, assertion: 'grant', fetch: () => Promise.resolve(new Response(null, { status: 307 })) }));
  expect(none.message).toContain('an unnamed location');
  const notModified = await refusal(requestMaskinportenToken({ url: home.origin, assertion: 'grant', fetch: () => Promise.resolve(new Response(null, { status: 304 })) }));
  expect(notModified.code).toBe('maskinporten-http-304');
});
