import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';
import {
  createTokenProvider,
  grantClaims,
  loadSigningKey,
  MAX_GRANT_LIFETIME_SECONDS,
  requestMaskinportenToken,
  signGrant,
  type GrantClaims,
  type SigningKey,
} from '../lib/auth/index.js';
import { ConfigError } from '../lib/config.js';
import { ReceiverError } from '../lib/errors.js';
import { createRuntime } from '../lib/runtime.js';
import { configFor, providerFor, secretWatch } from './support/authHarness.js';
import { fakeClock } from './support/clock.js';

const clock = fakeClock();
const watch = secretWatch();
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ now: () => clock.now() });
});
afterAll(async () => {
  await sim.stop();
});

/** Run `fn`, expecting a ReceiverError, and keep its text for the leak check. */
async function refusal(fn: () => Promise<unknown>): Promise<ReceiverError> {
  const e = await fn().then(
    () => undefined,
    (err: unknown) => err,
  );
  watch.error(e);
  expect(e).toBeInstanceOf(ReceiverError);
  return e as ReceiverError;
}

function startupError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    watch.error(e);
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('grant accepted by the simulated Maskinporten', () => {
  const cases = [
    { name: 'kid + PKCS#8 PEM', opts: { keyFormat: 'pkcs8' as const }, header: 'kid' },
    { name: 'kid + PKCS#1 PEM (BEGIN RSA PRIVATE KEY)', opts: { keyFormat: 'pkcs1' as const }, header: 'kid' },
    { name: 'kid + JWK', opts: { keyFormat: 'jwk' as const }, header: 'kid' },
    { name: 'x5c certificate chain', opts: { certificate: true }, header: 'x5c' },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const client = await sim.newClient(c.opts);
      const before = { ...sim.counters };
      const token = await providerFor(sim, client, clock, watch).getToken();
      const claims = sim.verifyAltinnToken(token);
      expect(claims?.['urn:altinn:org']).toBe('ttd');
      expect(claims?.client_id).toBe(client.clientId);
      expect(sim.counters.grantsIssued - before.grantsIssued).toBe(1);
      expect(sim.counters.exchangesIssued - before.exchangesIssued).toBe(1);

      const key = loadSigningKey(configFor(client).maskinporten);
      const header = decodeProtectedHeader(await signGrant(key, grantClaims(configFor(client).maskinporten, clock.now())));
      if (c.header === 'kid') {
        expect(header).toEqual({ alg: 'RS256', kid: client.kid });
      } else {
        expect(header.kid).toBeUndefined();
        const pems = client.certificate!.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
        expect(header.x5c).toEqual(pems.map((pem) => new X509Certificate(pem).raw.toString('base64'))); // leaf, then CA
      }
    });
  }

  it('signs with RS512 when MASKINPORTEN_ALG asks for it', async () => {
    const client = await sim.newClient({ keyFormat: 'pkcs1' });
    const config = configFor(client, { MASKINPORTEN_ALG: 'RS512' });
    const grant = await signGrant(loadSigningKey(config.maskinporten), grantClaims(config.maskinporten, clock.now()));
    expect(decodeProtectedHeader(grant).alg).toBe('RS512');
    const token = await providerFor(sim, client, clock, watch, { MASKINPORTEN_ALG: 'RS512' }).getToken();
    expect(sim.verifyAltinnToken(token)).toBeDefined();
  });

  it('sends exactly the claims Maskinporten asks for; consumer_org only as a supplier', async () => {
    const client = await sim.newClient();
    const plain = grantClaims(configFor(client).maskinporten, clock.now());
    expect(Object.keys(plain).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'scope']);
    expect(plain.aud).toBe(`${sim.maskinportenUrl}/`);
    expect(plain.iss).toBe(client.clientId);
    expect(plain.exp - plain.iat).toBeLessThanOrEqual(MAX_GRANT_LIFETIME_SECONDS);
    expect(grantClaims(configFor(client).maskinporten, clock.now()).jti).not.toBe(plain.jti);

    const supplier = await sim.newClient({ consumerOrg: sim.orgNumber });
    const claims = grantClaims(configFor(supplier).maskinporten, clock.now());
    expect(claims.consumer_org).toBe(sim.orgNumber);
    const token = await providerFor(sim, supplier, clock, watch).getToken();
    expect(sim.verifyAltinnToken(token)?.['urn:altinn:org']).toBe('ttd');
  });

  it('takes the exchange answer as a JSON string as well as a bare JWT', async () => {
    sim.settings.exchangeFormat = 'json';
    try {
      const client = await sim.newClient();
      const token = await providerFor(sim, client, clock, watch).getToken();
      expect(token).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(sim.verifyAltinnToken(token)).toBeDefined();
      // Expiry comes from the token itself: the simulated Altinn token lives 30 minutes.
      expect(decodeJwt(token).exp).toBe(Math.floor(clock.now() / 1000) + 30 * 60);
    } finally {
      sim.settings.exchangeFormat = 'text';
    }
  });
});

describe('wrong grants are refused with Maskinporten\'s error code, and the error says which claim', () => {
  let client: SimulatorClient;
  let key: SigningKey;
  let good: () => GrantClaims;
  const send = (assertion: string) => requestMaskinportenToken({ url: sim.maskinportenUrl, assertion, fetch: watch.fetch });
  const refused = async (claims: Record<string, unknown>, signingKey: SigningKey = key) => refusal(async () => send(await signGrant(signingKey, claims)));

  beforeAll(async () => {
    client = await sim.newClient();
    watch.key(client.privateKey);
    const settings = configFor(client).maskinporten;
    key = loadSigningKey(settings);
    good = () => grantClaims(settings, clock.now());
  });

  it('a correct grant passes (the baseline for the cases below)', async () => {
    const token = await send(await signGrant(key, good()));
    expect(token.expires_in).toBeGreaterThan(0);
  });

  const cases: { name: string; change: (c: GrantClaims) => Record<string, unknown>; code: string; says: RegExp }[] = [
    { name: 'aud without the trailing slash', change: (c) => ({ ...c, aud: sim.maskinportenUrl }), code: 'invalid_grant', says: /aud/ },
    { name: 'unknown iss (client id)', change: (c) => ({ ...c, iss: 'no-such-client' }), code: 'invalid_client', says: /client/ },
    { name: 'exp more than 120 s after iat', change: (c) => ({ ...c, exp: c.iat + 121 }), code: 'invalid_grant', says: /exp - iat/ },
    { name: 'iat off by a minute (clock skew)', change: (c) => ({ ...c, iat: c.iat - 60, exp: c.iat + 30 }), code: 'invalid_grant', says: /clock skew/ },
    { name: 'expired grant', change: (c) => ({ ...c, iat: c.iat - 5, exp: c.iat - 1 }), code: 'invalid_grant', says: /expired/ },
    { name: 'no jti', change: ({ jti: _jti, ...c }) => c, code: 'invalid_grant', says: /jti/ },
    { name: 'scope the client was not given', change: (c) => ({ ...c, scope: 'altinn:serviceowner/instances.read altinn:admin' }), code: 'invalid_scope', says: /altinn:admin/ },
    { name: 'consumer_org that delegated nothing', change: (c) => ({ ...c, consumer_org: '123456789' }), code: 'invalid_scope', says: /consumer_org/ },
    { name: 'an extra claim', change: (c) => ({ ...c, sub: 'x' }), code: 'invalid_grant', says: /unexpected claims sub/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const e = await refused(c.change(good()));
      expect(e.code).toBe(`maskinporten-${c.code}`);
      expect(e.status).toBe(400);
      expect(e.retryable).toBe(false);
      expect(e.message).toMatch(c.says);
    });
  }

  it('a reused jti', async () => {
    const claims = good();
    await send(await signGrant(key, claims));
    const e = await refused(claims);
    expect(e.code).toBe('maskinporten-invalid_grant');
    expect(e.message).toMatch(/jti has already been used/);
  });

  it('a kid the client did not register', async () => {
    const e = await refused(good(), { ...key, header: { kid: 'not-registered' } });
    expect(e.code).toBe('maskinporten-invalid_client');
    expect(e.message).toMatch(/kid 'not-registered'/);
    expect(e.message).toMatch(/MASKINPORTEN_KID/); // the hint tells the operator where to look
  });

  it('a signature by another key', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const e = await refused(good(), { ...key, privateKey: other });
    expect(e.code).toBe('maskinporten-invalid_grant');
    expect(e.message).toMatch(/signature/);
  });

  it('the token provider reports the refusal with the code, retryable false', async () => {
    const narrow = await sim.newClient({ scopes: ['altinn:serviceowner/instances.read'] });
    const tokens = providerFor(sim, narrow, clock, watch, { MASKINPORTEN_SCOPES: 'altinn:serviceowner/instances.read altinn:serviceowner/instances.write' });
    const e = await refusal(() => tokens.getToken());
    expect(e.code).toBe('maskinporten-invalid_scope');
    expect(e.message).toMatch(/instances\.write/);
    expect(e.message).toMatch(/MASKINPORTEN_SCOPES/);
  });

  it('an outage (5xx) is retryable and says Maskinporten answered it', async () => {
    sim.faults.maskinportenOutage(1000, 503);
    const e = await refused(good());
    expect(e).toMatchObject({ code: 'maskinporten-http-503', status: 503, retryable: true });
    clock.advance(1000);
  });
});

describe('start-up checks of the key settings', () => {
  let client: SimulatorClient;
  let certClient: SimulatorClient;
  beforeAll(async () => {
    [client, certClient] = await Promise.all([sim.newClient(), sim.newClient({ certificate: true })]);
    watch.key(client.privateKey);
    watch.key(certClient.privateKey);
  });
  const tokensFor = (c: SimulatorClient, overrides: Record<string, string | undefined>) =>
    createTokenProvider({ maskinporten: configFor(c, overrides).maskinporten, platformUrl: sim.platformUrl, clock, fetch: watch.fetch, log: watch.log });

  it('a PEM that is not a key names MASKINPORTEN_KEY, never the value', () => {
    const broken = client.privateKey.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
    const e = startupError(() => tokensFor(client, { MASKINPORTEN_KEY: broken }));
    expect(e.problems.map((p) => p.setting)).toEqual(['MASKINPORTEN_KEY']);
    expect(e.message).not.toContain(broken.split('\n')[2]!);
  });

  it('the runtime reads the key before Altinn is called, so /api/health names a broken one', async () => {
    const broken = client.privateKey.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
    const rt = await createRuntime({ ...client.env, AzureWebJobsStorage: 'UseDevelopmentStorage=true', MASKINPORTEN_KEY: broken });
    let e: unknown;
    try {
      rt.maskinporten();
    } catch (err) {
      e = err;
    }
    watch.error(e);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems.map((p) => p.setting)).toEqual(['MASKINPORTEN_KEY']);
  });

  it('a non-RSA key is refused', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    watch.key(ec);
    const e = startupError(() => tokensFor(client, { MASKINPORTEN_KEY: ec }));
    expect(e.message).toMatch(/MASKINPORTEN_KEY: must be an RSA private key for RS256 \(got ec\)/);
  });

  it('an RSA key under 2048 bits is refused', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    watch.key(small);
    expect(startupError(() => tokensFor(client, { MASKINPORTEN_KEY: small })).message).toMatch(/at least 2048 bits \(got 1024\)/);
  });

  it('a public JWK is refused', () => {
    const pub = JSON.stringify(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }));
    expect(startupError(() => tokensFor(client, { MASKINPORTEN_KEY: pub })).message).toMatch(/MASKINPORTEN_KEY: is a public JWK/);
  });

  it('a certificate that does not belong to the key names MASKINPORTEN_CERTIFICATE', () => {
    const e = startupError(() => tokensFor(certClient, { MASKINPORTEN_KEY: client.privateKey }));
    expect(e.problems.map((p) => p.setting)).toEqual(['MASKINPORTEN_CERTIFICATE']);
    expect(e.message).toMatch(/does not belong to MASKINPORTEN_KEY/);
  });

  it('a chain with the CA first (leaf not first) is refused', () => {
    const [leaf, ca] = certClient.certificate!.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
    const e = startupError(() => tokensFor(certClient, { MASKINPORTEN_CERTIFICATE: `${ca}\n${leaf}\n` }));
    expect(e.message).toMatch(/leaf/);
  });
});

describe('the token cache', () => {
  // One registered client; each test makes its own provider (its own cache) and counts deltas.
  let client: SimulatorClient;
  beforeAll(async () => {
    client = await sim.newClient();
  });

  it('100 concurrent first callers cause one grant and one exchange', async () => {
    const tokens = providerFor(sim, client, clock, watch);
    const before = { ...sim.counters };
    const got = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));
    expect(new Set(got).size).toBe(1);
    expect(sim.counters.grants - before.grants).toBe(1);
    expect(sim.counters.exchanges - before.exchanges).toBe(1);
  });

  it('refreshes exactly when the margin is reached', async () => {
    const tokens = providerFor(sim, client, clock, watch, { TOKEN_REFRESH_MARGIN_SECONDS: '60' });
    const before = { ...sim.counters };
    const first = await tokens.getToken();
    const refreshAt = decodeJwt(first).exp! * 1000 - 60_000;

    clock.set(refreshAt - 1);
    expect(await tokens.getToken()).toBe(first);
    expect(sim.counters.grants - before.grants).toBe(1);

    clock.set(refreshAt);
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(sim.counters.grants - before.grants).toBe(2);
    expect(sim.counters.exchanges - before.exchanges).toBe(2);
    expect(await tokens.getToken()).toBe(second);
    expect(sim.counters.grants - before.grants).toBe(2);
  });

  it('does not cache a failed grant or exchange; concurrent callers share one failed attempt', async () => {
    const tokens = providerFor(sim, client, clock, watch);
    // Injected faults answer before the simulator's handlers count, so count the request log.
    const hits = (route: string) => sim.requests.filter((r) => r.route === route).length;
    const before = { grants: hits('maskinporten.token'), exchanges: hits('authentication.exchange') };

    sim.faults.add({ role: 'maskinporten', route: 'maskinporten.token', status: 503 });
    const failures = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.getToken()));
    expect(failures.every((f) => f.status === 'rejected')).toBe(true);
    const e = await refusal(() => Promise.reject((failures[0] as PromiseRejectedResult).reason as Error));
    expect(e).toMatchObject({ code: 'maskinporten-http-503', retryable: true });
    expect(hits('maskinporten.token') - before.grants).toBe(1);

    sim.faults.add({ role: 'platform', route: 'authentication.exchange', status: 500 });
    expect(await refusal(() => tokens.getToken())).toMatchObject({ code: 'altinn-exchange-500', retryable: true });

    const token = await tokens.getToken();
    expect(sim.verifyAltinnToken(token)).toBeDefined();
    expect(hits('maskinporten.token') - before.grants).toBe(3);
    expect(hits('authentication.exchange') - before.exchanges).toBe(2);
  });

  it('remembers a refusal no retry can fix for 60 s: one grant however many callers ask in that time', async () => {
    const tokens = providerFor(sim, client, clock, watch, { MASKINPORTEN_CLIENT_ID: 'no-such-client' });
    const hits = () => sim.requests.filter((r) => r.route === 'maskinporten.token').length;
    const before = hits();
    const first = await refusal(() => tokens.getToken());
    expect(first).toMatchObject({ code: 'maskinporten-invalid_client', retryable: false });
    clock.advance(59_999);
    expect(await refusal(() => tokens.getToken())).toBe(first);
    expect(hits() - before).toBe(1);
    clock.advance(1);
    expect(await refusal(() => tokens.getToken())).toMatchObject({ code: 'maskinporten-invalid_client' });
    expect(hits() - before).toBe(2);
  });

  it('rides out a failed refresh inside the margin on the still-valid token, and fails once it has expired', async () => {
    const tokens = providerFor(sim, client, clock, watch);
    const first = await tokens.getToken();
    const exp = decodeJwt(first).exp! * 1000;

    clock.set(exp - 30_000);
    sim.faults.maskinportenOutage(60_000);
    expect(await tokens.getToken()).toBe(first);
    expect(watch.log.lines.some((l) => l.includes('Altinn token refresh failed'))).toBe(true);

    clock.set(exp);
    expect(await refusal(() => tokens.getToken())).toMatchObject({ code: 'maskinporten-http-503' });
    clock.advance(60_000);
    expect(await tokens.getToken()).not.toBe(first);
  });

  it('invalidate drops the token only while it is the current one', async () => {
    const tokens = providerFor(sim, client, clock, watch);
    const before = { ...sim.counters };
    const first = await tokens.getToken();
    tokens.invalidate(first);
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(sim.counters.grants - before.grants).toBe(2);

    tokens.invalidate(first); // a late 401 for the old token must not throw away the new one
    expect(await tokens.getToken()).toBe(second);
    expect(sim.counters.grants - before.grants).toBe(2);
  });
});

describe('secrets', () => {
  it('no private key, assertion or token appears in any log line or error message of these tests', () => {
    expect(watch.secretCount()).toBeGreaterThan(50);
    expect(watch.printedCount()).toBeGreaterThan(20);
    expect(watch.leaks()).toEqual([]);
  });
});
