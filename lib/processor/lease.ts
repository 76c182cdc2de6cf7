import type { ContainerClient } from '@azure/storage-blob';
import { tryLease } from '../blob/lease.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceFolder, instanceId, type InstanceRef } from '../queue/messages.js';

/**
 * One run per instance across processes: an exclusive blob lease on `{instance folder}/.lock`, held
 * around download → manifest → complete → ready and renewed while held. A holder that dies stops
 * renewing, and the lease lapses after LEASE_SECONDS.
 */
const LEASE_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;

export const lockPath = (ref: InstanceRef) => `${instanceFolder(ref)}/.lock`;

export interface InstanceLease {
  /**
   * True when this acquisition created the lock blob: no run has ever held this instance before, so
   * it left no manifest and no element blobs behind (a folder is written only under its lease).
   */
  readonly first: boolean;
  /** Throws a retryable `instance-lease-lost` when another process has taken the instance over. */
  confirm(): Promise<void>;
  release(): Promise<void>;
}

export interface InstanceLocks {
  /**
   * The instance's lease, or undefined when another run (in any process) holds it. `tags`: blob index tags
   * for the lock blob when this call creates it (what the monitor lists as "known, not yet confirmed").
   */
  acquire(ref: InstanceRef, tags?: Record<string, string>): Promise<InstanceLease | undefined>;
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export function blobInstanceLocks(container: ContainerClient, log: Logger, leaseSeconds = LEASE_SECONDS): InstanceLocks {
  const renewEveryMs = Math.min(RENEW_EVERY_MS, (leaseSeconds * 1000) / 3);
  let tagsRefused = false;
  const take = async (ref: InstanceRef, tags: Record<string, string> | undefined) => {
    const blob = container.getBlockBlobClient(lockPath(ref));
    try {
      return await tryLease(blob, leaseSeconds, tagsRefused ? undefined : tags);
    } catch (e) {
      // An account or role without blob index tags: lock without them (the monitor's figures only lack this instance).
      if (!tags || tagsRefused || ![400, 403].includes(statusOf(e) ?? 0)) throw e;
      tagsRefused = true;
      return tryLease(blob, leaseSeconds);
    }
  };
  return {
    async acquire(ref, tags) {
      const taken = await take(ref, tags);
      if (!taken) return undefined;
      const { lease } = taken;
      let lost: unknown;
      // When the lease was last known held (acquired or renewed): it stays ours for leaseSeconds after.
      let heldAt = Date.now();
      const renew = async () => {
        try {
          const t = Date.now();
          await lease.renewLease();
          heldAt = t;
        } catch (e) {
          // 409/412: the lease expired and someone else took it; anything else (network) is tried again.
          if (statusOf(e) === 409 || statusOf(e) === 412) lost ??= e;
          throw e;
        }
      };
      const timer = setInterval(() => {
        renew().catch((error: unknown) => log.warn('could not renew the instance lease', { stage: 'lease', error }));
      }, renewEveryMs);
      timer.unref();
      return {
        first: taken.created,
        async confirm() {
          // Held within the last third of its duration: still ours for at least two thirds, no request
          // needed (a storage transaction each). Older (a renewal failed or is late): renew now.
          if (lost === undefined && Date.now() - heldAt >= renewEveryMs) await renew().catch(() => undefined);
          if (lost !== undefined) {
            throw new ReceiverError('the instance lease was lost to another process', {
              code: 'instance-lease-lost',
              retryable: true,
              instanceId: instanceId(ref),
              cause: lost,
            });
          }
        },
        async release() {
          clearInterval(timer);
          if (lost !== undefined) return;
          await lease.releaseLease().catch((error: unknown) => log.warn('could not release the instance lease (it lapses by itself)', { stage: 'lease', error }));
        },
      };
    },
  };
}
