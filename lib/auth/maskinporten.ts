import { z } from 'zod';
import { ReceiverError } from '../errors.js';
import { fetchOrThrow, isTransientStatus, parseJsonOrUndefined, snippet, type Fetch } from '../http/fetch.js';

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().int().positive(),
  scope: z.string().optional(),
});
export type MaskinportenToken = z.infer<typeof tokenResponseSchema>;

const errorResponseSchema = z.object({
  error: z.string().regex(/^[\w.-]{1,64}$/),
  error_description: z.string().optional(),
});

/** What an operator should look at for each of Maskinporten's error codes (RFC 6749 §5.2). */
const HINTS: Record<string, string> = {
  invalid_client: 'check MASKINPORTEN_CLIENT_ID and that the key (MASKINPORTEN_KID) or certificate is registered for that client',
  invalid_grant:
    'the grant was refused: check MASKINPORTEN_URL (audience), the key/certificate registration, and that this machine\'s clock is right',
  invalid_scope: 'check MASKINPORTEN_SCOPES: every scope must be granted to the client (and to MASKINPORTEN_CONSUMER_ORG when set)',
  unauthorized_client: 'the client may not use this grant or scope: check its registration in Maskinporten',
};

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TIMEOUT_MS = 30_000;

/**
 * POST the signed grant to `{maskinportenUrl}/token`. A refusal becomes a ReceiverError with code
 * `maskinporten-<error>` (e.g. `maskinporten-invalid_scope`) and Maskinporten's description; only
 * 5xx, 429 and network failures are retryable. Neither the assertion nor a token appears in the error.
 */
export async function requestMaskinportenToken(opts: { url: string; assertion: string; fetch: Fetch }): Promise<MaskinportenToken> {
  const res = await fetchOrThrow(
    opts.fetch,
    `${opts.url.replace(/\/+$/, '')}/token`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion: opts.assertion }).toString(),
    },
    { code: 'maskinporten-unreachable', redirectCode: 'maskinporten-redirect', label: 'Maskinporten', timeoutMs: TIMEOUT_MS },
  );
  const retryable = isTransientStatus(res.status);
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    const body = errorResponseSchema.safeParse(parseJsonOrUndefined(text));
    if (body.success) {
      const { error, error_description: description } = body.data;
      const hint = HINTS[error];
      throw new ReceiverError(
        `Maskinporten refused the token request (${res.status} ${error}${description ? `: ${snippet(description)}` : ''})${hint ? `; ${hint}` : ''}`,
        { code: `maskinporten-${error}`, retryable, status: res.status },
      );
    }
    throw new ReceiverError(`Maskinporten answered ${res.status}${text ? `: ${snippet(text)}` : ''}`, {
      code: `maskinporten-http-${res.status}`,
      retryable,
      status: res.status,
    });
  }
  const parsed = tokenResponseSchema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) {
    throw new ReceiverError('Maskinporten answered 200 without a usable access_token/expires_in', {
      code: 'maskinporten-bad-response',
      retryable: true,
      status: res.status,
    });
  }
  return parsed.data;
}
