import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';
import { azureCall } from '../azure/call.js';

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/**
 * An exclusive lease on `blob` (created empty first if missing), or undefined when someone else holds it.
 * `created`: this call created the blob (with `tags`), so no one has held a lease on it before. Leases are 15–60 s
 * in Azure: the holder renews; one that dies lets it lapse.
 */
export async function tryLease(blob: BlockBlobClient, seconds: number, tags?: Record<string, string>): Promise<{ lease: BlobLeaseClient; created: boolean } | undefined> {
  let created = true;
  try {
    // `tags` (blob index tags) ride on the creating Put Blob: no extra transaction.
    await azureCall('put blob (lock)', (abortSignal) => blob.upload('', 0, { conditions: { ifNoneMatch: '*' }, abortSignal, ...(tags ? { tags } : {}) }));
  } catch (e) {
    // 409: it exists already; 412: it exists and is leased right now. Either way the lease decides.
    if (statusOf(e) !== 409 && statusOf(e) !== 412) throw e;
    created = false;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await azureCall('acquire lease', (abortSignal) => lease.acquireLease(seconds, { abortSignal }));
  } catch (e) {
    if (statusOf(e) === 409) return undefined;
    throw e;
  }
  return { lease, created };
}

const RUN_LEASE_SECONDS = 60;
const RUN_LEASE_RENEW_MS = 20_000;

export interface HeldLease {
  release(): Promise<void>;
}

/**
 * A run lease on `blob` (tryLease), renewed every 20 s while held; it lapses by itself within a minute if the
 * process dies. Undefined when someone else holds it. `what` names the holder in log lines.
 */
export async function holdRunLease(blob: BlockBlobClient, log: { warn(msg: string, fields?: Record<string, unknown>): void }, what: string): Promise<HeldLease | undefined> {
  const lease = (await tryLease(blob, RUN_LEASE_SECONDS))?.lease;
  if (!lease) return undefined;
  const renew = setInterval(() => {
    lease.renewLease().catch((error: unknown) => log.warn(`${what}: could not renew the run lease`, { error }));
  }, RUN_LEASE_RENEW_MS);
  renew.unref();
  return {
    async release() {
      clearInterval(renew);
      await lease.releaseLease().catch((error: unknown) => log.warn(`${what}: could not release the run lease (it lapses within a minute)`, { error }));
    },
  };
}
