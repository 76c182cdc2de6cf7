import { describe, expect, it } from 'vitest';
import { parseInstanceSource } from '../lib/webhook/source.js';
import { receiveEvent } from '../lib/webhook/receiveEvent.js';
import { queuedMessages, request, webhookDeps } from './support/webhook.js';

const ORIGIN = 'https://ttd.apps.altinn.no';
const GUID = 'bd9edd59-b18c-4726-aa9e-6b150eade814';
const PATH = `/ttd/app-a/instances/1337/${GUID}`;
const VALID = `${ORIGIN}${PATH}`;
const rules = { appsOrigin: ORIGIN, org: 'ttd' };

/** Forged or malformed sources: each must be refused (403) before anything is queued. */
const FORGED: [string, string][] = [
  ['other host', `https://evil.example${PATH}`],
  ['other org in host', `https://nav.apps.altinn.no${PATH}`],
  ['other org in path', `${ORIGIN}/nav/app-a/instances/1337/${GUID}`],
  ['other org in host and path', `https://nav.apps.altinn.no/nav/app-a/instances/1337/${GUID}`],
  ['other environment', `https://ttd.apps.tt02.altinn.no${PATH}`],
  ['host prefix', `https://evil.ttd.apps.altinn.no${PATH}`],
  ['host suffix', `https://ttd.apps.altinn.no.evil.example${PATH}`],
  ['userinfo before the real host', `https://ttd.apps.altinn.no@evil.example${PATH}`],
  ['userinfo with password', `https://user:pw@ttd.apps.altinn.no${PATH}`],
  ['http scheme', `http://ttd.apps.altinn.no${PATH}`],
  ['explicit default port', `https://ttd.apps.altinn.no:443${PATH}`],
  ['explicit other port', `https://ttd.apps.altinn.no:8443${PATH}`],
  ['trailing-dot host', `https://ttd.apps.altinn.no.${PATH}`],
  ['IPv4 literal', `https://10.0.0.1${PATH}`],
  ['IPv6 literal', `https://[::1]${PATH}`],
  ['punycode look-alike', `https://ttd.apps.xn--ltinn-2ua.no${PATH}`],
  ['unicode look-alike (Cyrillic a)', `https://ttd.apps.\u0430ltinn.no${PATH}`],
  ['full-width host', `https://\uff54\uff54\uff44.apps.altinn.no${PATH}`],
  ['upper-case scheme', `HTTPS://ttd.apps.altinn.no${PATH}`],
  ['upper-case host', `https://TTD.apps.altinn.no${PATH}`],
  ['upper-case org in path', `${ORIGIN}/TTD/app-a/instances/1337/${GUID}`],
  ['upper-case app', `${ORIGIN}/ttd/App-A/instances/1337/${GUID}`],
  ['upper-case "instances"', `${ORIGIN}/ttd/app-a/Instances/1337/${GUID}`],
  ['upper-case GUID', `${ORIGIN}/ttd/app-a/instances/1337/${GUID.toUpperCase()}`],
  ['percent-encoded slash', `${ORIGIN}/ttd/app-a%2Finstances/1337/${GUID}`],
  ['percent-encoded dots', `${ORIGIN}/ttd/%2e%2e/ttd/app-a/instances/1337/${GUID}`],
  ['percent-encoded letter', `${ORIGIN}/%74td/app-a/instances/1337/${GUID}`],
  ['percent-encoded NUL', `${ORIGIN}/ttd/app-a/instances/1337/${GUID}%00`],
  ['".." segment', `${ORIGIN}/ttd/x/../app-a/instances/1337/${GUID}`],
  ['".." in place of the app', `${ORIGIN}/ttd/../instances/1337/${GUID}`],
  ['"." segment', `${ORIGIN}/ttd/./app-a/instances/1337/${GUID}`],
  ['backslash separator', `${ORIGIN}/ttd\\app-a/instances/1337/${GUID}`],
  ['extra segment (data element)', `${VALID}/data/8a8a01ae-9533-4aa9-b914-8ab0fae6ea0d`],
  ['trailing slash', `${VALID}/`],
  ['double slash', `${ORIGIN}//ttd/app-a/instances/1337/${GUID}`],
  ['missing instance id', `${ORIGIN}/ttd/app-a/instances/1337`],
  ['missing "instances"', `${ORIGIN}/ttd/app-a/1337/${GUID}`],
  ['app URL only', `${ORIGIN}/ttd/app-a`],
  ['query string', `${VALID}?x=1`],
  ['empty query', `${VALID}?`],
  ['fragment', `${VALID}#frag`],
  ['non-GUID instance id', `${ORIGIN}/ttd/app-a/instances/1337/not-a-guid`],
  ['GUID without dashes', `${ORIGIN}/ttd/app-a/instances/1337/${GUID.replaceAll('-', '')}`],
  ['GUID in braces', `${ORIGIN}/ttd/app-a/instances/1337/{${GUID}}`],
  ['non-digit party id', `${ORIGIN}/ttd/app-a/instances/abc/${GUID}`],
  ['negative party id', `${ORIGIN}/ttd/app-a/instances/-1337/${GUID}`],
  ['party id with leading zero', `${ORIGIN}/ttd/app-a/instances/01337/${GUID}`],
  ['party id with plus sign', `${ORIGIN}/ttd/app-a/instances/+1337/${GUID}`],
  ['leading space', ` ${VALID}`],
  ['trailing newline', `${VALID}\n`],
  ['single slash after scheme', `https:/ttd.apps.altinn.no${PATH}`],
  ['scheme-relative', `//ttd.apps.altinn.no${PATH}`],
  ['relative path', PATH],
  ['urn source', 'urn:altinn:systemx'],
  ['empty source', ''],
];

describe('event source parsing', () => {
  it('accepts the canonical instance URL and returns only its parts', () => {
    expect(parseInstanceSource(VALID, rules)).toEqual({ ok: true, ref: { org: 'ttd', app: 'app-a', partyId: '1337', instanceGuid: GUID } });
  });

  it('accepts a loopback apps origin with a port (ALTINN_ENV=custom)', () => {
    const local = { appsOrigin: 'http://127.0.0.1:5123', org: 'ttd' };
    expect(parseInstanceSource(`http://127.0.0.1:5123${PATH}`, local).ok).toBe(true);
    expect(parseInstanceSource(`http://127.0.0.1:5124${PATH}`, local).ok).toBe(false);
    expect(parseInstanceSource(`http://localhost:5123${PATH}`, local).ok).toBe(false);
  });

  it('has at least 30 forged sources, all distinct', () => {
    expect(FORGED.length).toBeGreaterThanOrEqual(30);
    expect(new Set(FORGED.map(([, s]) => s)).size).toBe(FORGED.length);
  });

  it.each(FORGED)('refuses %s', (_name, source) => {
    const result = parseInstanceSource(source, rules);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/^source /);
  });
});

describe('POST /api/events with a forged source (real Azurite queue)', () => {
  it('answers 403 with a problem body for every forged source and queues nothing', async () => {
    const { deps, queue } = webhookDeps({ ALTINN_ENV: 'production' });
    const event = { specversion: '1.0', id: 'e1', type: 'app.instance.process.completed', source: VALID };
    // The same event with the genuine source is accepted: the 403s below are the source's doing.
    const control = await receiveEvent(request(JSON.stringify(event)), deps);
    expect(control.status).toBe(200);
    expect(await queuedMessages(queue)).toHaveLength(1);

    for (const [name, source] of FORGED) {
      const res = await receiveEvent(request(JSON.stringify({ ...event, source })), deps);
      expect({ name, status: res.status, type: res.headers['content-type'] }).toEqual({
        name,
        status: 403,
        type: 'application/problem+json',
      });
      const body = JSON.parse(res.body ?? '') as Record<string, unknown>;
      expect(body).toMatchObject({ type: 'urn:altinn-receiver:problem:forbidden-source', status: 403 });
      expect(body.detail).toMatch(/^source /);
    }
    expect(await queuedMessages(queue)).toEqual([]);
  });
});
