import type { TokenProvider } from '../auth/index.js';
import { fetchOrThrow, errorBodySnippet, isTransientStatus, type Fetch } from '../http/fetch.js';
import { systemClock, type Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { rewrapBody } from '../http/responseBody.js';
import { parseRetryAfter } from '../retry.js';

export interface AltinnRequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** Sent again after a 401, so it must be replayable: a string or bytes, not a stream. */
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Carried into errors so an operator sees which instance failed. */
  instanceId?: string;
  /** The body's declared size (a data element's `size`): the body's total time limit grows with it. */
  expectedBytes?: number | undefined;
}

export interface AltinnHttp {
  /** A 2xx response, unread (stream it); anything else throws a ReceiverError `altinn-http-<status>`. */
  request(url: string, init?: AltinnRequestInit): Promise<Response>;
}

/** Bounds on every Altinn request, so no request or body can hang an invocation until functionTimeout. */
export interface AltinnTimeouts {
  /** From sending the request (connect included) to the response headers. */
  headersMs: number;
  /** Longest wait for the next body bytes while the reader is asking for them. */
  idleBodyMs: number;
  /**
   * The whole body, from the response headers to its end: `bodyBaseMs` plus `bodyMsPerMiB` per MiB of
   * `expectedBytes`. Without it a server trickling a byte before each idle limit could hold a request forever.
   */
  bodyBaseMs: number;
  bodyMsPerMiB: number;
}

/** A body must average 1 MiB/s (after a 2 min start): a 1 GiB element gets 19 min, within functionTimeout (30 min). */
const DEFAULT_TIMEOUTS: AltinnTimeouts = { headersMs: 30_000, idleBodyMs: 60_000, bodyBaseMs: 120_000, bodyMsPerMiB: 1_000 };

/**
 * Every Altinn API call goes through here: adds the Altinn bearer token, and on a 401 drops that
 * token and tries once more with a fresh one (the token can be revoked or the clock be off).
 * Redirects are not followed (fetchOrThrow): a token must never travel to a URL we did not build.
 * No retries for anything else: callers wrap requests in withRetry, which reads `retryable`.
 */
export function createAltinnHttp(opts: { tokens: TokenProvider; fetch?: Fetch; log: Logger; clock?: Clock; timeouts?: AltinnTimeouts }): AltinnHttp {
  const fetchFn = opts.fetch ?? fetch;
  const clock = opts.clock ?? systemClock;
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const log = opts.log.child({ component: 'altinn-http' });

  async function send(url: string, init: AltinnRequestInit, token: string): Promise<Response> {
    const { instanceId, headers, expectedBytes, ...rest } = init;
    const label = `Altinn (${init.method ?? 'GET'} ${new URL(url).pathname})`;
    const deadline = new AbortController();
    const timedOut = (what: string) => () =>
      deadline.abort(new ReceiverError(`${label}: ${what}`, { code: 'altinn-timeout', retryable: true, instanceId }));
    const headersTimer = setTimeout(timedOut(`no response headers within ${timeouts.headersMs} ms`), timeouts.headersMs);
    let res: Response;
    try {
      res = await fetchOrThrow(
        fetchFn,
        url,
        { ...rest, headers: { ...headers, authorization: `Bearer ${token}` } },
        { code: 'altinn-unreachable', redirectCode: 'altinn-redirect', label, instanceId, deadline: deadline.signal },
      );
    } finally {
      clearTimeout(headersTimer);
    }
    const totalMs = timeouts.bodyBaseMs + Math.ceil(((expectedBytes ?? 0) / (1024 * 1024)) * timeouts.bodyMsPerMiB);
    const bodyTimer = setTimeout(timedOut(`body not finished within ${totalMs} ms (${expectedBytes ?? 0} bytes declared)`), totalMs);
    bodyTimer.unref();
    return withIdleTimeout(res, timeouts.idleBodyMs, timedOut(`no body bytes for ${timeouts.idleBodyMs} ms`), () => clearTimeout(bodyTimer));
  }

  return {
    async request(url, init = {}) {
      const token = await opts.tokens.getToken();
      let res = await send(url, init, token);
      if (res.status === 401) {
        await res.body?.cancel();
        opts.tokens.invalidate(token);
        log.info('Altinn answered 401; retrying once with a new token', { path: new URL(url).pathname, instanceId: init.instanceId });
        res = await send(url, init, await opts.tokens.getToken());
      }
      if (res.ok) return res;
      const said = await errorBodySnippet(res);
      const method = init.method ?? 'GET';
      throw new ReceiverError(`Altinn answered ${res.status} to ${method} ${new URL(url).pathname}${said ? `: ${said}` : ''}`, {
        code: `altinn-http-${res.status}`,
        status: res.status,
        retryable: isTransientStatus(res.status),
        retryAfterSeconds: parseRetryAfter(res.headers.get('retry-after'), clock.now()),
        instanceId: init.instanceId,
      });
    },
  };
}

/**
 * The response with a body that fails (through `onIdle`, which aborts the request) when the server
 * sends nothing for `idleMs` while the reader waits: time the reader itself spends elsewhere
 * (e.g. writing a block to storage) never counts.
 */
function withIdleTimeout(res: Response, idleMs: number, onIdle: () => void, onClose: () => void): Response {
  return rewrapBody(res, {
    onClose,
    aroundRead: async (read) => {
      const timer = setTimeout(onIdle, idleMs);
      try {
        return await read();
      } finally {
        clearTimeout(timer);
      }
    },
  });
}
