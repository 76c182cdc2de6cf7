import type { Clock } from '../../lib/clock.js';

/**
 * Time that moves only when told or when the code under test sleeps (`sleep` advances it instead of
 * waiting), so no test waits for a backoff or a Retry-After. `sleeps` records every wait asked for.
 * Starts on a whole second.
 */
export function fakeClock(
  start = Math.ceil(Date.now() / 1000) * 1000,
): Clock & { sleeps: number[]; set(ms: number): void; advance(ms: number): void } {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: (ms) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    set: (ms) => void (t = ms),
    advance: (ms) => void (t += ms),
  };
}
