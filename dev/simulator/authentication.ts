import type { IncomingMessage } from 'node:http';
import { DEFAULT_CLIENT_SCOPES } from './clients.js';
import { seconds, type Core } from './core.js';
import { HttpError, sendJson, type Ctx, type Route } from './http.js';
import { decodeJwt, newJti, signJwt, verifyJwtSignature } from './jwt.js';
import type { Maskinporten } from './maskinporten.js';

const ALTINN_TOKEN_LIFETIME_SECONDS = 30 * 60;
const SERVICEOWNER_SCOPE_PREFIX = 'altinn:serviceowner';

export interface AltinnTokenClaims {
  iss: string;
  exp: number;
  scope: string;
  client_id: string;
  'urn:altinn:org'?: string;
  'urn:altinn:orgNumber': string;
}

/** The exchange answers a bare JWT (text/plain) or a JSON string; both occur, clients must take either. */
export type ExchangeFormat = 'text' | 'json';

export function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

export function createAuthentication(core: Core, maskinporten: Maskinporten, settings: { exchangeFormat: ExchangeFormat }) {
  const issuer = () => `${core.urls.platform}/authentication/api/v1/openid/`;
  /** Org numbers the simulated Altinn knows as service owners. */
  const orgCodeOf = (orgNumber: string) => (orgNumber === core.orgNumber ? core.org : undefined);

  function mint(o: { clientId: string; consumer: object; scope: string; orgNumber: string; org: string | undefined }): string {
    const iat = seconds(core.now());
    return signJwt(
      {
        nameid: o.clientId,
        ...(o.org ? { 'urn:altinn:org': o.org } : {}),
        'urn:altinn:orgNumber': o.orgNumber,
        'urn:altinn:authenticatemethod': 'maskinporten',
        'urn:altinn:authlevel': 3,
        client_id: o.clientId,
        consumer: o.consumer,
        scope: o.scope,
        jti: newJti(),
        iat,
        nbf: iat,
        exp: iat + ALTINN_TOKEN_LIFETIME_SECONDS,
        iss: issuer(),
      },
      core.signingKey,
      { kid: 'sim-altinn' },
    );
  }

  /** An Altinn token without the Maskinporten round trip (tests of the APIs themselves); org defaults to the simulated org. */
  function altinnToken(o: { scope?: string; org?: string | null } = {}): string {
    const org = o.org === null ? undefined : (o.org ?? core.org);
    return mint({ clientId: 'sim-test', consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${core.orgNumber}` }, scope: o.scope ?? DEFAULT_CLIENT_SCOPES.join(' '), orgNumber: core.orgNumber, org });
  }

  function exchange(ctx: Ctx): void {
    core.counters.exchanges++;
    const token = bearer(ctx.req);
    const mp = token ? maskinporten.verifyAccessToken(token) : undefined;
    if (!mp) throw new HttpError(401, 'the bearer token is not a valid Maskinporten token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    const orgNumber = mp.consumer.ID.replace(/^0192:/, '');
    const isServiceOwner = mp.scope.split(' ').some((s) => s.startsWith(SERVICEOWNER_SCOPE_PREFIX));
    const org = isServiceOwner ? orgCodeOf(orgNumber) : undefined;
    const altinnToken = mint({ clientId: mp.client_id, consumer: mp.consumer, scope: mp.scope, orgNumber, org });
    core.counters.exchangesIssued++;
    if (settings.exchangeFormat === 'json') return sendJson(ctx.res, 200, altinnToken);
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(altinnToken) });
    ctx.res.end(altinnToken);
  }

  function verifyAltinnToken(token: string): AltinnTokenClaims | undefined {
    const jwt = decodeJwt(token);
    if (!jwt || !verifyJwtSignature(jwt, core.verifyKey)) return undefined;
    const c = jwt.payload as Partial<AltinnTokenClaims>;
    if (c.iss !== issuer() || typeof c.exp !== 'number' || c.exp <= seconds(core.now())) return undefined;
    return c as AltinnTokenClaims;
  }

  /**
   * The check every Altinn API does: 401 without a valid Altinn token, 403 when the token lacks the
   * scope or is not the service owner `org` the resource belongs to.
   */
  function authorize(ctx: Ctx, need: { scope: string; org?: string }): AltinnTokenClaims {
    const token = bearer(ctx.req);
    const claims = token ? verifyAltinnToken(token) : undefined;
    if (!claims) throw new HttpError(401, 'missing, invalid or expired Altinn token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    if (!claims.scope.split(' ').includes(need.scope)) throw new HttpError(403, `the token lacks the scope ${need.scope}`);
    if (need.org !== undefined && claims['urn:altinn:org'] !== need.org) throw new HttpError(403, `the token is not the service owner ${need.org}`);
    return claims;
  }

  const routes: Route[] = [{ name: 'authentication.exchange', method: 'GET', path: /^\/authentication\/api\/v1\/exchange\/maskinporten$/, handle: exchange }];
  return { routes, authorize, verifyAltinnToken, altinnToken };
}

export type Authentication = ReturnType<typeof createAuthentication>;
