import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scanForSecrets } from '../../dev/soak/secrets.js';

/** The scanner the reliability suite trusts for "zero hits" does find each kind of secret. */
const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const body = key.split('\n').filter((l) => l && !l.startsWith('-----'));
const secrets = { privateKeys: [key], values: [{ kind: 'function key', value: 'fk_0123456789abcdef' }] };
const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4eXp6eXp6In0.c2lnbmF0dXJlc2lnbmF0dXJl';

describe('secret scan', () => {
  it.each([
    ['a PEM body line', `{"msg":"x","key":"${body[3]}"}`, 'private key material'],
    ['a slice of the key across lines', `error: ${body.join('').slice(100, 136)}`, 'private key material'],
    ['the PEM header', 'MASKINPORTEN_KEY=-----BEGIN PRIVATE KEY-----', 'PEM private key header'],
    ['a JWT', `{"assertion":"${jwt}"}`, 'JWT (assertion or token)'],
    ['a bearer token', 'authorization: Bearer abcdefghijklmnopqrstu', 'bearer credential'],
    ['the function key', 'POST /api/events?code=fk_0123456789abcdef', 'function key'],
  ])('finds %s', (_name, line, kind) => {
    expect(scanForSecrets({ host: ['clean line', line] }, secrets)).toContainEqual({ kind, where: 'host:2' });
  });

  it('finds nothing in ordinary log lines', () => {
    const lines = ['{"level":"info","msg":"done","instanceId":"50000001/bd9edd59-b18c-4726-aa9e-6b150eade814","code":"[redacted]"}'];
    expect(scanForSecrets({ host: lines }, secrets)).toEqual([]);
  });
});
