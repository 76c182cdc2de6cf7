import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { holdRunLease, type HeldLease } from '../blob/lease.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { APP } from '../patterns.js';

/**
 * The feed's own state, in the downloads container under `_feed/` (an org code starts with a letter, so this never
 * meets an instance folder):
 * - `_feed/cursor.json`: per app, the id (and time) of the last event handled. One blob for every app, so a run
 *   reads its state with one request; written only when a cursor moves, with the ETag it was read with, so a host
 *   whose lease lapsed (a long pause) cannot move a cursor another host has moved since.
 * - `_feed/run.lock`: leased while a run handles events, so two hosts never both advance the cursors.
 */
const CURSOR_PATH = '_feed/cursor.json';
const LOCK_PATH = '_feed/run.lock';

const appCursorSchema = z.object({
  /** Id of the last event handled: the next request asks for the events `after` it. */
  after: z.string().min(1).max(200),
  /** That event's `time`, for operators (how far behind the feed is). */
  time: z.string().nullable(),
  updatedAt: z.iso.datetime({ offset: true }),
});
const cursorDocSchema = z.object({ version: z.literal(1), apps: z.record(z.string().regex(APP), appCursorSchema) });
export type AppCursor = z.infer<typeof appCursorSchema>;
export type CursorDoc = z.infer<typeof cursorDocSchema>;

/** The cursors as read, with the ETag a write must match (undefined: no blob yet). */
export interface CursorState {
  doc: CursorDoc;
  etag: string | undefined;
}

const statusOf = (e: unknown) => (e as { statusCode?: number }).statusCode;

/** One GET; no blob yet is an empty state. An unreadable blob is an error: guessing a cursor could skip events. */
export async function readCursors(container: ContainerClient): Promise<CursorState> {
  const blob = container.getBlockBlobClient(CURSOR_PATH);
  let text: string;
  let etag: string | undefined;
  try {
    const res = await blob.download();
    etag = res.etag;
    text = await streamText(res.readableStreamBody);
  } catch (e) {
    if (statusOf(e) === 404) return { doc: { version: 1, apps: {} }, etag: undefined };
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = cursorDocSchema.safeParse(json);
  if (!parsed.success) throw new ReceiverError(`blob ${CURSOR_PATH} is not a feed cursor document: fix or delete it`, { code: 'blob-invalid', retryable: false });
  return { doc: parsed.data, etag };
}

async function streamText(body: NodeJS.ReadableStream | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body ?? []) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Write `doc` if the blob is still as read (`state.etag`; none: only if it does not exist yet); returns the new
 * state. Someone else's write in between is `feed-cursor-conflict`: this run stops, the events stay for the next.
 */
export async function writeCursors(container: ContainerClient, state: CursorState, doc: CursorDoc): Promise<CursorState> {
  const text = JSON.stringify(cursorDocSchema.parse(doc));
  try {
    const res = await container.getBlockBlobClient(CURSOR_PATH).upload(text, Buffer.byteLength(text), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
      conditions: state.etag ? { ifMatch: state.etag } : { ifNoneMatch: '*' },
    });
    return { doc, etag: res.etag };
  } catch (e) {
    if (statusOf(e) === 412 || statusOf(e) === 409) {
      throw new ReceiverError(`${CURSOR_PATH} was changed by another host meanwhile: this run stops, the next one continues from there`, {
        code: 'feed-cursor-conflict',
        retryable: true,
      });
    }
    throw e;
  }
}

/** The run lease, or undefined when another host's run holds it. */
export function acquireFeedLock(container: ContainerClient, log: Logger): Promise<HeldLease | undefined> {
  return holdRunLease(container.getBlockBlobClient(LOCK_PATH), log, 'feed');
}
