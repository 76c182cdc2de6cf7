import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, uploadPlan, WHOLE_BLOB_MAX } from '../lib/blob/blocks.js';
import { createBlobStore } from '../lib/blob/store.js';
import { createSemaphore, type Semaphore } from '../lib/semaphore.js';
import { freshContainer } from './support/storage.js';

const MiB = 1024 * 1024;

/** Byte i of every test element is i mod 251: a chunk at any offset is a copy out of this pattern. */
const PATTERN = Buffer.from(Array.from({ length: 65536 + 251 }, (_, i) => i % 251));
function* generate(n: number) {
  for (let off = 0; off < n; off += 65536) yield Buffer.from(PATTERN.subarray(off % 251, (off % 251) + Math.min(65536, n - off)));
}
/** `n` such bytes in 64 KiB chunks, never all in memory at once. */
const source = (n: number) => Readable.from(generate(n));

function sha256Of(n: number): string {
  const h = createHash('sha256');
  for (const chunk of generate(n)) h.update(chunk);
  return h.digest('hex');
}

/** The store's budget, counting what is held at once. */
function countingBudget(bytes: number): Semaphore & { peak: number } {
  const inner = createSemaphore(bytes);
  let held = 0;
  const budget = {
    peak: 0,
    async acquire(weight = 1) {
      const release = await inner.acquire(weight);
      held += weight;
      budget.peak = Math.max(budget.peak, held);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        held -= weight;
        release();
      };
    },
  };
  return budget;
}

describe('block size from the declared size (lib/blob/blocks.ts)', () => {
  it('one Put Blob up to 32 MiB, 16 MiB blocks up to 256 MiB, 8 MiB above, bigger blocks only where 50,000 would not hold the element', () => {
    expect(uploadPlan(0)).toEqual({ kind: 'whole', bytes: 0 });
    expect(uploadPlan(10 * 1024)).toEqual({ kind: 'whole', bytes: 10 * 1024 });
    expect(uploadPlan(32 * MiB)).toEqual({ kind: 'whole', bytes: 32 * MiB });
    expect(uploadPlan(32 * MiB + 1)).toMatchObject({ kind: 'blocks', blockSize: 16 * MiB, inFlight: 2 });
    expect(uploadPlan(64 * MiB)).toMatchObject({ kind: 'blocks', blockSize: 16 * MiB });
    expect(uploadPlan(256 * MiB)).toMatchObject({ kind: 'blocks', blockSize: 16 * MiB });
    expect(uploadPlan(256 * MiB + 1)).toMatchObject({ kind: 'blocks', blockSize: 8 * MiB, inFlight: 2 });
    expect(uploadPlan(1024 * MiB)).toMatchObject({ kind: 'blocks', blockSize: 8 * MiB });
    expect(uploadPlan(390 * 1024 * MiB)).toMatchObject({ kind: 'blocks', blockSize: 8 * MiB });
    expect(uploadPlan(391 * 1024 * MiB)).toMatchObject({ kind: 'blocks', blockSize: 9 * MiB });
    for (const size of [781 * 1024 * MiB, 1024 * 1024 * MiB, 190 * 1024 * 1024 * MiB]) {
      const plan = uploadPlan(size);
      if (plan.kind !== 'blocks') throw new Error('expected blocks');
      expect(Math.ceil(size / plan.blockSize), `${size}`).toBeLessThanOrEqual(50_000);
      expect(plan.blockSize % MiB).toBe(0);
      expect(plan.blockSize).toBeLessThanOrEqual(4000 * MiB);
    }
    expect(uploadPlan(1024 * 1024 * MiB)).toMatchObject({ blockSize: 21 * MiB });
  });
});

describe('blob store: the byte budget bounds memory across uploads (real Azurite)', () => {
  it('concurrent uploads (one in blocks, one whole) never hold more than the budget, and each is stored exactly', async () => {
    const container = await freshContainer('blobblocks');
    // Room for two blocks at once: the two uploads must take turns.
    const budget = countingBudget(2 * BLOCK_SIZE);
    const store = createBlobStore(container, budget);
    const sizes = { a: WHOLE_BLOB_MAX + 5, b: BLOCK_SIZE };
    const out = await Promise.all(Object.entries(sizes).map(([name, n]) => store.putStream(name, source(n), { contentType: 'application/octet-stream', expectedSize: n })));
    expect(budget.peak).toBeLessThanOrEqual(2 * BLOCK_SIZE);
    expect(budget.peak).toBeGreaterThan(BLOCK_SIZE);
    expect(out.map((o) => o.bytes)).toEqual(Object.values(sizes));
    expect(out[0]!.sha256).toBe(sha256Of(sizes.a));
    // a: 16 MiB + 16 MiB + 5 bytes, staged and committed; b: one Put Blob.
    expect((await container.getBlockBlobClient('a').getBlockList('committed')).committedBlocks?.map((b) => b.size)).toEqual([BLOCK_SIZE, BLOCK_SIZE, 5]);
    expect((await container.getBlockBlobClient('b').getProperties()).contentLength).toBe(sizes.b);
    // Everything was given back: the whole budget can be taken again at once.
    const all = await Promise.race([budget.acquire(2 * BLOCK_SIZE), new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    expect(all).toBeTypeOf('function');
  }, 120_000);

  it('gives its budget back when the body fails mid-block', async () => {
    const container = await freshContainer('blobblocks-fail');
    const budget = countingBudget(BLOCK_SIZE);
    const store = createBlobStore(container, budget);
    const failing = Readable.from(
      (function* () {
        yield* generate(BLOCK_SIZE / 2);
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      })(),
    );
    await expect(store.putStream('f', failing, { contentType: 'application/octet-stream', expectedSize: 3 * BLOCK_SIZE })).rejects.toMatchObject({ code: 'element-stream-failed' });
    const all = await Promise.race([budget.acquire(BLOCK_SIZE), new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    expect(all).toBeTypeOf('function');
  }, 60_000);
});
