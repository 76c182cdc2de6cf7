import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { connectionString } from '../../dev/azurite.js';
import { startStorageProxy, type StorageProxy } from '../../dev/storageProxy.js';

/**
 * Our fault proxy (dev/storageProxy.ts) in front of the suite's Azurite blob service, for the whole file, its
 * rules cleared before each test; `now` is its clock (a test's fake clock moves its outage windows).
 */
export function withBlobProxy(now: () => number, use: (proxy: StorageProxy) => void): void {
  let proxy: StorageProxy | undefined;
  beforeAll(async () => {
    proxy = await startStorageProxy({ service: 'blob', target: { port: inject('azurite').blobPort }, clock: { now } });
    use(proxy);
  });
  afterAll(() => proxy?.stop());
  beforeEach(() => proxy?.clear());
}

/** A connection string whose blob calls go through `proxy`, its queue calls straight to Azurite. */
export const viaBlobProxy = (proxy: StorageProxy): string => connectionString(proxy.port, inject('azurite').queuePort);
