import { X509Certificate, createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';

let now = Date.now();
let sim: Simulator;
let client: SimulatorClient;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, now: () => now });
  client = await sim.newClient();
});
afterAll(() => sim.stop());

const keyOf = (c: SimulatorClient): KeyObject =>
  c.privateKey.startsWith('{') ? createPrivateKey({ key: JSON.parse(c.privateKey) as never, format: 'jwk' }) : createPrivateKey(c.privateKey);

const x5cOf = (pem: string) =>
  [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).raw.toString('base64'));

interface GrantOptions {
  claims?: JWTPayload;
  header?: Record<string, unknown>;
  key?: KeyObject;
  alg?: string;
}

async function grant(c: SimulatorClient, o: GrantOptions = {}): Promise<string> {
  const iat = Math.floor(now / 1000);
  const header = { alg: o.alg ?? 'RS256', ...(c.certificate ? { x5c: x5cOf(c.certificate) } : { kid: c.kid }), ...o.header };
  const claims = { aud: `${sim.maskinportenUrl}/`, iss: c.clientId, scope: c.env.MASKINPORTEN_SCOPES, iat, exp: iat + 120, jti: randomUUID(), ...o.claims };
  return new SignJWT(claims).setProtectedHeader(header).sign(o.key ?? keyOf(c));
}

async function token(assertion: string, grantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
  const res = await fetch(`${sim.maskinportenUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: grantType, assertion }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

async function exchange(accessToken: string | undefined) {
  return fetch(`${sim.platformUrl}/authentication/api/v1/exchange/maskinporten`, {
    headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
  });
}

describe('simulator Maskinporten', () => {
  it('publishes its metadata with the issuer ending in a slash', async () => {
    const res = await fetch(`${sim.maskinportenUrl}/.well-known/oauth-authorization-server`);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.issuer).toBe(`${sim.maskinportenUrl}/`);
    expect(body.token_endpoint).toBe(`${sim.maskinportenUrl}/token`);
  });

  it.each(['pkcs8', 'pkcs1', 'jwk'] as const)('issues a token for a kid client with a %s key', async (keyFormat) => {
    const c = await sim.newClient({ keyFormat });
    if (keyFormat === 'pkcs1') expect(c.privateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    if (keyFormat === 'jwk') expect(JSON.parse(c.privateKey)).toMatchObject({ kty: 'RSA', kid: c.kid });
    const { status, body } = await token(await grant(c));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 120, scope: c.env.MASKINPORTEN_SCOPES });
    expect(claimsOf(body.access_token as string)).toMatchObject({ client_id: c.clientId, consumer: { ID: `0192:${sim.orgNumber}` } });
  });

  it.each(['RS384', 'RS512'])('accepts %s grants', async (alg) => {
    expect((await token(await grant(client, { alg }))).status).toBe(200);
  });

  it('issues a token for a certificate client sending the x5c chain, and checks the chain', async () => {
    const c = await sim.newClient({ certificate: true });
    expect(c.kid).toBeUndefined();
    expect(c.env.MASKINPORTEN_CERTIFICATE).toBe(c.certificate);
    expect((await token(await grant(c))).body).toMatchObject({ token_type: 'Bearer' });
    const [leaf] = x5cOf(c.certificate!);
    expect((await token(await grant(c, { header: { x5c: [leaf] } }))).status).toBe(200);

    const other = await sim.newClient({ certificate: true });
    const foreign = await token(await grant(c, { header: { x5c: x5cOf(other.certificate!) }, key: keyOf(other) }));
    expect(foreign.body.error).toBe('invalid_client');
    const broken = await token(await grant(c, { header: { x5c: [leaf, x5cOf(other.certificate!)[1]] } }));
    expect(broken).toMatchObject({ status: 400, body: { error: 'invalid_client' } });
    expect(broken.body.error_description).toMatch(/not signed by certificate 1/);
    const kidOnly = await token(await grant(c, { header: { x5c: undefined, kid: 'x' } }));
    expect(kidOnly.body.error).toBe('invalid_client');
  });

  const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const cases: [string, () => GrantOptions, string, RegExp][] = [
    ['a key that is not the registered one', () => ({ key: wrongKey }), 'invalid_grant', /signature/],
    ['an unknown kid', () => ({ header: { kid: 'nope' } }), 'invalid_client', /kid/],
    ['aud without the trailing slash', () => ({ claims: { aud: sim.maskinportenUrl } }), 'invalid_grant', /aud/],
    ['an unknown client id', () => ({ claims: { iss: 'unknown-client' } }), 'invalid_client', /client/],
    ['exp - iat over 120 s', () => ({ claims: { exp: Math.floor(now / 1000) + 121 } }), 'invalid_grant', /exp - iat/],
    ['iat 11 s in the future', () => ({ claims: { iat: Math.floor(now / 1000) + 11, exp: Math.floor(now / 1000) + 60 } }), 'invalid_grant', /clock skew/],
    ['iat 11 s in the past', () => ({ claims: { iat: Math.floor(now / 1000) - 11, exp: Math.floor(now / 1000) + 60 } }), 'invalid_grant', /clock skew/],
    ['a scope not allowed', () => ({ claims: { scope: 'altinn:serviceowner/instances.read altinn:secret' } }), 'invalid_scope', /altinn:secret/],
    ['no scope', () => ({ claims: { scope: undefined } }), 'invalid_scope', /scope/],
    ['a consumer_org that did not delegate', () => ({ claims: { consumer_org: '123456789' } }), 'invalid_scope', /consumer_org/],
    ['an extra claim', () => ({ claims: { sub: 'x' } }), 'invalid_grant', /sub/],
    ['HS256', () => ({ alg: 'HS256', key: undefined }), 'invalid_grant', /alg/],
  ];
  it.each(cases)('rejects a grant with %s', async (_name, options, error, description) => {
    const o = options();
    const assertion =
      o.alg === 'HS256'
        ? await new SignJWT({ iss: client.clientId }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32))
        : await grant(client, o);
    const { status, body } = await token(assertion);
    expect(status).toBe(400);
    expect(body.error).toBe(error);
    expect(body.error_description).toMatch(description);
  });

  it('rejects a reused jti, a wrong grant type and a missing assertion', async () => {
    const assertion = await grant(client);
    expect((await token(assertion)).status).toBe(200);
    expect((await token(assertion)).body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/jti/) as unknown });
    expect((await token(await grant(client), 'client_credentials')).body.error).toBe('unsupported_grant_type');
    expect((await token('')).body.error).toBe('invalid_request');
  });

  it('accepts consumer_org for a client the org delegated to, and the exchanged token carries that org', async () => {
    const supplier = await sim.newClient({ consumerOrg: sim.orgNumber });
    expect(supplier.env.MASKINPORTEN_CONSUMER_ORG).toBe(sim.orgNumber);
    const { body } = await token(await grant(supplier, { claims: { consumer_org: sim.orgNumber } }));
    expect(claimsOf(body.access_token as string)).toMatchObject({ consumer: { ID: `0192:${sim.orgNumber}` }, supplier: { ID: '0192:999999999' } });
    const altinn = await (await exchange(body.access_token as string)).text();
    expect(claimsOf(altinn)['urn:altinn:org']).toBe(sim.org);
  });

  it('answers 503 during an outage window on its clock, and recovers', async () => {
    sim.faults.maskinportenOutage(30_000);
    expect((await token(await grant(client))).status).toBe(503);
    now += 31_000;
    expect((await token(await grant(client))).status).toBe(200);
  });
});

describe('simulator token exchange', () => {
  it('exchanges a Maskinporten token for a 30-minute Altinn token with the org claim, as text or JSON', async () => {
    const { body } = await token(await grant(client));
    const before = { ...sim.counters };
    const res = await exchange(body.access_token as string);
    expect(res.status).toBe(200);
    const altinn = await res.text();
    const claims = claimsOf(altinn);
    expect(claims['urn:altinn:org']).toBe('ttd');
    expect((claims.exp as number) - (claims.iat as number)).toBe(1800);
    expect(sim.verifyAltinnToken(altinn)).toBeDefined();
    expect(sim.counters.exchanges).toBe(before.exchanges + 1);

    sim.settings.exchangeFormat = 'json';
    const json = (await (await exchange(body.access_token as string)).json()) as string;
    sim.settings.exchangeFormat = 'text';
    expect(sim.verifyAltinnToken(json)).toBeDefined();
  });

  it('gives no org claim without an altinn:serviceowner scope', async () => {
    const c = await sim.newClient({ scopes: ['altinn:events.subscribe'] });
    const { body } = await token(await grant(c));
    const claims = claimsOf(await (await exchange(body.access_token as string)).text());
    expect(claims['urn:altinn:org']).toBeUndefined();
  });

  it('answers 401 to a missing, foreign or expired Maskinporten token', async () => {
    expect((await exchange(undefined)).status).toBe(401);
    const { body } = await token(await grant(client));
    const altinn = await (await exchange(body.access_token as string)).text();
    expect((await exchange(altinn)).status).toBe(401);
    now += 121_000;
    expect((await exchange(body.access_token as string)).status).toBe(401);
    expect(sim.requests.at(-1)).toMatchObject({ role: 'platform', route: 'authentication.exchange', hasAuth: true, status: 401 });
  });
});
