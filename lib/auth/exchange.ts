import { decodeJwt } from 'jose';
import { z } from 'zod';
import { ReceiverError } from '../errors.js';
import { errorBodySnippet, fetchOrThrow, isTransientStatus, parseJsonOrUndefined, type Fetch } from '../http/fetch.js';

export interface AltinnToken {
  token: string;
  /** Expiry from the token's own `exp`, in epoch milliseconds. */
  expiresAt: number;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const TIMEOUT_MS = 30_000;
/** Altinn has answered both a bare JWT and a JSON string; accept either. */
const exchangeBodySchema = z.string().trim().regex(JWT_SHAPE);
const ORG_CLAIM = 'urn:altinn:org';
const claimsSchema = z.object({ exp: z.number().positive(), [ORG_CLAIM]: z.string().optional() });

/** Attempts before an exchange 401 counts: Altinn answers 401 for every failure there, transient ones included. */
const ATTEMPTS_ON_401 = 3;
const RETRY_DELAY_MS = 500;

export interface ExchangeOptions {
  platformUrl: string;
  maskinportenToken: string;
  fetch: Fetch;
  /** The org the token must speak for (ALTINN_ORG), with the scopes asked for, to name what is missing. */
  expect?: { org: string; scopes: string[] };
  /** Waits between 401 attempts (tests pass an immediate one). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Trade the Maskinporten access token for an Altinn token (`GET …/authentication/api/v1/exchange/maskinporten`).
 * altinn-authentication src/Authentication/Controllers/AuthenticationController.cs (`AuthenticateMaskinportenToken`):
 * any exception there (e.g. fetching Maskinporten's keys) answers 401, so a 401 is tried again before it
 * counts; and the `urn:altinn:org` claim is added only when a scope starts with `altinn:serviceowner`,
 * otherwise the answer is still 200, with a token no service-owner API accepts.
 */
export async function exchangeForAltinnToken(opts: ExchangeOptions): Promise<AltinnToken> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await exchangeOnce(opts);
    } catch (e) {
      if (!(e instanceof ReceiverError) || e.status !== 401 || attempt >= ATTEMPTS_ON_401) throw e;
      await sleep(RETRY_DELAY_MS * attempt);
    }
  }
}

async function exchangeOnce(opts: ExchangeOptions): Promise<AltinnToken> {
  const res = await fetchOrThrow(
    opts.fetch,
    `${opts.platformUrl.replace(/\/+$/, '')}/authentication/api/v1/exchange/maskinporten`,
    { method: 'GET', headers: { authorization: `Bearer ${opts.maskinportenToken}`, accept: 'application/json, text/plain' } },
    { code: 'altinn-exchange-unreachable', redirectCode: 'altinn-exchange-redirect', label: 'Altinn authentication (token exchange)', timeoutMs: TIMEOUT_MS },
  );
  if (!res.ok) {
    const said = await errorBodySnippet(res);
    const hint =
      res.status === 401 || res.status === 403
        ? '; Altinn did not accept the Maskinporten token: check that MASKINPORTEN_SCOPES holds altinn:serviceowner scopes and the client belongs to ALTINN_ORG'
        : '';
    throw new ReceiverError(`Altinn token exchange answered ${res.status}${said ? `: ${said}` : ''}${hint}`, {
      code: `altinn-exchange-${res.status}`,
      retryable: isTransientStatus(res.status),
      status: res.status,
    });
  }
  const text = (await res.text()).trim();
  const body = exchangeBodySchema.safeParse(text.startsWith('"') ? parseJsonOrUndefined(text) : text);
  const claims = body.success ? claimsSchema.safeParse(decodeClaims(body.data)) : undefined;
  if (!body.success || !claims?.success) {
    throw new ReceiverError('Altinn token exchange answered 200 without a JWT carrying an exp claim', {
      code: 'altinn-exchange-bad-response',
      retryable: true,
      status: res.status,
    });
  }
  if (opts.expect) checkOrg(claims.data[ORG_CLAIM], opts.expect);
  return { token: body.data, expiresAt: claims.data.exp * 1000 };
}

/** A token without our org is refused by every service-owner API (403): a configuration error, named here rather than there. */
function checkOrg(org: string | undefined, expect: { org: string; scopes: string[] }): void {
  if (org === expect.org) return;
  const asked = expect.scopes.join(' ');
  const message =
    org === undefined
      ? `the Altinn token has no ${ORG_CLAIM} claim: Altinn adds it only when a Maskinporten scope starts with altinn:serviceowner ` +
        `(e.g. altinn:serviceowner/instances.read); MASKINPORTEN_SCOPES asks for "${asked}"`
      : `the Altinn token speaks for org ${org}, not ALTINN_ORG (${expect.org}): the Maskinporten client belongs to another organisation`;
  throw new ReceiverError(message, { code: 'altinn-exchange-org', retryable: false });
}

/** Read (not verify: Altinn is the audience, we only need to know when it runs out) the token's claims. */
function decodeClaims(token: string): unknown {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
