import type { BlobLeaseClient, ContainerClient } from '@azure/storage-blob';
import { azureCall } from '../azure/call.js';
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

/** Milliseconds on a clock that never jumps (performance.now): wall-clock changes must not stretch a lease. */
export interface MonotonicClock {
  now(): number;
}
export const monotonicClock: MonotonicClock = { now: () => performance.now() };

export interface InstanceLease {
  /**
   * True when this acquisition created the lock blob: no run has ever held this instance before, so
   * it left no manifest and no element blobs behind (a folder is written only under its lease).
   */
  readonly first: boolean;
  /**
   * Resolves when the lease is ours for at least a third of its duration more (renewing first when
   * the last renewal is that old); else throws a retryable `instance-lease-lost`, and every later call does too.
   */
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

export interface LockOptions {
  leaseSeconds?: number;
  clock?: MonotonicClock;
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

export function blobInstanceLocks(container: ContainerClient, log: Logger, opts: LockOptions = {}): InstanceLocks {
  const leaseMs = (opts.leaseSeconds ?? LEASE_SECONDS) * 1000;
  const clock = opts.clock ?? monotonicClock;
  let tagsRefused = false;
  const take = async (ref: InstanceRef, tags: Record<string, string> | undefined) => {
    const blob = container.getBlockBlobClient(lockPath(ref));
    try {
      return await tryLease(blob, leaseMs / 1000, tagsRefused ? undefined : tags);
    } catch (e) {
      // An account or role without blob index tags: lock without them (the monitor's figures only lack this instance).
      if (!tags || tagsRefused || ![400, 403].includes(statusOf(e) ?? 0)) throw e;
      tagsRefused = true;
      return tryLease(blob, leaseMs / 1000);
    }
  };
  return {
    async acquire(ref, tags) {
      const startedAt = clock.now();
      const taken = await take(ref, tags);
      if (!taken) return undefined;
      return heldLease(taken, { ref, leaseMs, clock, log, heldAt: startedAt });
    },
  };
}

/**
 * The lease as this process knows it: `heldAt` is when the last successful renewal (or the acquisition)
 * was *sent*, so the service's expiry is never earlier than heldAt + leaseMs. Lost once that is past
 * without a renewal, or when the service says another holder has it (409/412); lost stays lost.
 */
function heldLease(
  taken: { lease: BlobLeaseClient; created: boolean },
  ctx: { ref: InstanceRef; leaseMs: number; clock: MonotonicClock; log: Logger; heldAt: number },
): InstanceLease {
  const { lease } = taken;
  const { ref, leaseMs, clock, log } = ctx;
  const renewEveryMs = Math.min(RENEW_EVERY_MS, leaseMs / 3);
  let heldAt = ctx.heldAt;
  let lost: { why: string; cause?: unknown } | undefined;
  let renewing: Promise<void> | undefined;
  const loseIt = (why: string, cause?: unknown) => {
    if (lost) return;
    lost = { why, cause };
    clearInterval(timer);
    log.warn('instance lease lost: this run stops before writing, confirming or announcing anything more', { stage: 'lease', why });
  };
  const expired = () => clock.now() - heldAt >= leaseMs;
  const renew = (): Promise<void> =>
    (renewing ??= (async () => {
      const sentAt = clock.now();
      try {
        // Bounded by what is left of the lease: an answer after that cannot keep it anyway.
        const timeoutMs = Math.max(1_000, Math.min(leaseMs, heldAt + leaseMs - sentAt));
        await azureCall('renew lease', (abortSignal) => lease.renewLease({ abortSignal }), { timeoutMs, instanceId: instanceId(ref) });
        if (!lost) heldAt = sentAt;
      } catch (e) {
        if (statusOf(e) === 409 || statusOf(e) === 412) loseIt('another process holds the lease', e);
        else log.warn('could not renew the instance lease', { stage: 'lease', error: e });
      } finally {
        renewing = undefined;
        if (expired()) loseIt(`no renewal succeeded within the lease's ${leaseMs / 1000} s`);
      }
    })());
  const timer = setInterval(() => void renew(), renewEveryMs);
  timer.unref();
  return {
    first: taken.created,
    async confirm() {
      if (!lost && clock.now() - heldAt >= renewEveryMs) await renew();
      // Less than a third of the lease ahead after trying to renew: stop rather than race a takeover.
      if (!lost && clock.now() - heldAt > leaseMs - renewEveryMs) loseIt(`not renewed for ${Math.round((clock.now() - heldAt) / 1000)} s of a ${leaseMs / 1000} s lease`);
      if (lost) {
        throw new ReceiverError(`the instance lease was lost (${lost.why}); stopped before writing, confirming or announcing`, {
          code: 'instance-lease-lost',
          retryable: true,
          instanceId: instanceId(ref),
          cause: lost.cause,
        });
      }
    },
    async release() {
      clearInterval(timer);
      if (lost) return;
      await azureCall('release lease', (abortSignal) => lease.releaseLease({ abortSignal })).catch((error: unknown) =>
        log.warn('could not release the instance lease (it lapses by itself)', { stage: 'lease', error }),
      );
    },
  };
}
