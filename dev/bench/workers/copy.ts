/**
 * Baselines: the same Storage GETs, blob uploads and completes as the processor, by a minimal script
 * with no validation, verification, manifest, queue message or retries. `stream` pipes each body to
 * uploadStream with tuned buffers (the plain copy); `buffer` reads each body whole, then uploads it
 * (the buffering approach).
 */
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { BlobServiceClient } from '@azure/storage-blob';
import { mapLimit } from '../../../lib/pool.js';
import { costWindowEdge, fail, report, specArg } from './report.js';

export interface CopySpec {
  mode: 'stream' | 'buffer';
  token: string;
  /** `{platformUrl}/storage/api/v1/instances`, where the processor reads and confirms too */
  instancesBase: string;
  container: string;
  warmup: Item[];
  items: Item[];
  concurrency: number;
  /** Elements of one instance in flight at once (the processor's DOWNLOAD_CONCURRENCY). */
  elementConcurrency: number;
}

interface Item {
  app: string;
  partyId: string;
  instanceGuid: string;
}

const BUFFER_SIZE = 8 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 4;

async function main() {
  const spec = specArg<CopySpec>();
  const container = BlobServiceClient.fromConnectionString(process.env.AzureWebJobsStorage ?? '').getContainerClient(spec.container);
  await container.createIfNotExists();
  const auth = { authorization: `Bearer ${spec.token}` };
  const get = async (url: string) => {
    const res = await fetch(url, { headers: auth });
    if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
    return res;
  };

  const copy = async (item: Item) => {
    const base = `${spec.instancesBase}/${item.partyId}/${item.instanceGuid}`;
    const folder = `${item.app}/${item.partyId}/${item.instanceGuid}`;
    const text = await (await get(base)).text();
    const instance = JSON.parse(text) as { data: { id: string; contentType?: string }[] };
    await mapLimit(instance.data, spec.elementConcurrency, async (el) => {
      const res = await get(`${base}/data/${el.id}`);
      const blob = container.getBlockBlobClient(`${folder}/data/${el.id}`);
      const blobHTTPHeaders = { blobContentType: el.contentType ?? 'application/octet-stream' };
      if (spec.mode === 'stream') {
        await blob.uploadStream(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), BUFFER_SIZE, UPLOAD_CONCURRENCY, { blobHTTPHeaders });
      } else {
        const body = Buffer.from(await res.arrayBuffer());
        await blob.uploadData(body, { blockSize: BUFFER_SIZE, concurrency: UPLOAD_CONCURRENCY, blobHTTPHeaders });
      }
    });
    await container.getBlockBlobClient(`${folder}/instance.json`).upload(text, Buffer.byteLength(text));
    const done = await fetch(`${base}/complete`, { method: 'POST', headers: auth });
    if (!done.ok) throw new Error(`complete ${item.instanceGuid}: ${done.status}`);
    await done.arrayBuffer();
  };

  for (const item of spec.warmup) await copy(item);
  const rssBeforeBytes = process.memoryUsage().rss;
  const durationsMs: number[] = [];
  const windowFrom = await costWindowEdge();
  const t0 = performance.now();
  await mapLimit(spec.items, spec.concurrency, async (item) => {
    const t = performance.now();
    await copy(item);
    durationsMs.push(performance.now() - t);
  });
  const elapsedMs = performance.now() - t0;
  report({ elapsedMs, durationsMs, rssBeforeBytes, windowFrom, windowTo: await costWindowEdge() });
  process.exit(0);
}

main().catch(fail);
