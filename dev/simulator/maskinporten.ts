import { X509Certificate, type KeyObject } from 'node:crypto';
import type { RegisteredClient } from './clients.js';
import { seconds, type Core } from './core.js';
import { HttpError, readBody, sendJson, type Ctx, type Route } from './http.js';
import { decodeJwt, isRsaAlg, newJti, signJwt, verifyJwtSignature, type DecodedJwt } from './jwt.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_LIFETIME_SECONDS = 120;
const MAX_GRANT_LIFETIME = 120;
const IAT_SKEW = 10;
const GRANT_CLAIMS = new Set(['aud', 'iss', 'scope', 'iat', 'exp', 'jti', 'consumer_org', 'resource']);

type MaskinportenError = 'invalid_grant' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type' | 'invalid_request';

class GrantError extends Error {
  constructor(
    readonly error: MaskinportenError,
    description: string,
  ) {
    super(description);
  }
}

export interface MaskinportenTokenClaims {
  iss: string;
  client_id: string;
  scope: string;
  exp: number;
  consumer: { authority: string; ID: string };
  supplier?: { authority: string; ID: string };
}

/** Maskinporten's issuer: its base URL with the trailing slash. */
const issuerOf = (core: Core) => `${core.urls.maskinporten}/`;
const orgId = (orgNumber: string) => ({ authority: 'iso6523-actorid-upis', ID: `0192:${orgNumber}` });

export function createMaskinporten(core: Core) {
  const clients = new Map<string, RegisteredClient>();
  /** jti → exp (seconds): a jti may not come back while the grant it came in could still be valid. */
  const usedJti = new Map<string, number>();
  const issuer = () => issuerOf(core);

  function verifyGrant(assertion: string): { client: RegisteredClient; scope: string; consumerOrg?: string } {
    const jwt = decodeJwt(assertion);
    if (!jwt) throw new GrantError('invalid_grant', 'Invalid assertion: not a signed JWT');
    if (!isRsaAlg(jwt.header.alg)) throw new GrantError('invalid_grant', 'Invalid assertion: alg must be RS256, RS384 or RS512');
    const c = jwt.payload;
    if (typeof c.iss !== 'string') throw new GrantError('invalid_grant', 'Invalid assertion: iss claim missing');
    const client = clients.get(c.iss);
    if (!client) throw new GrantError('invalid_client', `Invalid client: no client with client_id '${c.iss}'`);
    const nowS = seconds(core.now());
    const key = clientKey(client, jwt, nowS);
    if (!verifyJwtSignature(jwt, key)) throw new GrantError('invalid_grant', 'Invalid assertion: signature does not verify with the client key');
    const unknown = Object.keys(c).filter((k) => !GRANT_CLAIMS.has(k));
    if (unknown.length > 0) throw new GrantError('invalid_grant', `Invalid assertion: unexpected claims ${unknown.join(', ')}`);
    if (c.aud !== issuer()) throw new GrantError('invalid_grant', `Invalid assertion: aud must be '${issuer()}'`);
    if (typeof c.iat !== 'number' || typeof c.exp !== 'number') throw new GrantError('invalid_grant', 'Invalid assertion: iat and exp must be numeric dates');
    if (c.exp - c.iat > MAX_GRANT_LIFETIME) throw new GrantError('invalid_grant', `Invalid assertion: exp - iat must be at most ${MAX_GRANT_LIFETIME} seconds`);
    if (Math.abs(c.iat - nowS) > IAT_SKEW) throw new GrantError('invalid_grant', `Invalid assertion: iat is more than ${IAT_SKEW} seconds from Maskinporten's clock (clock skew)`);
    if (c.exp <= nowS) throw new GrantError('invalid_grant', 'Invalid assertion: the JWT has expired');
    if (typeof c.jti !== 'string' || c.jti === '') throw new GrantError('invalid_grant', 'Invalid assertion: jti claim missing');
    for (const [jti, exp] of usedJti) if (exp < nowS - IAT_SKEW) usedJti.delete(jti);
    if (usedJti.has(c.jti)) throw new GrantError('invalid_grant', 'Invalid assertion: jti has already been used');
    if (typeof c.scope !== 'string' || c.scope.trim() === '') throw new GrantError('invalid_scope', 'Missing scope: the grant has no scope claim');
    const notAllowed = c.scope.split(' ').filter((s) => !client.scopes.has(s));
    if (notAllowed.length > 0) throw new GrantError('invalid_scope', `Invalid scope: client is not allowed ${notAllowed.join(', ')}`);
    let consumerOrg: string | undefined;
    if (c.consumer_org !== undefined) {
      if (typeof c.consumer_org !== 'string' || !client.delegations.has(c.consumer_org)) {
        throw new GrantError('invalid_scope', `Invalid scope: consumer_org '${JSON.stringify(c.consumer_org)}' has not delegated these scopes to the client`);
      }
      consumerOrg = c.consumer_org;
    }
    usedJti.set(c.jti, c.exp);
    return { client, scope: c.scope, ...(consumerOrg ? { consumerOrg } : {}) };
  }

  async function token(ctx: Ctx): Promise<void> {
    core.counters.grants++;
    try {
      if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.req.headers['content-type'] ?? '')) {
        throw new GrantError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
      }
      const form = new URLSearchParams((await readBody(ctx.req)).toString('utf8'));
      const grantType = form.get('grant_type');
      if (!grantType) throw new GrantError('invalid_request', 'Missing grant_type');
      if (grantType !== JWT_BEARER) throw new GrantError('unsupported_grant_type', `Unsupported grant_type '${grantType}'`);
      const assertion = form.get('assertion');
      if (!assertion) throw new GrantError('invalid_request', 'Missing assertion');
      const grant = verifyGrant(assertion);
      core.counters.grantsIssued++;
      sendJson(ctx.res, 200, { access_token: issueToken(core, grant.client, grant.scope, grant.consumerOrg), token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, scope: grant.scope });
    } catch (e) {
      if (e instanceof GrantError) return sendJson(ctx.res, 400, { error: e.error, error_description: e.message });
      if (e instanceof HttpError) return sendJson(ctx.res, e.status, { error: 'invalid_request', error_description: e.message });
      throw e;
    }
  }

  /** Claims of a Maskinporten access token this simulator issued and that is still valid; undefined otherwise. */
  function verifyAccessToken(token: string): MaskinportenTokenClaims | undefined {
    const jwt = decodeJwt(token);
    if (!jwt || !verifyJwtSignature(jwt, core.verifyKey)) return undefined;
    const c = jwt.payload as Partial<MaskinportenTokenClaims>;
    if (c.iss !== issuer() || typeof c.exp !== 'number' || c.exp <= seconds(core.now())) return undefined;
    return c as MaskinportenTokenClaims;
  }

  const routes: Route[] = [
    {
      name: 'maskinporten.metadata',
      method: 'GET',
      path: /^\/\.well-known\/oauth-authorization-server$/,
      handle: ({ res }) =>
        sendJson(res, 200, {
          issuer: issuer(),
          token_endpoint: `${core.urls.maskinporten}/token`,
          jwks_uri: `${core.urls.maskinporten}/jwk`,
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
          grant_types_supported: [JWT_BEARER],
          token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512'],
        }),
    },
    {
      name: 'maskinporten.jwk',
      method: 'GET',
      path: /^\/jwk$/,
      handle: ({ res }) => sendJson(res, 200, { keys: [{ ...core.verifyKey.export({ format: 'jwk' }), kid: 'sim-maskinporten', alg: 'RS256', use: 'sig' }] }),
    },
    { name: 'maskinporten.token', method: 'POST', path: /^\/token$/, handle: token },
  ];

  return { clients, routes, verifyAccessToken, issuer };
}

export type Maskinporten = ReturnType<typeof createMaskinporten>;

/** The key the grant must verify with: the leaf of a chain the client's CA issued, or the registered key its kid names. */
function clientKey(client: RegisteredClient, jwt: DecodedJwt, nowS: number): KeyObject {
  if (client.trustedCa) {
    const x5c = jwt.header.x5c;
    if (!Array.isArray(x5c) || x5c.length === 0 || !x5c.every((c) => typeof c === 'string')) {
      throw new GrantError('invalid_client', 'Client authentication failed: certificate client must send its certificate chain in the x5c header');
    }
    let chain: X509Certificate[];
    try {
      chain = (x5c).map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    } catch {
      throw new GrantError('invalid_client', 'Client authentication failed: x5c holds an unreadable certificate');
    }
    for (let i = 0; i + 1 < chain.length; i++) {
      const [cert, next] = [chain[i]!, chain[i + 1]!];
      if (!cert.checkIssued(next) || !cert.verify(next.publicKey)) {
        throw new GrantError('invalid_client', `Client authentication failed: x5c certificate ${i} is not signed by certificate ${i + 1}`);
      }
    }
    const ca = client.trustedCa;
    const last = chain[chain.length - 1]!;
    const trusted = last.fingerprint256 === ca.fingerprint256 || (last.checkIssued(ca) && last.verify(ca.publicKey));
    if (!trusted) throw new GrantError('invalid_client', 'Client authentication failed: certificate chain is not issued by a trusted CA');
    const leaf = chain[0]!;
    // Leeway on notBefore: test certificates are minted moments before use, on a clock tests may fake.
    if (Date.parse(leaf.validFrom) / 1000 > nowS + 300 || Date.parse(leaf.validTo) / 1000 < nowS) {
      throw new GrantError('invalid_client', 'Client authentication failed: certificate is expired or not yet valid');
    }
    return leaf.publicKey;
  }
  const kid = jwt.header.kid;
  if (typeof kid !== 'string') throw new GrantError('invalid_client', 'Client authentication failed: kid header missing (client has no certificate registered)');
  const key = client.keys.get(kid);
  if (!key) throw new GrantError('invalid_client', `Client authentication failed: kid '${kid}' is not registered for the client`);
  return key;
}

function issueToken(core: Core, client: RegisteredClient, scope: string, consumerOrg: string | undefined): string {
  const iat = seconds(core.now());
  return signJwt(
    {
      aud: 'unspecified',
      scope,
      iss: issuerOf(core),
      client_amr: client.trustedCa ? 'virksomhetssertifikat' : 'private_key_jwt',
      token_type: 'Bearer',
      exp: iat + TOKEN_LIFETIME_SECONDS,
      iat,
      client_id: client.clientId,
      jti: newJti(),
      consumer: orgId(consumerOrg ?? client.orgNumber),
      ...(consumerOrg ? { supplier: orgId(client.orgNumber) } : {}),
    },
    core.signingKey,
    { kid: 'sim-maskinporten' },
  );
}
