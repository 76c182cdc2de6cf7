import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReceiverError } from '../lib/errors.js';
import { isIdentityNumber, redact } from '../lib/redact.js';
import { memoryLogger } from './support/log.js';

/**
 * #27.5 redaction is complete for the shapes a log line could one day hold: generated secrets and national
 * identity numbers, placed in JSON, URLs (query and fragment), forms, headers (text and objects), a SAS
 * whose `sig` comes first, and error messages and causes, nested in objects and arrays. None may reach a line.
 */
const RUNS = 300;

/** A secret: base64/base64url characters, with a marker no ordinary text contains. */
const secret = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-'), minLength: 12, maxLength: 40 }).map((s) => `Zq${s}`);

/** A valid fødselsnummer (both mod-11 check digits), from nine digits. */
const K1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const check = (d: number[], w: number[]) => (11 - (w.reduce((s, x, i) => s + x * d[i]!, 0) % 11)) % 11;
const identityNumber = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
  .map((d) => [...d, check(d, K1)])
  .filter((d) => d[9] !== 10)
  .map((d) => [...d, check(d, K2)])
  .filter((d) => d[10] !== 10)
  .map((d) => d.join(''));

/** A text holding secrets; with `key`, a bare secret that only its field name marks. */
type Placed = { text: string; secrets: string[]; key?: string };
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Every way a secret was seen to slip through (#27.5), and the older ones. */
const placements: ((t: string) => Placed)[] = [
  (t) => ({ text: `{"access_token":"${t}","token_type":"Bearer","expires_in":120}`, secrets: [t] }),
  (t) => ({ text: JSON.stringify({ body: `{"refresh_token":"${t}"}` }), secrets: [t] }),
  (t) => ({ text: `https://app.example/callback#access_token=${t}&state=xyz`, secrets: [t] }),
  (t) => ({ text: `grant_type=refresh_token&refresh_token=${t}&client_id=abc`, secrets: [t] }),
  (t) => ({ text: `POST /api/events x-functions-key: ${t}`, secrets: [t] }),
  (t) => ({ text: `Authorization: Basic ${b64(`client:${t}`)}`, secrets: [b64(`client:${t}`)] }),
  (t) => ({ text: `headers {"authorization":"Basic ${b64(t)}"}`, secrets: [b64(t)] }),
  (t) => ({ text: `authorization: Bearer ${t}`, secrets: [t] }),
  (t) => ({ text: `sig=${t}&se=2026-12-31T00%3A00%3A00Z&sp=r&sv=2022-11-02`, secrets: [t] }),
  (t) => ({ text: `BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sig=${t}&sv=2022-11-02`, secrets: [t] }),
  (t) => ({ text: `https://a.blob.core.windows.net/c/b?sv=2022&sig=${t}`, secrets: [t] }),
  (t) => ({ text: `https://receiver.example/api/events?code=${t}`, secrets: [t] }),
  (t) => ({ text: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${t};`, secrets: [t] }),
];
const identityPlacements: ((n: string) => string)[] = [
  (n) => `instanceOwner personNumber ${n}`,
  (n) => `{"personNumber":"${n}","partyId":"50001337"}`,
  (n) => `https://platform.example/register/api/v1/persons?ssn=${n}`,
  (n) => `x-ai-person: ${n.slice(0, 6)} ${n.slice(6)}`,
];

const placed: fc.Arbitrary<Placed> = fc.oneof(
  fc.tuple(fc.constantFrom(...placements), secret).map(([p, t]) => p(t)),
  fc.tuple(fc.constantFrom(...identityPlacements), identityNumber).map(([p, n]) => ({ text: p(n), secrets: [n, `${n.slice(0, 6)} ${n.slice(6)}`] })),
  // Secrets that are field values under a secret name: a headers object, a parsed token response.
  fc.tuple(fc.constantFrom('x-functions-key', 'Authorization', 'access_token', 'refresh_token', 'password', 'sig'), secret).map(([k, t]) => ({ text: t, secrets: [t], key: k })),
);

/** A value holding the placed texts somewhere: nested objects, arrays, Errors and their causes. */
function nest(items: Placed[], shape: number[]): unknown {
  let value: unknown = { note: 'ordinary text 1337/6e3c, 3 elements' };
  items.forEach((item, i) => {
    const wrap = shape[i % shape.length]!;
    const field = item.key ?? `f${i}`;
    const inMessage = item.key ? '' : item.text;
    if (wrap === 0) value = { [field]: item.text, inner: value };
    else if (wrap === 1) value = [value, { headers: { [field]: item.text } }];
    else if (wrap === 2) value = new Error(`boom-${i}: ${inMessage}`, { cause: value });
    else value = new ReceiverError(`failed-${i} ${inMessage}`, { code: 'altinn-http-500', retryable: true, cause: value });
    if (wrap >= 2 && item.key) value = { [field]: item.text, error: value };
  });
  return value;
}

describe('redaction (fast-check)', () => {
  it('no generated secret or identity number reaches a log line, however nested; the line stays JSON and keeps error messages', () => {
    fc.assert(
      fc.property(fc.array(placed, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }), (items, shape) => {
        const log = memoryLogger();
        log.error('request failed', { detail: nest(items, shape), url: items[0]!.key ? undefined : items[0]!.text });
        const line = log.lines[0]!;
        for (const s of items.flatMap((i) => i.secrets)) expect(line).not.toContain(s);
        expect(() => JSON.parse(line) as unknown).not.toThrow();
        if (shape.slice(0, items.length).includes(2)) expect(line).toMatch(/"message":"boom-\d/);
      }),
      { numRuns: RUNS },
    );
  });

  it('redact() alone removes each placed secret from text', () => {
    fc.assert(
      fc.property(placed, (p) => {
        if (p.key) return;
        const out = redact(p.text);
        for (const s of p.secrets) expect(out).not.toContain(s);
      }),
      { numRuns: RUNS },
    );
  });

  it('leaves identifiers alone: GUIDs, partyIds (int32), org numbers, timestamps, and 11 digits without valid check digits', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.integer({ min: 1, max: 2_147_483_647 }), fc.integer({ min: 100_000_000, max: 999_999_999 }), (guid, partyId, orgNo) => {
        const text = `instance ${partyId}/${guid} of org ${orgNo} at 2026-12-03T09:18:05.123Z (1764753485123 ms)`;
        expect(redact(text)).toBe(text);
      }),
      { numRuns: RUNS },
    );
    expect(isIdentityNumber('01019012345')).toBe(false);
    expect(redact('stored 10737418240 bytes')).toBe('stored 10737418240 bytes');
    expect(redact('basic settings, Basic auth')).toBe('basic settings, Basic auth');
  });

  it('a nested Error is logged with its message, name and code, through ReceiverError causes and arrays', () => {
    const log = memoryLogger();
    const root = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const typed = new ReceiverError('Altinn could not be reached', { code: 'altinn-unreachable', retryable: true, cause: new TypeError('fetch failed', { cause: root }) });
    log.error('failed', { errors: [typed], wrapped: { e: new RangeError('out of range') } });
    const rec = JSON.parse(log.lines[0]!) as { errors: Record<string, unknown>[]; wrapped: { e: Record<string, unknown> } };
    expect(rec.errors[0]).toMatchObject({
      error: 'ReceiverError',
      code: 'altinn-unreachable',
      message: 'Altinn could not be reached',
      cause: { error: 'TypeError', message: 'fetch failed', cause: { error: 'Error', message: 'socket hang up', code: 'ECONNRESET' } },
    });
    expect(rec.wrapped.e).toMatchObject({ error: 'RangeError', message: 'out of range' });
  });
});
