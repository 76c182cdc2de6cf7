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
 */
export async function fetchOrThrow(
  fetchFn: Fetch,
  url: string,
  init: RequestInit,
  what: { code: ErrorCode; label: string; timeoutMs?: number; instanceId?: string | undefined; deadline?: AbortSignal | undefined },
): Promise<Response> {
  const callerSignal = init.signal ?? undefined;
  const signals = [callerSignal, what.deadline, what.timeoutMs === undefined ? undefined : AbortSignal.timeout(what.timeoutMs)].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  try {
    return await fetchFn(url, { ...init, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
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
