import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ContainerClient } from '@azure/storage-blob';
import { BLOCK_SIZE, createBlobStore, hashMatches, type BlobStore } from '../lib/blob/store.js';
import { ReceiverError } from '../lib/errors.js';
import { freshContainer } from './support/storage.js';

/** Deterministic bytes: byte i is (i * 31 + 7) mod 251. */
function bytes(n: number, from = 0): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = ((from + i) * 31 + 7) % 251;
  return b;
}

/** A source producing `n` bytes in 64 KiB chunks, then failing with `fail` if given. */
function source(n: number, fail?: Error): Readable {
  function* gen() {
    for (let off = 0; off < n; off += 65536) yield bytes(Math.min(65536, n - off), off);
    if (fail) throw fail;
  }
  return Readable.from(gen());
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

let container: ContainerClient;
let store: BlobStore;
beforeAll(async () => {
  container = await freshContainer('blobstore');
  store = createBlobStore(container);
});

async function exists(path: string) {
  return container.getBlockBlobClient(path).exists();
}

describe('blob store: verified streaming upload (real Azurite)', () => {
  it('stores several blocks byte-for-byte with headers and metadata, and reports count and sha256', async () => {
    const n = BLOCK_SIZE * 2 + 12345;
    const path = 'ttd/app/1/g/data/multi';
    const out = await store.putStream(path, source(n), {
      contentType: 'application/pdf',
      filename: 'søknad "endelig".pdf',
      expectedSize: n,
      expectedHash: sha(bytes(n)).toString('hex'),
      metadata: { datatype: 'vedlegg', filename: 'søknad "endelig".pdf' },
    });
    expect(out).toEqual({ bytes: n, sha256: sha(bytes(n)).toString('hex') });
    const blob = container.getBlockBlobClient(path);
    expect((await blob.downloadToBuffer()).equals(bytes(n))).toBe(true);
    const props = await blob.getProperties();
    expect(props.contentType).toBe('application/pdf');
    expect(props.contentDisposition).toBe(`attachment; filename="s_knad _endelig_.pdf"; filename*=UTF-8''${encodeURIComponent('søknad "endelig".pdf')}`);
    expect(props.metadata).toMatchObject({ datatype: 'vedlegg', sha256: out.sha256, size: String(n), filename: 's%C3%B8knad%20"endelig".pdf' });
    expect((await blob.getBlockList('committed')).committedBlocks).toHaveLength(3);
  });

  it('commits any metadata value (non-ASCII data type, control characters, %, a lone surrogate); describe() decodes them, controls removed; no file name still means attachment', async () => {
    const path = 'ttd/app/1/g/data/odd';
    const odd = { datatype: 'vedlegg-æøå-日本', filename: 'a\r\nb%20c\u0000.txt', elementid: 'x\uD800y', altinnvalue: '  spaced  ' };
    await store.putStream(path, source(10), { contentType: 'image/svg+xml', expectedSize: 10, metadata: odd });
    const props = await container.getBlockBlobClient(path).getProperties();
    expect(props.contentDisposition).toBe('attachment');
    expect(Object.values(props.metadata ?? {}).every((v) => /^[\x20-\x7e]*$/.test(v))).toBe(true);
    expect((await store.describe(path))?.metadata).toMatchObject({ ...odd, filename: 'ab%20c.txt', elementid: 'x\uFFFDy', size: '10' });
  });

  it('accepts a web ReadableStream (a fetch body) and an empty element', async () => {
    const web = Readable.toWeb(source(1000)) as ReadableStream<Uint8Array>;
    await expect(store.putStream('web', web, { contentType: 'application/xml', expectedSize: 1000 })).resolves.toMatchObject({ bytes: 1000 });
    const empty = await store.putStream('empty', source(0), { contentType: 'application/xml', expectedSize: 0 });
    expect(empty.sha256).toBe(sha(Buffer.alloc(0)).toString('hex'));
    expect((await container.getBlockBlobClient('empty').getProperties()).contentLength).toBe(0);
  });

  it.each([
    ['shorter than size', BLOCK_SIZE + 10, BLOCK_SIZE + 11, undefined],
    ['longer than size', BLOCK_SIZE + 10, BLOCK_SIZE + 9, undefined],
    ['failing mid-body (reset)', BLOCK_SIZE + 10, BLOCK_SIZE + 10, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('never commits a body %s: retryable error, no blob', async (_name, sent, size, fail) => {
    const path = `bad/${sent}-${size}-${fail ? 'reset' : 'len'}`;
    const err = await store.putStream(path, source(sent, fail), { contentType: 'application/octet-stream', expectedSize: size }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReceiverError);
    expect(err).toMatchObject({ retryable: true, code: fail ? 'element-stream-failed' : 'element-verify-failed' });
    expect(await exists(path)).toBe(false);
  });

  it('fails on a contentHash mismatch and keeps the previously committed copy untouched', async () => {
    const path = 'hash/elem';
    const good = await store.putStream(path, source(5000), { contentType: 'text/plain', expectedSize: 5000, expectedHash: `sha256:${sha(bytes(5000)).toString('base64')}` });
    const wrong = sha(Buffer.from('something else')).toString('hex');
    await expect(store.putStream(path, source(5000, undefined), { contentType: 'text/plain', expectedSize: 5000, expectedHash: wrong })).rejects.toMatchObject({
      code: 'element-verify-failed',
      retryable: true,
    });
    const props = await container.getBlockBlobClient(path).getProperties();
    expect(props.metadata?.sha256).toBe(good.sha256);
  });

  it('reads JSON blobs through a schema: undefined when absent, an error when invalid', async () => {
    const schema = z.object({ a: z.number() });
    await store.putJson('j/ok.json', '{"a":1}');
    expect(await store.readJson('j/ok.json', schema)).toEqual({ a: 1 });
    expect((await container.getBlockBlobClient('j/ok.json').getProperties()).contentType).toBe('application/json; charset=utf-8');
    expect(await store.readJson('j/missing.json', schema)).toBeUndefined();
    await store.putJson('j/bad.json', '{"a":"x"');
    await expect(store.readJson('j/bad.json', schema)).rejects.toMatchObject({ code: 'blob-invalid', retryable: false });
  });

  it('a JSON write answers its ETag; one with ifMatch lands only over that version (412 otherwise, 404 when gone)', async () => {
    const first = await store.putJson('j/cond.json', '{"a":1}');
    expect(first).toBe((await container.getBlockBlobClient('j/cond.json').getProperties()).etag);
    const second = await store.putJson('j/cond.json', '{"a":2}', undefined, { ifMatch: first });
    expect(second).not.toBe(first);
    await expect(store.putJson('j/cond.json', '{"a":3}', { t: 'x' }, { ifMatch: first })).rejects.toMatchObject({ statusCode: 412 });
    expect(await store.readJson('j/cond.json', z.object({ a: z.number() }))).toEqual({ a: 2 });
    await store.remove('j/cond.json');
    const gone = await store.putJson('j/cond.json', '{"a":4}', undefined, { ifMatch: second }).then(() => 'written', (e: { statusCode?: number }) => e.statusCode);
    expect([404, 412]).toContain(gone);
  });
});

describe('hash and header helpers', () => {
  it('matches hex, base64 and prefixed SHA-256 forms only', () => {
    const d = sha(Buffer.from('x'));
    expect(hashMatches(d.toString('hex').toUpperCase(), d)).toBe(true);
    expect(hashMatches(d.toString('base64'), d)).toBe(true);
    expect(hashMatches(`sha256-${d.toString('base64')}`, d)).toBe(true);
    expect(hashMatches(sha(Buffer.from('y')).toString('hex'), d)).toBe(false);
  });
});
