import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';
import { azureCall } from '../azure/call.js';

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/**
 * An exclusive lease on `blob` (created empty first if missing), or undefined when someone else holds it.
 * `created`: this call created the blob, so no one has held a lease on it before. Leases are 15–60 s
 * in Azure: the holder renews; one that dies lets it lapse.
 */
export async function tryLease(blob: BlockBlobClient, seconds: number): Promise<{ lease: BlobLeaseClient; created: boolean } | undefined> {
  let created = true;
  try {
    await azureCall('put blob (lock)', (abortSignal) => blob.upload('', 0, { conditions: { ifNoneMatch: '*' }, abortSignal }));
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
