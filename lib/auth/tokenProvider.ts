import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { exchangeForAltinnToken, type AltinnToken } from './exchange.js';
import { grantClaims, signGrant } from './grant.js';
import { requestMaskinportenToken } from './maskinporten.js';
import type { Fetch } from '../http/fetch.js';
import { loadSigningKey, type MaskinportenSettings } from './signingKey.js';

export interface TokenProvider {
  /** A valid Altinn token: cached, refreshed `refreshMarginSeconds` before it expires, one refresh at a time. */
  getToken(): Promise<string>;
  /** Drop `token` (Altinn answered 401 to it) unless a newer one has already replaced it. */
  invalidate(token: string): void;
}

export interface TokenProviderOptions {
  maskinporten: MaskinportenSettings;
  platformUrl: string;
  /** ALTINN_ORG: the exchanged token must carry it (`urn:altinn:org`); absent = not checked. */
  org?: string;
  clock: Clock;
  fetch?: Fetch;
  log: Logger;
  /** Waits between exchange attempts after a 401 (tests pass an immediate one). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * How long a refusal that no retry can fix (unknown client, scope not granted, a token without our org)
 * is answered from memory: a backlog of deferred messages then costs Maskinporten one grant a minute per
 * process, not one per message. Changed app settings restart the app, so a fix is never kept waiting.
 */
const REFUSAL_MEMORY_MS = 60_000;

/**
 * Maskinporten grant → Maskinporten token → Altinn token, once per token lifetime per process.
 * The key is parsed here, so a bad MASKINPORTEN_KEY/CERTIFICATE throws a ConfigError at start-up.
 */
export function createTokenProvider(opts: TokenProviderOptions): TokenProvider {
  const key = loadSigningKey(opts.maskinporten);
  const fetchFn = opts.fetch ?? fetch;
  const { clock } = opts;
  const log = opts.log.child({ component: 'auth' });
  const marginMs = opts.maskinporten.refreshMarginSeconds * 1000;

  let current: (AltinnToken & { refreshAt: number }) | undefined;
  let inFlight: Promise<AltinnToken & { refreshAt: number }> | undefined;
  let refused: { error: ReceiverError; until: number } | undefined;

  async function fetchNew() {
    const assertion = await signGrant(key, grantClaims(opts.maskinporten, clock.now()));
    const mp = await requestMaskinportenToken({ url: opts.maskinporten.url, assertion, fetch: fetchFn });
    const altinn = await exchangeForAltinnToken({
      platformUrl: opts.platformUrl,
      maskinportenToken: mp.access_token,
      fetch: fetchFn,
      ...(opts.org ? { expect: { org: opts.org, scopes: opts.maskinporten.scopes } } : {}),
      ...(opts.sleep ? { sleep: opts.sleep } : {}),
    });
    const now = clock.now();
    // A token living less than twice the margin would otherwise be refreshed on every call: refresh it halfway instead.
    const refreshAt = altinn.expiresAt - Math.min(marginMs, Math.max(0, (altinn.expiresAt - now) / 2));
    log.info('Altinn token obtained', { expiresInSeconds: Math.round((altinn.expiresAt - now) / 1000), scopes: opts.maskinporten.scopes.join(' ') });
    return { ...altinn, refreshAt };
  }

  function refresh() {
    inFlight ??= fetchNew()
      .then((t) => (current = t))
      .catch((e: unknown) => {
        log.warn('Altinn token refresh failed', { err: e });
        if (e instanceof ReceiverError && !e.retryable) refused = { error: e, until: clock.now() + REFUSAL_MEMORY_MS };
        throw e;
      })
      .finally(() => (inFlight = undefined));
    return inFlight;
  }

  return {
    async getToken() {
      const now = clock.now();
      if (current && now < current.refreshAt) return current.token;
      if (refused && now < refused.until && !current) throw refused.error;
      try {
        return (await refresh()).token;
      } catch (e) {
        // Inside the margin the old token still works: ride out a Maskinporten hiccup on it. Transient failures are never cached.
        if (current && clock.now() < current.expiresAt) return current.token;
        throw e;
      }
    },
    invalidate(token) {
      if (current?.token === token) current = undefined;
    },
  };
}
