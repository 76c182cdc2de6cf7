import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { createBlobStore } from '../blob/store.js';
import { ReceiverError } from '../errors.js';
import { STATE_PREFIX } from './state.js';

/**
 * What the last reconcile runs did, for `status` and the monitor: `_reconcile/last-run.json` after every
 * run that was not a dry run, `_reconcile/last-complete-run.json` after every complete one.
 */
const runSummarySchema = z.object({
  finishedAt: z.iso.datetime({ offset: true }),
  complete: z.boolean(),
  durationMs: z.number().int().nonnegative(),
  pages: z.number().int().nonnegative(),
  found: z.number().int().nonnegative(),
  enqueued: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  held: z.number().int().nonnegative(),
  invalid: z.number().int().nonnegative(),
  // Written since the windowed query; older summaries lack them.
  shrinks: z.number().int().nonnegative().default(0),
  capped: z.boolean().default(false),
  failedApps: z.array(z.string()),
  resumedApps: z.array(z.string()).default([]),
});
export type RunSummary = z.output<typeof runSummarySchema>;

const LAST_RUN_PATH = `${STATE_PREFIX}/last-run.json`;
const LAST_COMPLETE_RUN_PATH = `${STATE_PREFIX}/last-complete-run.json`;

export async function saveRunSummary(container: ContainerClient, summary: z.input<typeof runSummarySchema>): Promise<void> {
  const text = JSON.stringify(runSummarySchema.parse(summary));
  const put = (path: string) => container.getBlockBlobClient(path).upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  await put(LAST_RUN_PATH);
  if (summary.complete) await put(LAST_COMPLETE_RUN_PATH);
}

/** The last run and the last complete run; undefined where none was recorded (or the blob is unreadable). */
export async function readRunSummaries(container: ContainerClient): Promise<{ last?: RunSummary; lastComplete?: RunSummary }> {
  const store = createBlobStore(container);
  const read = (path: string) =>
    store.readJson(path, runSummarySchema).catch((e: unknown) => {
      if (e instanceof ReceiverError && e.code === 'blob-invalid') return undefined;
      throw e;
    });
  const [last, lastComplete] = await Promise.all([read(LAST_RUN_PATH), read(LAST_COMPLETE_RUN_PATH)]);
  return { last, lastComplete };
}
