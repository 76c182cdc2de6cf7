import { describe, expect, it } from 'vitest';
import { memoryLogger } from './support/log.js';
import { ReceiverError } from '../lib/errors.js';
import { redact, registerSecret } from '../lib/redact.js';
import { testPrivateKey } from './support/settings.js';

describe('logging never leaks secrets', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzY29wZSI6ImFsdGlubiJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
  it('redacts JWTs, PEM keys, function keys, account keys and registered values', () => {
    registerSecret('registered-secret-value');
    const log = memoryLogger();
    log.info('token acquired', { token: jwt, header: `Bearer ${jwt}` });
    log.warn('bad key', { key: testPrivateKey() });
    log.error('call failed', { url: 'https://x.example/api/events?code=FUNCTIONKEY123&x=1', cs: 'AccountName=a;AccountKey=abc123==;' });
    log.info('registered', { v: 'prefix registered-secret-value suffix', jwk: '{"kty":"RSA","d":"privateexponent"}' });
    const all = log.lines.join('\n');
    for (const secret of [jwt, 'BEGIN PRIVATE KEY', 'FUNCTIONKEY123', 'abc123==', 'registered-secret-value', 'privateexponent']) {
      expect(all).not.toContain(secret);
    }
    expect(all).toContain('[redacted-jwt]');
    expect(all).toContain('code=[redacted]');
    expect(log.lines.every((l) => JSON.parse(l) !== null)).toBe(true);
  });

  it('redacts field values, not the line: a PEM header, a JWT and CR/LF in a field leave every line valid JSON with every field', () => {
    const log = memoryLogger();
    const hostile = { eventId: '-----BEGIN A-----', eventType: `x\r\n{"level":"error","msg":"forged"}\r\n${jwt}`, source: 'a\\"b' };
    log.info('webhook request', { ...hostile, status: 200, decision: 'enqueued', nested: { key: { kty: 'RSA', d: 'private-d', n: 'public-n' } } });
    expect(log.lines).toHaveLength(1);
    const rec = JSON.parse(log.lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ msg: 'webhook request', status: 200, decision: 'enqueued', eventId: '[redacted-pem]', source: 'a\\"b' });
    expect(rec.eventType).toBe('x\r\n{"level":"error","msg":"forged"}\r\n[redacted-jwt]');
    expect(rec.nested).toEqual({ key: { kty: 'RSA', d: '[redacted]', n: 'public-n' } });
    expect(log.lines[0]).not.toMatch(/[\r\n]/);
  });

  it('redacts a flat record as a nested one: a JWK spread into the fields keeps its private members out', () => {
    const log = memoryLogger();
    log.info('key loaded', { kty: 'RSA', d: 'private-d', n: 'public-n', eventId: '-----BEGIN A-----', status: 200 });
    log.info('key loaded', { kty: 'RSA', d: 'private-d', n: 'public-n', eventId: '-----BEGIN A-----', status: 200, nested: {} });
    const [flat, nested] = log.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(flat).toMatchObject({ kty: 'RSA', d: '[redacted]', n: 'public-n', eventId: '[redacted-pem]', status: 200 });
    expect({ ...nested, nested: undefined }).toEqual({ ...flat, nested: undefined });
  });

  it('writes typed errors with their operator fields', () => {
    const log = memoryLogger();
    log.error('download failed', { err: new ReceiverError('instance gone', { code: 'altinn-http-404', retryable: false, status: 404, instanceId: '1337/abc' }) });
    const rec = JSON.parse(log.lines[0]!) as { err: Record<string, unknown> };
    expect(rec.err).toMatchObject({ code: 'altinn-http-404', retryable: false, status: 404, instanceId: '1337/abc' });
  });

  it('leaves ordinary text alone', () => {
    expect(redact('instance 1337/6e3c completed, 3 elements')).toBe('instance 1337/6e3c completed, 3 elements');
  });
});
