import type { RegisteredClient } from './clients.js';
import { seconds, type Core } from './core.js';
import { HttpError, readBody, sendJson, type Ctx, type Route } from './http.js';
import { newJti, signJwt, verifyIssuedJwt } from './jwt.js';
import { GrantError, verifyGrant, type GrantState } from './maskinportenGrant.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_LIFETIME_SECONDS = 120;

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
  const state: GrantState = { core, issuer: () => issuerOf(core), clients: new Map<string, RegisteredClient>(), usedJti: new Map<string, number>() };
  const routes: Route[] = [
    { name: 'maskinporten.metadata', method: 'GET', path: /^\/\.well-known\/oauth-authorization-server$/, handle: (ctx) => sendMetadata(core, ctx) },
    { name: 'maskinporten.jwk', method: 'GET', path: /^\/jwk$/, handle: (ctx) => sendJwks(core, ctx) },
    { name: 'maskinporten.token', method: 'POST', path: /^\/token$/, handle: (ctx) => handleToken(state, ctx) },
  ];
  return { clients: state.clients, routes, verifyAccessToken: (token: string) => verifyAccessToken(core, token), issuer: state.issuer };
}

export type Maskinporten = ReturnType<typeof createMaskinporten>;

function sendMetadata(core: Core, { res }: Ctx): void {
  sendJson(res, 200, {
    issuer: issuerOf(core),
    token_endpoint: `${core.urls.maskinporten}/token`,
    jwks_uri: `${core.urls.maskinporten}/jwk`,
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    grant_types_supported: [JWT_BEARER],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512'],
  });
}

function sendJwks(core: Core, { res }: Ctx): void {
  sendJson(res, 200, { keys: [{ ...core.verifyKey.export({ format: 'jwk' }), kid: 'sim-maskinporten', alg: 'RS256', use: 'sig' }] });
}

/** POST /token: a JWT-bearer grant answered with an access token, or with Maskinporten's error and description. */
async function handleToken(state: GrantState, ctx: Ctx): Promise<void> {
  const { core } = state;
  core.counters.grants++;
  try {
    const grant = verifyGrant(state, await readAssertion(ctx));
    core.counters.grantsIssued++;
    sendJson(ctx.res, 200, { access_token: issueToken(core, grant.client, grant.scope, grant.consumerOrg), token_type: 'Bearer', expires_in: TOKEN_LIFETIME_SECONDS, scope: grant.scope });
  } catch (e) {
    if (e instanceof GrantError) return sendJson(ctx.res, 400, { error: e.error, error_description: e.message });
    if (e instanceof HttpError) return sendJson(ctx.res, e.status, { error: 'invalid_request', error_description: e.message });
    throw e;
  }
}

/** The token request's form: a JWT-bearer grant_type and its assertion. */
async function readAssertion(ctx: Ctx): Promise<string> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(ctx.req.headers['content-type'] ?? '')) {
    throw new GrantError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams((await readBody(ctx.req)).toString('utf8'));
  const grantType = form.get('grant_type');
  if (!grantType) throw new GrantError('invalid_request', 'Missing grant_type');
  if (grantType !== JWT_BEARER) throw new GrantError('unsupported_grant_type', `Unsupported grant_type '${grantType}'`);
  const assertion = form.get('assertion');
  if (!assertion) throw new GrantError('invalid_request', 'Missing assertion');
  return assertion;
}

/** Claims of a Maskinporten access token this simulator issued and that is still valid; undefined otherwise. */
function verifyAccessToken(core: Core, token: string): MaskinportenTokenClaims | undefined {
  return verifyIssuedJwt<MaskinportenTokenClaims>(token, core.verifyKey, issuerOf(core), seconds(core.now()));
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
