import { X509Certificate, type KeyObject } from 'node:crypto';
import type { RegisteredClient } from './clients.js';
import { seconds, type Core } from './core.js';
import { decodeJwt, isRsaAlg, verifyJwtSignature, type DecodedJwt } from './jwt.js';

const MAX_GRANT_LIFETIME = 120;
const IAT_SKEW = 10;
const GRANT_CLAIMS = new Set(['aud', 'iss', 'scope', 'iat', 'exp', 'jti', 'consumer_org', 'resource']);

type MaskinportenError = 'invalid_grant' | 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type' | 'invalid_request';

export class GrantError extends Error {
  constructor(
    readonly error: MaskinportenError,
    description: string,
  ) {
    super(description);
  }
}

/** What checking a grant reads and records: the clock, Maskinporten's issuer, the registered clients, the jtis seen. */
export interface GrantState {
  core: Core;
  issuer: () => string;
  clients: Map<string, RegisteredClient>;
  /** jti → exp (seconds): a jti may not come back while the grant it came in could still be valid. */
  usedJti: Map<string, number>;
}

export interface Grant {
  client: RegisteredClient;
  scope: string;
  consumerOrg?: string;
}

type Claims = DecodedJwt['payload'];

/** A JWT-bearer grant (the assertion) checked as Maskinporten does; the first failing check throws its GrantError. */
export function verifyGrant(state: GrantState, assertion: string): Grant {
  const nowS = seconds(state.core.now());
  const { client, claims: c } = authenticateClient(state.clients, assertion, nowS);
  checkClaims(c, state.issuer(), nowS);
  const jti = unusedJti(state.usedJti, c, nowS);
  const scope = allowedScope(client, c);
  const consumerOrg = delegatingOrg(client, c);
  state.usedJti.set(jti, c.exp as number);
  return { client, scope, ...(consumerOrg ? { consumerOrg } : {}) };
}

/** The client the assertion names (iss), its signature checked with that client's key. */
function authenticateClient(clients: Map<string, RegisteredClient>, assertion: string, nowS: number): { client: RegisteredClient; claims: Claims } {
  const jwt = decodeJwt(assertion);
  if (!jwt) throw new GrantError('invalid_grant', 'Invalid assertion: not a signed JWT');
  if (!isRsaAlg(jwt.header.alg)) throw new GrantError('invalid_grant', 'Invalid assertion: alg must be RS256, RS384 or RS512');
  const c = jwt.payload;
  if (typeof c.iss !== 'string') throw new GrantError('invalid_grant', 'Invalid assertion: iss claim missing');
  const client = clients.get(c.iss);
  if (!client) throw new GrantError('invalid_client', `Invalid client: no client with client_id '${c.iss}'`);
  const key = clientKey(client, jwt, nowS);
  if (!verifyJwtSignature(jwt, key)) throw new GrantError('invalid_grant', 'Invalid assertion: signature does not verify with the client key');
  return { client, claims: c };
}

/** Only known claims; aud is Maskinporten; iat and exp numeric, close together, iat near Maskinporten's clock, not expired. */
function checkClaims(c: Claims, issuer: string, nowS: number): void {
  const unknown = Object.keys(c).filter((k) => !GRANT_CLAIMS.has(k));
  if (unknown.length > 0) throw new GrantError('invalid_grant', `Invalid assertion: unexpected claims ${unknown.join(', ')}`);
  if (c.aud !== issuer) throw new GrantError('invalid_grant', `Invalid assertion: aud must be '${issuer}'`);
  if (typeof c.iat !== 'number' || typeof c.exp !== 'number') throw new GrantError('invalid_grant', 'Invalid assertion: iat and exp must be numeric dates');
  if (c.exp - c.iat > MAX_GRANT_LIFETIME) throw new GrantError('invalid_grant', `Invalid assertion: exp - iat must be at most ${MAX_GRANT_LIFETIME} seconds`);
  if (Math.abs(c.iat - nowS) > IAT_SKEW) throw new GrantError('invalid_grant', `Invalid assertion: iat is more than ${IAT_SKEW} seconds from Maskinporten's clock (clock skew)`);
  if (c.exp <= nowS) throw new GrantError('invalid_grant', 'Invalid assertion: the JWT has expired');
}

/** The grant's jti, not seen before (forgetting jtis whose grants can no longer be valid); recorded only once the grant passes. */
function unusedJti(usedJti: Map<string, number>, c: Claims, nowS: number): string {
  if (typeof c.jti !== 'string' || c.jti === '') throw new GrantError('invalid_grant', 'Invalid assertion: jti claim missing');
  for (const [jti, exp] of usedJti) if (exp < nowS - IAT_SKEW) usedJti.delete(jti);
  if (usedJti.has(c.jti)) throw new GrantError('invalid_grant', 'Invalid assertion: jti has already been used');
  return c.jti;
}

/** The scope claim, every scope in it allowed for the client. */
function allowedScope(client: RegisteredClient, c: Claims): string {
  if (typeof c.scope !== 'string' || c.scope.trim() === '') throw new GrantError('invalid_scope', 'Missing scope: the grant has no scope claim');
  const notAllowed = c.scope.split(' ').filter((s) => !client.scopes.has(s));
  if (notAllowed.length > 0) throw new GrantError('invalid_scope', `Invalid scope: client is not allowed ${notAllowed.join(', ')}`);
  return c.scope;
}

/** consumer_org, when the grant asks to act for another org: it must have delegated to the client. */
function delegatingOrg(client: RegisteredClient, c: Claims): string | undefined {
  if (c.consumer_org === undefined) return undefined;
  if (typeof c.consumer_org !== 'string' || !client.delegations.has(c.consumer_org)) {
    throw new GrantError('invalid_scope', `Invalid scope: consumer_org '${JSON.stringify(c.consumer_org)}' has not delegated these scopes to the client`);
  }
  return c.consumer_org;
}

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
