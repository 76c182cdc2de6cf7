import type { ApplicationCatalog } from '../altinn/applications.js';
import type { StorageClient } from '../altinn/storageClient.js';
import type { BlobStore } from '../blob/store.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Fields, Logger } from '../log.js';
import type { QueueSender } from '../queue/sender.js';
import { withRetry, type RetryPolicy } from '../retry.js';
import type { Deferral } from './defer.js';
import type { InstanceLocks } from './lease.js';

/** What the processor's stages are given: wired once in lib/runtime.ts (tests wire their own). */
export interface ProcessorDeps {
  config: Pick<Config, 'org' | 'apps' | 'dataTypes' | 'downloadConcurrency' | 'confirmOnInfected' | 'substatusLabel' | 'deferHorizonHours' | 'deferBaseSeconds' | 'settleSeconds' | 'healWindowMinutes'>;
  storage: StorageClient;
  /** The apps' declared data types, to check ALTINN_DATA_TYPES before anything is confirmed. */
  applications: ApplicationCatalog;
  store: BlobStore;
  queues: Pick<QueueSender, 'send'>;
  /** One run per instance across processes (blobInstanceLocks). */
  locks: InstanceLocks;
  clock: Clock;
  log: Logger;
  retry?: { policy?: RetryPolicy; random?: () => number };
}

export type Outcome =
  /** Not processable (malformed message, instance gone or forbidden), or transient trouble past the horizon: put on the poison queue with the reason. */
  | { kind: 'poisoned'; reason: string }
  /** Already confirmed by our org, the manifest current and the ready message sent: nothing to do. */
  | { kind: 'already-done' }
  /** Stored (or found stored) and confirmed; `downloaded` counts elements fetched from Altinn in this run. */
  | { kind: 'confirmed'; downloaded: number; bytes: number }
  /** Stored, but an element is infected and CONFIRM_ON_INFECTED is off: not confirmed, no ready message. */
  | { kind: 'held-infected'; infected: string[] }
  /** The instance's process has not ended: nothing downloaded or confirmed; the completed event or the reconciler brings it back. */
  | { kind: 'process-not-ended' }
  /** Transient trouble outlasted the in-invocation retries, or another process holds the instance: the message comes back later. */
  | Deferral;

/** A run's log with its stage helpers: `retry` logs each retry under the stage, `timed` logs the stage's line with its duration. */
export interface Stages {
  log: Logger;
  started: number;
  retry: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
  timed: <T>(stage: string, fn: () => Promise<T>, fields?: (r: T) => Fields) => Promise<T>;
}

export function stages(deps: ProcessorDeps, log: Logger): Stages {
  const { clock } = deps;
  return {
    log,
    started: clock.now(),
    retry: (stage, fn) =>
      withRetry(fn, {
        clock,
        policy: deps.retry?.policy,
        random: deps.retry?.random,
        onRetry: (error, attempt, delayMs) => log.warn('retrying', { stage, attempt, delayMs: Math.round(delayMs), error }),
      }),
    timed: async (stage, fn, fields = () => ({})) => {
      const t0 = clock.now();
      const result = await fn();
      log.info(stage, { stage, durationMs: clock.now() - t0, ...fields(result) });
      return result;
    },
  };
}
