import type { EventsMessage } from '../../lib/queue/messages.js';
import { runWorker, type BenchContext, type WorkerResult } from './harness.js';
import type { CopySpec } from './workers/copy.js';
import type { ProcessorSpec } from './workers/processor.js';

/** Who moves the instances: our processor, or a baseline copy script. */
export type Mover = 'ours' | 'plain' | 'buffering';

const APP = 'bench';

/** Seeds one completed instance with elements of these sizes; returns its queue message. */
export async function seed(ctx: BenchContext, sizes: readonly number[]): Promise<EventsMessage> {
  const doc = (await ctx.sim.seedInstance({
    app: APP,
    completed: true,
    elements: sizes.map((size, i) => ({ dataType: 'attachment', contentType: 'application/octet-stream', filename: `file-${i}.bin`, size })),
  })) as { id: string };
  const [partyId = '', instanceGuid = ''] = doc.id.split('/');
  return { org: ctx.sim.org, app: APP, partyId, instanceGuid, reason: 'event', enqueuedAt: new Date().toISOString() };
}

const DOWNLOAD_CONCURRENCY = 4;

/**
 * Moves `messages` (after `warmup`, one by one) with `concurrency` instances in flight, in a fresh
 * process and a fresh container (deleted afterwards, so Azurite's memory does not pile up).
 */
export async function move(
  ctx: BenchContext,
  mover: Mover,
  opts: { warmup: EventsMessage[]; messages: EventsMessage[]; concurrency: number; container: string; downloadConcurrency?: number | undefined },
): Promise<WorkerResult> {
  const downloadConcurrency = opts.downloadConcurrency ?? DOWNLOAD_CONCURRENCY;
  // No settle wait: the timed runs and the cost pass measure the work, and the seeded instances have just
  // ended. The settle is a deliberate wait, shown apart in many's time to confirmation (confirmation.ts).
  const env = { ...ctx.env, BLOB_CONTAINER: opts.container, DOWNLOAD_CONCURRENCY: String(downloadConcurrency), SETTLE_SECONDS: '0' };
  try {
    if (mover === 'ours') {
      const spec: ProcessorSpec = { warmup: opts.warmup, messages: opts.messages, concurrency: opts.concurrency };
      return await runWorker('processor', spec, env);
    }
    const item = (m: EventsMessage) => ({ app: m.app, partyId: m.partyId, instanceGuid: m.instanceGuid });
    const spec: CopySpec = {
      mode: mover === 'plain' ? 'stream' : 'buffer',
      token: ctx.sim.altinnToken(),
      instancesBase: `${ctx.sim.platformUrl}/storage/api/v1/instances`,
      container: opts.container,
      warmup: opts.warmup.map(item),
      items: opts.messages.map(item),
      concurrency: opts.concurrency,
      elementConcurrency: downloadConcurrency,
    };
    return await runWorker('copy', spec, env);
  } finally {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(ctx.azurite.connectionString).getContainerClient(opts.container).deleteIfExists();
  }
}
