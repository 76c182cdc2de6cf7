import { setTimeout as delay } from 'node:timers/promises';

/** Time as a collaborator: tests pass a fake one instead of mocking globals. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : undefined),
};
