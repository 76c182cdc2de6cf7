import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/**
 * An exclusive lease on `blob` (created empty first if missing), or undefined when someone else holds it.
 * Leases are 15–60 s in Azure: the holder renews; one that dies lets it lapse.
 */
export async function tryLease(blob: BlockBlobClient, seconds: number): Promise<BlobLeaseClient | undefined> {
  try {
    await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } });
  } catch (e) {
    // 409: it exists already; 412: it exists and is leased right now. Either way the lease decides.
    if (statusOf(e) !== 409 && statusOf(e) !== 412) throw e;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await lease.acquireLease(seconds);
  } catch (e) {
    if (statusOf(e) === 409) return undefined;
    throw e;
  }
  return lease;
}
