import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { createBlobStore } from '../blob/store.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { STATE_PREFIX } from './state.js';
import type { WalkState } from './windows.js';

/**
 * Where each app's walk stopped and what Storage could afford, `_reconcile/cursor/{app}.json` (`*` for
 * the org-wide query): the ranges still to read (empty after a complete pass), the window span and page
 * size that last worked, and `top`, the `lastChanged` up to which this pass reads. A run that stopped at
 * its cap, or at a window Storage would not answer, resumes there; one that finished starts anew from now.
 */
const bound = z.object({ at: z.iso.datetime({ offset: true }), inclusive: z.boolean() });
const cursorSchema = z.object({
  ranges: z.array(z.object({ after: z.iso.datetime({ offset: true }).optional(), upTo: bound.optional() })),
  spanMs: z.number().int().positive().nullable(),
  pageSize: z.number().int().positive(),
  top: z.iso.datetime({ offset: true }).optional(),
  savedAt: z.iso.datetime({ offset: true }),
});
export type Cursor = z.infer<typeof cursorSchema>;

const pathOf = (app: string) => `${STATE_PREFIX}/cursor/${app}.json`;

/** The app's cursor; undefined when none was saved, or when it is unreadable (logged: the run starts afresh). */
export async function loadCursor(container: ContainerClient, app: string, log: Logger): Promise<Cursor | undefined> {
  return createBlobStore(container)
    .readJson(pathOf(app), cursorSchema)
    .catch((e: unknown) => {
      if (!(e instanceof ReceiverError && e.code === 'blob-invalid')) throw e;
      log.warn('reconcile: the saved position is unreadable; this run reads everything again', { app, error: e });
      return undefined;
    });
}

export async function saveCursor(container: ContainerClient, app: string, state: WalkState, top: string | undefined, now: number): Promise<void> {
  const cursor: Cursor = cursorSchema.parse({ ranges: state.ranges, spanMs: state.spanMs, pageSize: state.pageSize, top, savedAt: new Date(now).toISOString() });
  const text = JSON.stringify(cursor);
  await container.getBlockBlobClient(pathOf(app)).upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
}
