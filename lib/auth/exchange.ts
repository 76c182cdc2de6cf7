import { decodeJwt } from 'jose';
import { z } from 'zod';
import { ReceiverError } from '../errors.js';
import { errorBodySnippet, fetchOrThrow, isTransientStatus, parseJsonOrUndefined, type Fetch } from './remote.js';

export interface AltinnToken {
  token: string;
  /** Expiry from the token's own `exp`, in epoch milliseconds. */
  expiresAt: number;
}

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;
const TIMEOUT_MS = 30_000;
/** Altinn has answered both a bare JWT and a JSON string; accept either. */
const exchangeBodySchema = z.string().trim().regex(JWT_SHAPE);
const claimsSchema = z.object({ exp: z.number().positive() });

/** Trade the Maskinporten access token for an Altinn token (`GET …/authentication/api/v1/exchange/maskinporten`). */
export async function exchangeForAltinnToken(opts: { platformUrl: string; maskinportenToken: string; fetch: Fetch }): Promise<AltinnToken> {
  const res = await fetchOrThrow(
    opts.fetch,
    `${opts.platformUrl.replace(/\/+$/, '')}/authentication/api/v1/exchange/maskinporten`,
    { method: 'GET', headers: { authorization: `Bearer ${opts.maskinportenToken}`, accept: 'application/json, text/plain' } },
    { code: 'altinn-exchange-unreachable', label: 'Altinn authentication (token exchange)', timeoutMs: TIMEOUT_MS },
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
  return { token: body.data, expiresAt: claims.data.exp * 1000 };
}

/** Read (not verify: Altinn is the audience, we only need to know when it runs out) the token's claims. */
function decodeClaims(token: string): unknown {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
