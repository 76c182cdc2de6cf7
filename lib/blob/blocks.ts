import { randomBytes } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { azureCall } from '../azure/call.js';
import type { Semaphore } from '../semaphore.js';

const MiB = 1024 * 1024;

/**
 * Bytes of element data one blob store (one per processor process) holds in memory at once, across all its
 * uploads: every block from its first byte until it is staged, and every whole element from its first byte
 * until its Put Blob is done. The store's semaphore counts these bytes (DESIGN: bounded memory per process).
 */
export const UPLOAD_BUDGET_BYTES = 64 * MiB;
/** Blocks of an element up to STREAMING_FROM are this big (64 MiB: 4 + commit, within the plain copy's count + 3). */
export const BLOCK_SIZE = 16 * MiB;
/**
 * From this size on, memory rather than transactions decides: blocks of 8 MiB, the plain copy's own size, so the
 * element costs its count of Put Blocks (1 GiB: 128 + commit) while holding half the memory (2 × 8 MiB).
 */
const STREAMING_FROM = 256 * MiB;
const STREAMING_BLOCK_SIZE = 8 * MiB;
/** An element of at most this many bytes (the memory its two blocks would take) is one Put Blob, once verified. */
export const WHOLE_BLOB_MAX = 2 * BLOCK_SIZE;
/**
 * Azure's limits for one block blob (@azure/storage-blob src/utils/constants.ts: BLOCK_BLOB_MAX_BLOCKS,
 * BLOCK_BLOB_MAX_STAGE_BLOCK_BYTES): at most 50,000 blocks of at most 4000 MiB each.
 */
const MAX_BLOCKS = 50_000;
const MAX_BLOCK_BYTES = 4000 * MiB;
/** Blocks of one element in memory at once: the one being filled and the one being staged (reads overlap writes). */
const BLOCKS_IN_FLIGHT = 2;

export type UploadPlan = { kind: 'whole'; bytes: number } | { kind: 'blocks'; blockSize: number; inFlight: number };

/**
 * How an element is written, from its declared size alone. Storage bills each Put Block and the commit, so
 * an element takes as few as its memory share (32 MiB) allows: up to 32 MiB one Put Blob (1 transaction;
 * was one per 4 MiB plus a commit), up to 256 MiB 16 MiB blocks, one filling while one is staged (64 MiB:
 * 4 + commit), above that 8 MiB blocks (1 GiB: 128 + commit, as the plain copy; 16 MiB blocks held 76 MiB of
 * RSS growth at 1 GiB, 8 MiB 57 MiB), larger only when 50,000 of them would not hold the element (over 390 GiB).
 */
export function uploadPlan(declaredSize: number): UploadPlan {
  if (declaredSize <= WHOLE_BLOB_MAX) return { kind: 'whole', bytes: declaredSize };
  const fitting = Math.ceil(declaredSize / MAX_BLOCKS / MiB) * MiB;
  const preferred = declaredSize > STREAMING_FROM ? STREAMING_BLOCK_SIZE : BLOCK_SIZE;
  return { kind: 'blocks', blockSize: Math.min(MAX_BLOCK_BYTES, Math.max(preferred, fitting)), inFlight: BLOCKS_IN_FLIGHT };
}

/**
 * Block buffers reused across uploads (a fresh 16 MiB buffer per block is external memory that drives the
 * garbage collector). The budget bounds how many are out at once, so the pool never holds more than that.
 */
export function blockPool() {
  const free = new Map<number, Buffer[]>();
  return {
    take: (size: number) => free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size),
    give: (b: Buffer) => void (free.get(b.length) ?? free.set(b.length, []).get(b.length)!).push(b),
  };
}
export type BlockPool = ReturnType<typeof blockPool>;

/** What the upload of one element does with the verified bytes as they come, then at the end. */
export interface ElementWriter {
  push(chunk: Buffer): Promise<void>;
  /** Blocks: stages what is left and returns the block ids in order. Whole: the element's bytes. */
  finish(): Promise<{ kind: 'blocks'; ids: string[] } | { kind: 'whole'; bytes: Buffer }>;
  /** Gives back what this upload still holds of the budget (after finish, or after a failure). Idempotent. */
  release(): void;
}

/** A budget share and the buffer it pays for, filled from the start. */
interface Held {
  buffer: Buffer;
  used: number;
  release: () => void;
}

/** Copies as much of `chunk` (from `at`) as fits into `held`; returns the bytes copied. */
function fillFrom(held: Held, chunk: Buffer, at: number): number {
  const n = chunk.copy(held.buffer, held.used, at, Math.min(chunk.length, at + held.buffer.length - held.used));
  held.used += n;
  return n;
}

/** The whole element in one buffer of its declared size (the byte counter upstream never lets more through). */
export function wholeWriter(plan: { bytes: number }, budget: Semaphore): ElementWriter {
  let held: Held | undefined;
  const hold = async () => {
    if (!held) {
      // The share first, then the memory it pays for.
      const release = await budget.acquire(plan.bytes);
      held = { buffer: Buffer.allocUnsafe(plan.bytes), used: 0, release };
    }
    return held;
  };
  return {
    async push(chunk) {
      const h = await hold();
      if (fillFrom(h, chunk, 0) < chunk.length) throw new Error(`more bytes than the declared ${plan.bytes}`);
    },
    async finish() {
      const h = await hold();
      return { kind: 'whole', bytes: h.buffer.subarray(0, h.used) };
    },
    release: () => held?.release(),
  };
}

/**
 * Cuts the stream into blocks of exactly `blockSize` (the last one shorter), each copied straight into a
 * pooled buffer, and stages each while the next one fills: at most `inFlight` per element in memory, and
 * each one held in the store's byte budget from its first byte (waiting for it stops reading this stream).
 */
export function blockWriter(blob: BlockBlobClient, plan: { blockSize: number; inFlight: number }, budget: Semaphore, pool: BlockPool, instanceId?: string): ElementWriter {
  // Block ids unique to this attempt: a concurrent writer of the same element can never mix its blocks into ours.
  const attempt = randomBytes(9).toString('hex');
  const ids: string[] = [];
  const staging = new Set<Promise<void>>();
  let filling: Held | undefined;
  let failure: Error | undefined;
  const open = async (): Promise<Held> => {
    const release = await budget.acquire(plan.blockSize);
    return { buffer: pool.take(plan.blockSize), used: 0, release };
  };
  const stage = async (block: Held) => {
    const id = Buffer.from(`${attempt}-${String(ids.length).padStart(6, '0')}`).toString('base64');
    ids.push(id);
    const done = () => {
      pool.give(block.buffer);
      block.release();
      staging.delete(staged);
    };
    const put = (abortSignal: AbortSignal) => blob.stageBlock(id, block.buffer.subarray(0, block.used), block.used, { abortSignal });
    const staged: Promise<void> = azureCall('put block', put, { bytes: block.used, instanceId }).then(done, (e: unknown) => {
      done();
      failure ??= e instanceof Error ? e : new Error(String(e));
    });
    staging.add(staged);
    while (staging.size > plan.inFlight - 1) await Promise.race(staging);
    if (failure !== undefined) throw failure;
  };
  return {
    async push(chunk) {
      for (let at = 0; at < chunk.length; ) {
        filling ??= await open();
        at += fillFrom(filling, chunk, at);
        if (filling.used === plan.blockSize) {
          const full = filling;
          filling = undefined;
          await stage(full);
        }
      }
    },
    async finish() {
      if (filling && filling.used > 0) {
        const last = filling;
        filling = undefined;
        await stage(last);
      }
      await Promise.all(staging);
      if (failure !== undefined) throw failure;
      return { kind: 'blocks', ids };
    },
    release() {
      if (!filling) return;
      pool.give(filling.buffer);
      filling.release();
      filling = undefined;
    },
  };
}
