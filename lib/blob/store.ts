import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import type { BlockBlobClient, BlockBlobUploadOptions, ContainerClient } from '@azure/storage-blob';
import type { z } from 'zod';
import { azureCall } from '../azure/call.js';
import { ReceiverError } from '../errors.js';
import { createSemaphore, type Semaphore } from '../semaphore.js';
import { blockPool, blockWriter, UPLOAD_BUDGET_BYTES, uploadPlan, wholeWriter, type BlockPool } from './blocks.js';
import { contentDisposition, decodeMetadataValue, encodeMetadataValue, headerContentType } from './headerSafe.js';

export { BLOCK_SIZE } from './blocks.js';

export interface StreamUpload {
  /** As the submitter gave it: sent only when it is a valid media type (headerContentType), else application/octet-stream. */
  contentType: string;
  /** Original file name, for Content-Disposition (made header-safe here). */
  filename?: string | null | undefined;
  /** The byte count the source must deliver exactly. */
  expectedSize: number;
  /** Altinn's contentHash, when given: SHA-256 (hex or base64, optional `sha256:` prefix). */
  expectedHash?: string | null | undefined;
  /** More metadata (lower-case ASCII keys; any value: cleaned, cut and encoded by encodeMetadataValue); `sha256` and `size` are added. */
  metadata?: Record<string, string>;
  instanceId?: string;
}

export interface StoredBlob {
  bytes: number;
  sha256: string;
}

export interface JsonCondition {
  ifMatch?: string | undefined;
}

export interface BlobStore {
  /** Stream into `path`; the blob is committed only after byte count and hash are verified. */
  putStream(path: string, source: Readable | ReadableStream<Uint8Array>, upload: StreamUpload): Promise<StoredBlob>;
  /**
   * Write JSON text as it is (instance.json keeps the App API's exact bytes). `tags`: blob index tags set by the
   * same Put Blob (no extra transaction); a store whose account refuses tags writes without them from then on.
   * `condition.ifMatch`: write only over the blob with this ETag (else the SDK's 412, or 404 when it is gone).
   * Resolves to the written blob's ETag.
   */
  putJson(path: string, text: string, tags?: Record<string, string>, condition?: JsonCondition): Promise<string | undefined>;
  /** Delete the blob at `path` if it exists. */
  remove(path: string): Promise<void>;
  /** Size and (decoded) metadata of the committed blob at `path`; undefined when there is none. */
  describe(path: string): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  /** The JSON blob at `path` validated with `schema`; undefined when it does not exist. */
  readJson<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined>;
}

/**
 * Counts and hashes what flows through, failing the stream as soon as more bytes arrive than expected
 * and, at the end, when the count or the hash is wrong: a consumer that commits only after the stream
 * ended cleanly can never commit a short, long or corrupted copy.
 */
class VerifyingCounter extends Transform {
  bytes = 0;
  sha256 = '';
  private readonly hash = createHash('sha256');

  constructor(
    private readonly expectedSize: number,
    private readonly expectedHash: string | undefined,
    private readonly instanceId: string | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expectedSize) {
      done(this.mismatch(`more bytes than the element's size ${this.expectedSize}`));
      return;
    }
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.bytes !== this.expectedSize) {
      done(this.mismatch(`${this.bytes} bytes, element size is ${this.expectedSize}`));
      return;
    }
    const digest = this.hash.digest();
    this.sha256 = digest.toString('hex');
    if (this.expectedHash !== undefined && !hashMatches(this.expectedHash, digest)) {
      done(this.mismatch(`sha256 ${this.sha256} does not match contentHash ${this.expectedHash}`));
      return;
    }
    done();
  }

  private mismatch(what: string): ReceiverError {
    return new ReceiverError(`downloaded data does not verify: ${what}`, {
      code: 'element-verify-failed',
      retryable: true,
      instanceId: this.instanceId,
    });
  }
}

/** True when `expected` names this SHA-256 digest, as hex or base64, with or without a `sha256:`/`sha256-` prefix. */
export function hashMatches(expected: string, digest: Buffer): boolean {
  const value = expected.trim().replace(/^sha-?256[:-]/i, '');
  return value.toLowerCase() === digest.toString('hex') || value === digest.toString('base64');
}

/** Whether we can check a contentHash at all (a SHA-256 in a form we know); others are logged and skipped. */
export function isSha256Hash(expected: string): boolean {
  const value = expected.trim().replace(/^sha-?256[:-]/i, '');
  return /^[0-9a-f]{64}$/i.test(value) || /^[A-Za-z0-9+/]{43}=$/.test(value);
}

export function createBlobStore(container: ContainerClient, budget: Semaphore = createSemaphore(UPLOAD_BUDGET_BYTES)): BlobStore {
  const pool = blockPool();
  const tagState = { refused: false };
  return {
    putStream: (path, source, upload) => putStream(container.getBlockBlobClient(path), source, upload, budget, pool),

    putJson: (path, text, tags, condition) => putJsonTagged(container.getBlockBlobClient(path), text, { tags, condition }, tagState),

    async remove(path) {
      await azureCall('delete blob', (abortSignal) => container.getBlockBlobClient(path).deleteIfExists({ abortSignal }));
    },

    async describe(path) {
      try {
        const p = await azureCall('get blob properties', (abortSignal) => container.getBlockBlobClient(path).getProperties({ abortSignal }));
        const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, decodeMetadataValue(v)]));
        return { size: p.contentLength ?? 0, metadata };
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw e;
      }
    },

    async readJson(path, schema) {
      let buf: Buffer;
      try {
        buf = await azureCall('get blob', (abortSignal) => wholeBlob(container.getBlockBlobClient(path), abortSignal));
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw e;
      }
      let json: unknown;
      try {
        json = JSON.parse(buf.toString('utf8'));
      } catch {
        json = undefined;
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new ReceiverError(`blob ${path} does not match its schema`, { code: 'blob-invalid', retryable: false });
      }
      return parsed.data;
    },
  };
}

/**
 * A small blob's bytes in one Get Blob. (`downloadToBuffer` without a count asks Get Blob Properties first
 * for the size: two billed transactions per read.)
 */
async function wholeBlob(blob: BlockBlobClient, abortSignal: AbortSignal): Promise<Buffer> {
  const res = await blob.download(0, undefined, { abortSignal });
  const chunks: Buffer[] = [];
  for await (const chunk of res.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * A JSON blob, with blob index `tags` when the account takes them. Tags are for the monitor's figures only:
 * an account or role without them (tags/write; hierarchical namespace) must not stop the write the whole
 * pipeline depends on, so a refusal (400/403/409) writes without them, and `state` remembers it.
 */
async function putJsonTagged(
  blob: BlockBlobClient,
  text: string,
  opts: { tags: Record<string, string> | undefined; condition: JsonCondition | undefined },
  state: { refused: boolean },
): Promise<string | undefined> {
  const bytes = Buffer.byteLength(text);
  const { tags, condition } = opts;
  const conditions = condition?.ifMatch ? { conditions: { ifMatch: condition.ifMatch } } : {};
  const put = async (withTags: Record<string, string> | undefined) => {
    const headers = { blobContentType: 'application/json; charset=utf-8' };
    const res = await azureCall('put blob', (abortSignal) => blob.upload(text, bytes, { blobHTTPHeaders: headers, abortSignal, ...conditions, ...(withTags ? { tags: withTags } : {}) }), { bytes });
    return res.etag;
  };
  if (!tags || state.refused) return put(undefined);
  try {
    return await put(tags);
  } catch (e) {
    if (![400, 403, 409].includes((e as { statusCode?: number }).statusCode ?? 0)) throw e;
    state.refused = true;
    return put(undefined);
  }
}

type UploadOptions = Pick<BlockBlobUploadOptions, 'blobHTTPHeaders' | 'metadata'>;

/**
 * Verify while reading, buffer as the element's declared size says (blocks.ts uploadPlan: one Put Blob, or
 * blocks staged while the next fill), commit only what verified.
 */
async function putStream(
  blob: BlockBlobClient,
  source: Readable | ReadableStream<Uint8Array>,
  upload: StreamUpload,
  budget: Semaphore,
  pool: BlockPool,
): Promise<StoredBlob> {
  const input = source instanceof Readable ? source : Readable.fromWeb(source);
  const expectedHash = upload.expectedHash && isSha256Hash(upload.expectedHash) ? upload.expectedHash : undefined;
  const counter = new VerifyingCounter(upload.expectedSize, expectedHash, upload.instanceId);
  // pipeline: a failure on either side destroys both, so a bad body also closes the HTTP response.
  const verified = pipeline(input, counter, () => {});
  const plan = uploadPlan(upload.expectedSize);
  const writer = plan.kind === 'whole' ? wholeWriter(plan, budget) : blockWriter(blob, plan, budget, pool, upload.instanceId);
  try {
    let written;
    try {
      for await (const chunk of verified as AsyncIterable<Buffer>) await writer.push(chunk);
      // Reaching here means the stream ended and the counter's checks passed.
      written = await writer.finish();
    } catch (e) {
      throw asStreamError(e, upload.instanceId);
    }
    const metadata = Object.fromEntries(
      Object.entries({ ...upload.metadata, sha256: counter.sha256, size: String(counter.bytes) }).map(([k, v]) => [k, encodeMetadataValue(v)]),
    );
    const options = { blobHTTPHeaders: { blobContentType: headerContentType(upload.contentType), blobContentDisposition: contentDisposition(upload.filename) }, metadata };
    if (written.kind === 'blocks') await commitBlocks(blob, written.ids, options, upload.instanceId);
    else {
      const bytes = written.bytes;
      await azureCall('put blob', (abortSignal) => blob.upload(bytes, bytes.length, { ...options, abortSignal }), { bytes: bytes.length, instanceId: upload.instanceId });
    }
  } finally {
    writer.release();
  }
  return { bytes: counter.bytes, sha256: counter.sha256 };
}

async function commitBlocks(blob: BlockBlobClient, ids: string[], options: UploadOptions, instanceId: string | undefined): Promise<void> {
  try {
    await azureCall('put block list', (abortSignal) => blob.commitBlockList(ids, { ...options, abortSignal }), { instanceId });
  } catch (e) {
    // A concurrent writer's commit discards our uncommitted blocks; the next attempt starts over.
    if ((e as { code?: string }).code === 'InvalidBlockList') {
      throw new ReceiverError('blob block list was replaced by a concurrent upload', {
        code: 'blob-commit-conflict',
        retryable: true,
        instanceId,
        cause: e,
      });
    }
    throw e;
  }
}

/** A failure while reading the source or staging (reset, timeout) is transient: the download is retried. */
function asStreamError(e: unknown, instanceId: string | undefined): ReceiverError {
  if (e instanceof ReceiverError) return e;
  return new ReceiverError(`download stream failed: ${(e as Error)?.message ?? String(e)}`, {
    code: 'element-stream-failed',
    retryable: true,
    instanceId,
    cause: e,
  });
}
