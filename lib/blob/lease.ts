import type { BlobLeaseClient, BlockBlobClient } from '@azure/storage-blob';

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
    await blob.upload('', 0, { conditions: { ifNoneMatch: '*' }, ...(tags ? { tags } : {}) });
  } catch (e) {
    // 409: it exists already; 412: it exists and is leased right now. Either way the lease decides.
    if (statusOf(e) !== 409 && statusOf(e) !== 412) throw e;
    created = false;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await lease.acquireLease(seconds);
  } catch (e) {
    if (statusOf(e) === 409) return undefined;
    throw e;
  }
  return { lease, created };
}
