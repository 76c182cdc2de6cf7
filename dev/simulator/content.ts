import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * Deterministic element content: a 64 KiB block derived from the element's seed, with each chunk's
 * index written into its first 8 bytes, so content never repeats chunk to chunk (a lost, duplicated or
 * reordered chunk changes the hash) and a 4 GiB element costs one block of memory.
 */
const BLOCK = 64 * 1024;

function block(seed: string): Buffer {
  const out = Buffer.allocUnsafe(BLOCK);
  for (let i = 0; i * 32 < BLOCK; i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, i * 32);
  return out;
}

export interface ContentSpec {
  seed: string;
  size: number;
  /** Fixed bytes instead of generated ones (small elements, e.g. seeded XML). */
  bytes?: Buffer;
}

/** Yields the content in chunks, stopping after `limit` bytes (default the spec's size). */
export function* contentChunks(spec: ContentSpec, limit = spec.size): Generator<Buffer> {
  if (spec.bytes) {
    const end = Math.min(limit, spec.size);
    for (let at = 0; at < end; at += BLOCK) yield spec.bytes.subarray(at, Math.min(end, at + BLOCK, spec.bytes.length));
    if (limit > spec.bytes.length) yield* contentChunks({ seed: spec.seed, size: limit - spec.bytes.length });
    return;
  }
  const base = block(spec.seed);
  for (let index = 0, at = 0; at < limit; index++, at += BLOCK) {
    const chunk = Buffer.from(base);
    chunk.writeBigUInt64BE(BigInt(index), 0);
    yield at + BLOCK <= limit ? chunk : chunk.subarray(0, limit - at);
  }
}

export function contentStream(spec: ContentSpec, limit?: number): Readable {
  return Readable.from(contentChunks(spec, limit), { objectMode: false });
}

/** Lower-case hex SHA-256 of the content (streams it: seconds for GiB sizes). */
export async function contentSha256(spec: ContentSpec): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  for (const chunk of contentChunks(spec)) {
    hash.update(chunk);
    // Yield to the event loop now and then so a big hash does not starve the servers.
    if (++n % 256 === 0) await new Promise(setImmediate);
  }
  return hash.digest('hex');
}
