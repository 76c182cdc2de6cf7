import { RestError } from '@azure/storage-blob';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { connectionString } from '../dev/azurite.js';
import { INTERNAL_ERROR, SERVER_BUSY, startStorageProxy, type StorageProxy } from '../dev/storageProxy.js';
import { azureCall, isTransientAzureError } from '../lib/azure/call.js';
import { createStorageClients, type StorageClients } from '../lib/azure/storageClients.js';
import { WHOLE_BLOB_MAX } from '../lib/blob/blocks.js';
import { createBlobStore } from '../lib/blob/store.js';
import { ReceiverError } from '../lib/errors.js';
import { blobInstanceLocks } from '../lib/processor/lease.js';
import { createQueueSender } from '../lib/queue/sender.js';
import { isRetryable } from '../lib/retry.js';
import { memoryLogger } from './support/log.js';
import { uniqueName } from './support/storage.js';

/** Azure Storage's faults, from our proxy in front of the real Azurite: how each surfaces to the processor. */
const FAST_SDK_RETRY = { maxTries: 4, retryDelayInMs: 10, maxRetryDelayInMs: 50 };
let blobProxy: StorageProxy;
let queueProxy: StorageProxy;
let clients: StorageClients;

beforeAll(async () => {
  const { blobPort, queuePort } = inject('azurite');
  [blobProxy, queueProxy] = await Promise.all([
    startStorageProxy({ service: 'blob', target: { port: blobPort } }),
    startStorageProxy({ service: 'queue', target: { port: queuePort } }),
  ]);
  const cs = connectionString(blobProxy.port, queueProxy.port);
  clients = await createStorageClients({ kind: 'connectionString', connectionString: cs, accountName: 'devstoreaccount1' }, FAST_SDK_RETRY);
});
afterAll(() => Promise.all([blobProxy?.stop(), queueProxy?.stop()]));
beforeEach(() => {
  blobProxy.clear();
  queueProxy.clear();
});

async function container() {
  const c = clients.blob.getContainerClient(uniqueName('az'));
  await c.create();
  return c;
}

const caught = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('Azure Storage fault proxy', () => {
  it('forwards what no rule matches, names each operation, and answers a fault in Azure\'s own form', async () => {
    const c = await container();
    const store = createBlobStore(c);
    await store.putJson('a/instance.json', '{"x":1}');
    expect(await c.getBlobClient('a/instance.json').downloadToBuffer()).toEqual(Buffer.from('{"x":1}'));
    expect(blobProxy.requests.map((r) => r.op)).toEqual(expect.arrayContaining(['put-container', 'put-blob', 'get-blob']));

    blobProxy.add({ ops: ['put-blob'], effect: SERVER_BUSY, times: 1 });
    const raw = await caught(c.getBlockBlobClient('b').upload('x', 1, { abortSignal: AbortSignal.timeout(10_000) }));
    // The SDK read the status and x-ms-error-code, and retried (503 is one StorageRetryPolicyV2 retries).
    expect(blobProxy.requests.filter((r) => r.op === 'put-blob' && r.faulted)).toHaveLength(1);
    expect(raw).toBeUndefined();

    blobProxy.add({ ops: ['put-blob'], effect: SERVER_BUSY });
    const e = (await caught(c.getBlockBlobClient('b').upload('x', 1))) as RestError;
    expect(e).toBeInstanceOf(RestError);
    expect(e.statusCode).toBe(503);
    expect(e.code).toBe('ServerBusy');
    expect(blobProxy.requests.filter((r) => r.op === 'put-blob' && r.faulted)).toHaveLength(1 + FAST_SDK_RETRY.maxTries);
  });
});

describe('transient Azure Storage errors are retryable', () => {
  it('503 ServerBusy and 500 on a single Put Blob, a commit and a JSON write come out as retryable azure-http errors', async () => {
    const c = await container();
    const store = createBlobStore(c);
    blobProxy.add({ ops: ['put-blob'], effect: SERVER_BUSY });
    const small = await caught(store.putStream('d/small', readable('hello'), { contentType: 'text/plain', expectedSize: 5 }));
    expect(small).toMatchObject({ code: 'azure-http-503', retryable: true });
    const json = await caught(store.putJson('d/manifest.json', '{}'));
    expect(json).toMatchObject({ code: 'azure-http-503', retryable: true });
    blobProxy.clear();
    blobProxy.add({ ops: ['put-block-list'], effect: INTERNAL_ERROR });
    // Over the single-Put-Blob size: staged blocks, then the commit that fails.
    const big = Buffer.alloc(WHOLE_BLOB_MAX + 10, 7);
    const commit = await caught(store.putStream('d/big', readable(big), { contentType: 'application/octet-stream', expectedSize: big.length }));
    expect(commit).toMatchObject({ code: 'azure-http-500', retryable: true });
    expect(isRetryable(commit)).toBe(true);
  });

  it('a raw RestError is classified by status and network code; 404, 409 and 412 are not transient', () => {
    const rest = (statusCode: number | undefined, code?: string) => new RestError('x', { statusCode, code });
    for (const s of [408, 429, 500, 502, 503, 504]) expect(isRetryable(rest(s))).toBe(true);
    for (const code of ['REQUEST_SEND_ERROR', 'ECONNRESET', 'ETIMEDOUT']) expect(isRetryable(rest(undefined, code))).toBe(true);
    for (const s of [400, 403, 404, 409, 412]) expect(isTransientAzureError(rest(s))).toBe(false);
    expect(isRetryable(rest(undefined, 'PARSE_ERROR'))).toBe(false);
  });

  it('a stalled call ends at its client-side deadline as a retryable azure-timeout; a reset as azure-unreachable', async () => {
    const c = await container();
    blobProxy.add({ ops: ['get-properties'], effect: { stall: true } });
    const stalled = await caught(azureCall('get blob properties', (abortSignal) => c.getBlobClient('x').getProperties({ abortSignal }), { timeoutMs: 300 }));
    expect(stalled).toBeInstanceOf(ReceiverError);
    expect(stalled).toMatchObject({ code: 'azure-timeout', retryable: true });
    blobProxy.clear();
    blobProxy.releaseStalled();
    blobProxy.add({ ops: ['get-properties'], effect: { reset: true } });
    const reset = await caught(azureCall('get blob properties', (abortSignal) => c.getBlobClient('x').getProperties({ abortSignal })));
    expect(reset).toMatchObject({ code: 'azure-unreachable', retryable: true });
    // The SDK retried the resets itself first (REQUEST_SEND_ERROR / ECONNRESET are in its list).
    expect(blobProxy.requests.filter((r) => r.outcome === 'reset')).toHaveLength(FAST_SDK_RETRY.maxTries);
  });

  it('a 404 passes through untouched (describe reads it as "no blob")', async () => {
    const c = await container();
    expect(await createBlobStore(c).describe('none')).toBeUndefined();
  });

  it('a queue send answered 503 is a retryable azure-http-503', async () => {
    const sender = createQueueSender(clients.queue);
    const q = uniqueName('q');
    await sender.send(q, { a: 1 });
    queueProxy.add({ ops: ['put-message'], effect: SERVER_BUSY });
    const e = await caught(sender.send(q, { a: 2 }));
    expect(e).toMatchObject({ code: 'azure-http-503', retryable: true });
  });
});

describe('the instance lease under failing renewals (monotonic clock)', () => {
  it('holds while a renewal succeeded within the lease, is lost once none has for its duration, and stays lost', async () => {
    const c = await container();
    let t = 0;
    const log = memoryLogger();
    const locks = blobInstanceLocks(c, log, { leaseSeconds: 15, clock: { now: () => t } });
    const ref = { org: 'ttd', app: 'a', partyId: '1', instanceGuid: '0b7c4a2e-5b1f-4d0e-9a51-3f1a2b3c4d5e' };
    const lease = (await locks.acquire(ref))!;
    await lease.confirm();
    blobProxy.add({ ops: ['lease-renew'], effect: SERVER_BUSY });
    t = 6_000; // past the renewal interval (5 s): confirm renews, fails, but 9 s are left
    await lease.confirm();
    expect(blobProxy.requests.filter((r) => r.op === 'lease-renew' && r.faulted).length).toBeGreaterThan(0);
    t = 11_000; // under a third of the lease left, no renewal succeeded: the run must stop
    await expect(lease.confirm()).rejects.toMatchObject({ code: 'instance-lease-lost', retryable: true });
    blobProxy.clear();
    // Renewals work again, but a lease once given up is not trusted again.
    await expect(lease.confirm()).rejects.toMatchObject({ code: 'instance-lease-lost' });
    await lease.release();
  });

  it('a renewal that succeeds keeps the lease however long the run takes', async () => {
    const c = await container();
    let t = 0;
    const locks = blobInstanceLocks(c, memoryLogger(), { leaseSeconds: 15, clock: { now: () => t } });
    const lease = (await locks.acquire({ org: 'ttd', app: 'a', partyId: '2', instanceGuid: '1b7c4a2e-5b1f-4d0e-9a51-3f1a2b3c4d5e' }))!;
    for (t = 6_000; t < 60_000; t += 6_000) await lease.confirm();
    expect(blobProxy.requests.filter((r) => r.op === 'lease-renew' && r.outcome === 200).length).toBeGreaterThanOrEqual(9);
    await lease.release();
  });
});

function readable(data: string | Buffer) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (data.length > 0) controller.enqueue(typeof data === 'string' ? Buffer.from(data) : data);
      controller.close();
    },
  });
}
