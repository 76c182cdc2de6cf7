import { describe, expect, it } from 'vitest';
import { fakeClock } from './support/clock.js';
import { ReceiverError } from '../lib/errors.js';
import { isRetryable, parseRetryAfter, withRetry, type RetryPolicy } from '../lib/retry.js';


const transient = (extra: Partial<{ retryAfterSeconds: number }> = {}) =>
  new ReceiverError('503', { code: 'altinn-http-503', retryable: true, status: 503, ...extra });
const policy: RetryPolicy = { maxAttempts: 5, budgetMs: 60_000, baseDelayMs: 100, maxDelayMs: 1_000 };

/** Fails with the given errors in turn, then returns 'ok'. */
function failing(...errors: Error[]) {
  let calls = 0;
  const fn = (attempt: number) => {
    calls++;
    expect(attempt).toBe(calls);
    const e = errors.shift();
    return e === undefined ? Promise.resolve('ok') : Promise.reject(e);
  };
  return Object.assign(fn, { calls: () => calls });
}

describe('withRetry', () => {
  it('retries transient failures with exponential backoff (full jitter, capped)', async () => {
    const clock = fakeClock();
    const fn = failing(transient(), transient(), transient(), transient());
    const seen: number[] = [];
    await expect(withRetry(fn, { clock, policy, random: () => 1, onRetry: (_e, a) => seen.push(a) })).resolves.toBe('ok');
    expect(fn.calls()).toBe(5);
    expect(clock.sleeps).toEqual([100, 200, 400, 800]);
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('scales the backoff by the random factor and caps it at maxDelayMs', async () => {
    const clock = fakeClock();
    const fn = failing(transient(), transient(), transient(), transient());
    await withRetry(fn, { clock, policy: { ...policy, maxDelayMs: 250 }, random: () => 0.5 });
    expect(clock.sleeps).toEqual([50, 100, 125, 125]);
  });

  it('throws a permanent failure at once, without sleeping', async () => {
    const clock = fakeClock();
    const gone = new ReceiverError('404', { code: 'altinn-http-404', retryable: false, status: 404 });
    const fn = failing(gone);
    await expect(withRetry(fn, { clock, policy })).rejects.toBe(gone);
    expect(fn.calls()).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const clock = fakeClock();
    const last = transient();
    const fn = failing(transient(), transient(), last, transient());
    await expect(withRetry(fn, { clock, policy: { ...policy, maxAttempts: 3 }, random: () => 1 })).rejects.toBe(last);
    expect(fn.calls()).toBe(3);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('honours Retry-After when it is longer than the backoff', async () => {
    const clock = fakeClock();
    const fn = failing(transient({ retryAfterSeconds: 7 }));
    await withRetry(fn, { clock, policy: { ...policy, maxDelayMs: 100_000, budgetMs: 100_000 }, random: () => 1 });
    expect(clock.sleeps).toEqual([7_000]);
  });

  it('throws instead of waiting past the time budget (the host retries later)', async () => {
    const clock = fakeClock();
    const tooLong = transient({ retryAfterSeconds: 120 });
    const fn = failing(transient(), tooLong);
    await expect(withRetry(fn, { clock, policy, random: () => 1 })).rejects.toBe(tooLong);
    expect(clock.sleeps).toEqual([100]);
    expect(fn.calls()).toBe(2);
  });
});

describe('isRetryable', () => {
  it('reads ReceiverError.retryable', () => {
    expect(isRetryable(transient())).toBe(true);
    expect(isRetryable(new ReceiverError('x', { code: 'altinn-instance-invalid', retryable: false }))).toBe(false);
  });

  it('treats resets, refusals, timeouts and fetch failures as transient', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetryable(withCode('ECONNRESET'))).toBe(true);
    expect(isRetryable(withCode('ECONNREFUSED'))).toBe(true);
    expect(isRetryable(new TypeError('terminated', { cause: withCode('UND_ERR_SOCKET') }))).toBe(true);
    expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
    expect(isRetryable(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toBe(true);
  });

  it('does not retry programming errors', () => {
    expect(isRetryable(new Error('boom'))).toBe(false);
    expect(isRetryable(new TypeError('x is not a function'))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
