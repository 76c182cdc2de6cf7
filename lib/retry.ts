import type { Clock } from './clock.js';
import { isTransientAzureError } from './azure/call.js';
import { ReceiverError } from './errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Give up once this much time has passed since the first attempt (the invocation then throws, and the host retries). */
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, budgetMs: 60_000, baseDelayMs: 250, maxDelayMs: 10_000 };

/**
 * Retryable: a ReceiverError that says so, a network-level failure (reset, refused, timeout), or an
 * Azure SDK RestError that is transient (408, 429, 5xx, REQUEST_SEND_ERROR and other network codes).
 */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ReceiverError) return e.retryable;
  if (isTransientAzureError(e)) return true;
  const err = e as { name?: string; code?: string; cause?: { code?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return true;
  const code = err?.code ?? err?.cause?.code;
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'].includes(
    code ?? '',
  ) || (err?.name === 'TypeError' && String((e as Error).message).includes('fetch failed'));
}

/**
 * Run `fn` until it succeeds, fails permanently, or the attempt count or time budget runs out.
 * Backoff is exponential with full jitter; a Retry-After the server sent is honoured (and may use up the budget).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: { clock: Clock; policy?: RetryPolicy; random?: () => number; onRetry?: (e: unknown, attempt: number, delayMs: number) => void },
): Promise<T> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  const random = opts.random ?? Math.random;
  const start = opts.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetryable(e) || attempt >= policy.maxAttempts) throw e;
      const asked = e instanceof ReceiverError && e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : undefined;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * random();
      const delayMs = Math.max(asked ?? 0, backoff);
      if (opts.clock.now() - start + delayMs > policy.budgetMs) throw e;
      opts.onRetry?.(e, attempt, delayMs);
      await opts.clock.sleep(delayMs);
    }
  }
}

/** Retry-After as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}
