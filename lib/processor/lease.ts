import type { ContainerClient } from '@azure/storage-blob';
import { tryLease } from '../blob/lease.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceFolder, instanceId, type InstanceRef } from '../messages.js';

/**
 * One run per instance across processes: an exclusive blob lease on `{instance folder}/.lock`, held
 * around download → manifest → complete → ready and renewed while held. A holder that dies stops
 * renewing, and the lease lapses after LEASE_SECONDS.
 */
export const LEASE_SECONDS = 30;
const RENEW_EVERY_MS = 10_000;

export const lockPath = (ref: InstanceRef) => `${instanceFolder(ref)}/.lock`;

export interface InstanceLease {
  /** Renew now; throws a retryable `instance-lease-lost` when another process has taken the instance over. */
  confirm(): Promise<void>;
  release(): Promise<void>;
}

export interface InstanceLocks {
  /** The instance's lease, or undefined when another run (in any process) holds it. */
  acquire(ref: InstanceRef): Promise<InstanceLease | undefined>;
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export function blobInstanceLocks(container: ContainerClient, log: Logger, leaseSeconds = LEASE_SECONDS): InstanceLocks {
  return {
    async acquire(ref) {
      const lease = await tryLease(container.getBlockBlobClient(lockPath(ref)), leaseSeconds);
      if (!lease) return undefined;
      let lost: unknown;
      const renew = async () => {
        try {
          await lease.renewLease();
        } catch (e) {
          // 409/412: the lease expired and someone else took it; anything else (network) is tried again.
          if (statusOf(e) === 409 || statusOf(e) === 412) lost ??= e;
          throw e;
        }
      };
      const timer = setInterval(() => {
        renew().catch((error: unknown) => log.warn('could not renew the instance lease', { stage: 'lease', error }));
      }, RENEW_EVERY_MS);
      timer.unref();
      return {
        async confirm() {
          if (lost === undefined) await renew().catch(() => undefined);
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
