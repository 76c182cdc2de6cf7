import type { StorageClient } from '../altinn/storageClient.js';
import { rewrapBody } from '../http/responseBody.js';
import type { Semaphore } from '../semaphore.js';

/**
 * Element streams open at once in this process, whatever batchSize × DOWNLOAD_CONCURRENCY allows: with
 * the blob store's shared block budget this bounds memory (about 16 × 4 MiB being read into blocks
 * plus the staged blocks) on a 2 GiB Flex Consumption instance.
 */
export const MAX_ELEMENT_STREAMS = 16;

/** The client with each data element's stream holding a permit from open until its body ends, fails or is cancelled. */
export function limitElementStreams(storage: StorageClient, streams: Semaphore): StorageClient {
  return {
    ...storage,
    async openDataElement(ref, elementId, signal, expectedBytes) {
      const release = await streams.acquire();
      try {
        return rewrapBody(await storage.openDataElement(ref, elementId, signal, expectedBytes), { onClose: release });
      } catch (e) {
        release();
        throw e;
      }
    },
  };
}
