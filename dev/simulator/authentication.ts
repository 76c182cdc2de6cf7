import type { IncomingMessage } from 'node:http';
import { DEFAULT_CLIENT_SCOPES } from './clients.js';
import { seconds, type Core } from './core.js';
import { HttpError, sendJson, type Ctx, type Route } from './http.js';
import { newJti, signJwt, verifyIssuedJwt } from './jwt.js';
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

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

const issuerOf = (core: Core) => `${core.urls.platform}/authentication/api/v1/openid/`;

/** Org numbers the simulated Altinn knows as service owners. */
const orgCodeOf = (core: Core, orgNumber: string) => (orgNumber === core.orgNumber ? core.org : undefined);

interface Minted {
  clientId: string;
  consumer: object;
  scope: string;
  orgNumber: string;
  org: string | undefined;
}

function mint(core: Core, o: Minted): string {
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
      iss: issuerOf(core),
    },
    core.signingKey,
    { kid: 'sim-altinn' },
  );
}

/** An Altinn token without the Maskinporten round trip (tests of the APIs themselves); org defaults to the simulated org. */
function testToken(core: Core, o: { scope?: string; org?: string | null }): string {
  const org = o.org === null ? undefined : (o.org ?? core.org);
  return mint(core, { clientId: 'sim-test', consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${core.orgNumber}` }, scope: o.scope ?? DEFAULT_CLIENT_SCOPES.join(' '), orgNumber: core.orgNumber, org });
}

function exchange(core: Core, maskinporten: Maskinporten, settings: { exchangeFormat: ExchangeFormat }, ctx: Ctx): void {
  core.counters.exchanges++;
  const token = bearer(ctx.req);
  const mp = token ? maskinporten.verifyAccessToken(token) : undefined;
  if (!mp) throw new HttpError(401, 'the bearer token is not a valid Maskinporten token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  const orgNumber = mp.consumer.ID.replace(/^0192:/, '');
  const isServiceOwner = mp.scope.split(' ').some((s) => s.startsWith(SERVICEOWNER_SCOPE_PREFIX));
  const org = isServiceOwner ? orgCodeOf(core, orgNumber) : undefined;
  const altinnToken = mint(core, { clientId: mp.client_id, consumer: mp.consumer, scope: mp.scope, orgNumber, org });
  core.counters.exchangesIssued++;
  if (settings.exchangeFormat === 'json') return sendJson(ctx.res, 200, altinnToken);
  ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(altinnToken) });
  ctx.res.end(altinnToken);
}

function verifyAltinnToken(core: Core, token: string): AltinnTokenClaims | undefined {
  return verifyIssuedJwt<AltinnTokenClaims>(token, core.verifyKey, issuerOf(core), seconds(core.now()));
}

/** A valid Altinn token's claims, whatever its scope; 401 without one. */
function authenticate(core: Core, ctx: Ctx): AltinnTokenClaims {
  const token = bearer(ctx.req);
  const claims = token ? verifyAltinnToken(core, token) : undefined;
  if (!claims) throw new HttpError(401, 'missing, invalid or expired Altinn token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  return claims;
}

/**
 * The check every Altinn API does: 401 without a valid Altinn token, 403 when the token lacks the
 * scope or is not the service owner `org` the resource belongs to.
 */
function authorize(core: Core, ctx: Ctx, need: { scope: string; org?: string }): AltinnTokenClaims {
  const claims = authenticate(core, ctx);
  if (!claims.scope.split(' ').includes(need.scope)) throw new HttpError(403, `the token lacks the scope ${need.scope}`);
  if (need.org !== undefined && claims['urn:altinn:org'] !== need.org) throw new HttpError(403, `the token is not the service owner ${need.org}`);
  return claims;
}

export function createAuthentication(core: Core, maskinporten: Maskinporten, settings: { exchangeFormat: ExchangeFormat }) {
  const routes: Route[] = [
    { name: 'authentication.exchange', method: 'GET', path: /^\/authentication\/api\/v1\/exchange\/maskinporten$/, handle: (ctx) => exchange(core, maskinporten, settings, ctx) },
  ];
  return {
    routes,
    /** An Altinn token, no particular scope (the Events API checks scopes per request). */
    authenticate: (ctx: Ctx) => authenticate(core, ctx),
    authorize: (ctx: Ctx, need: { scope: string; org?: string }) => authorize(core, ctx, need),
    verifyAltinnToken: (token: string) => verifyAltinnToken(core, token),
    altinnToken: (o: { scope?: string; org?: string | null } = {}) => testToken(core, o),
  };
}

export type Authentication = ReturnType<typeof createAuthentication>;
