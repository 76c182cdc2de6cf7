import type { ContainerClient } from '@azure/storage-blob';
import { holdRunLease, type HeldLease } from '../blob/lease.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/**
 * The reconciler's own small state, kept in the downloads container under `_reconcile/` (an org code
 * starts with a letter, so this never meets an instance folder):
 * - `_reconcile/run.lock`: leased while a run is going, so two processes never reconcile at once;
 * - `_reconcile/instances/{instanceGuid}`: an empty blob whose metadata `enqueuedat` says when a run last
 *   enqueued that instance; later runs skip it while the mark is younger than the TTL, so an instance
 *   whose message is still queued or being processed does not pile up more messages.
 */
export const STATE_PREFIX = '_reconcile';
const MARK_PREFIX = `${STATE_PREFIX}/instances/`;

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export interface EnqueueMarks {
  isRecent(instanceGuid: string): Promise<boolean>;
  mark(instanceGuid: string): Promise<void>;
  /** Delete marks older than the TTL; returns how many. */
  prune(): Promise<number>;
}

export function enqueueMarks(container: ContainerClient, clock: Clock, ttlMs: number): EnqueueMarks {
  const blob = (guid: string) => container.getBlockBlobClient(`${MARK_PREFIX}${guid}`);
  const fresh = (enqueuedAt: string | undefined) => {
    const at = Date.parse(enqueuedAt ?? '');
    return !Number.isNaN(at) && clock.now() - at < ttlMs;
  };
  return {
    async isRecent(guid) {
      try {
        return fresh((await blob(guid).getProperties()).metadata?.enqueuedat);
      } catch (e) {
        if (statusOf(e) === 404) return false;
        throw e;
      }
    },
    async mark(guid) {
      await blob(guid).upload('', 0, { metadata: { enqueuedat: new Date(clock.now()).toISOString() } });
    },
    async prune() {
      let pruned = 0;
      for await (const item of container.listBlobsFlat({ prefix: MARK_PREFIX, includeMetadata: true })) {
        if (fresh(item.metadata?.enqueuedat)) continue;
        await container.deleteBlob(item.name).catch((e: unknown) => {
          if (statusOf(e) !== 404) throw e;
        });
        pruned++;
      }
      return pruned;
    },
  };
}

export type RunLock = HeldLease;

/**
 * Take the run lease, or undefined when another run holds it. The lease is renewed while held and
 * lapses by itself within a minute if the process dies.
 */
export function acquireRunLock(container: ContainerClient, log: Logger): Promise<RunLock | undefined> {
  return holdRunLease(container.getBlockBlobClient(`${STATE_PREFIX}/run.lock`), log, 'reconcile');
}
