import { ReceiverError, type ErrorCode } from '../errors.js';
import { redact } from '../redact.js';

export type Fetch = typeof fetch;

/** Statuses where asking again later can succeed. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * fetch, with a failure to reach the server (refused, reset, our own timeout or `deadline`) turned into a
 * retryable ReceiverError. An abort the caller asked for (its signal) is passed through untouched.
 * Redirects are never followed (every caller sends a grant or a token, or builds its URL from settings):
 * a 3xx is a ReceiverError `what.redirectCode` naming the host it pointed at, so nothing is re-sent elsewhere.
 */
export async function fetchOrThrow(
  fetchFn: Fetch,
  url: string,
  init: RequestInit,
  what: {
    code: ErrorCode;
    redirectCode: ErrorCode;
    label: string;
    timeoutMs?: number;
    instanceId?: string | undefined;
    deadline?: AbortSignal | undefined;
  },
): Promise<Response> {
  const callerSignal = init.signal ?? undefined;
  const signals = [callerSignal, what.deadline, what.timeoutMs === undefined ? undefined : AbortSignal.timeout(what.timeoutMs)].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, redirect: 'manual', ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
  } catch (e) {
    if (callerSignal?.aborted) throw e;
    const reason = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new ReceiverError(`${what.label} could not be reached (${reason})`, {
      code: what.code,
      retryable: true,
      instanceId: what.instanceId,
      cause: e,
    });
  }
  if (isRedirect(res.status)) {
    await res.body?.cancel();
    throw new ReceiverError(
      `${what.label} answered ${res.status}, a redirect to ${redirectHost(url, res.headers.get('location'))}: refused, so no grant or token ` +
        'travels to another address; check the URL setting',
      { code: what.redirectCode, retryable: false, status: res.status, instanceId: what.instanceId },
    );
  }
  return res;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

/** Only the origin of the Location (its path or query may carry what we must not print). */
function redirectHost(url: string, location: string | null): string {
  if (!location) return 'an unnamed location';
  try {
    return new URL(location, url).origin;
  } catch {
    return 'an unparsable location';
  }
}

/** The first characters of a server's answer, scrubbed and on one line: enough for an operator to see what it said. */
export function snippet(text: string, max = 300): string {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export async function errorBodySnippet(res: Response): Promise<string> {
  return snippet(await res.text().catch(() => ''));
}

export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
