import { z } from 'zod';
import type { DataElement } from '../altinn/instanceSchema.js';
import type { BlobStore } from '../blob/store.js';
import { ReceiverError } from '../errors.js';
import { instanceFolder, type InstanceRef } from '../queue/messages.js';

/** How we first heard of an instance: Altinn's push, its feed, our Storage query, or an operator's replay. */
export const HEARD_VIA = ['webhook', 'feed', 'reconciler', 'replay'] as const;
export type HeardVia = (typeof HEARD_VIA)[number];

/** manifest.json: written last, so a reader may trust an instance folder once it exists. */
const manifestEntrySchema = z.object({
  id: z.string(),
  dataType: z.string(),
  filename: z.string().nullable(),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  /** Hex SHA-256 of the stored bytes; null when not stored. */
  sha256: z.string().nullable(),
  /** Blob path inside the container; null when not stored. */
  blob: z.string().nullable(),
  fileScanResult: z.string().nullable(),
  /** `stored`, or `infected` (Altinn's virus scan flagged it; not downloaded). */
  status: z.enum(['stored', 'infected']),
  /** The element's own lastChanged, to tell a changed element from a stored one. */
  lastChanged: z.string().nullable(),
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

/** The entry of one data element: stored at `blob` with its `sha256`, or (`stored` undefined) infected and never downloaded. */
export function manifestEntry(el: DataElement, stored: { sha256: string; blob: string } | undefined): ManifestEntry {
  return {
    id: el.id,
    dataType: el.dataType,
    filename: el.filename ?? null,
    contentType: el.contentType ?? 'application/octet-stream',
    size: el.size,
    sha256: stored?.sha256 ?? null,
    blob: stored?.blob ?? null,
    fileScanResult: stored ? (el.fileScanResult ?? null) : 'Infected',
    status: stored ? 'stored' : 'infected',
    lastChanged: el.lastChanged ?? null,
  };
}

export const manifestSchema = z.object({
  version: z.literal(1),
  org: z.string(),
  app: z.string(),
  partyId: z.string(),
  instanceGuid: z.string(),
  instanceLastChanged: z.string().nullable(),
  downloadedAt: z.string(),
  elements: z.array(manifestEntrySchema),
  /** When the altinn-instances-ready message was sent (= confirmedAt); absent until then. */
  readyAt: z.string().optional(),
  /** When the instance was held for its infected elements (not confirmed, altinn-instances-held message sent). */
  heldAt: z.string().optional(),
  /** When an operator released it (`held release`): confirmed to Altinn with the infected elements left out. */
  releasedAt: z.string().optional(),
  /** The instance's `process.ended` (the submission, as the citizen sees it); null when Altinn gave none. */
  processEndedAt: z.string().nullable().optional(),
  /** When we first heard of the instance (the first message's `enqueuedAt`), and by which path. */
  firstHeardAt: z.string().optional(),
  firstHeardVia: z.enum(HEARD_VIA).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const manifestPath = (ref: InstanceRef) => `${instanceFolder(ref)}/manifest.json`;
export const instanceJsonPath = (ref: InstanceRef) => `${instanceFolder(ref)}/instance.json`;
export const elementPath = (ref: InstanceRef, elementId: string) => `${instanceFolder(ref)}/data/${elementId}`;

/** The manifest, or undefined when there is none or it is unreadable (then the instance is simply downloaded again). */
export async function readManifest(store: BlobStore, ref: InstanceRef): Promise<Manifest | undefined> {
  try {
    return await store.readJson(manifestPath(ref), manifestSchema);
  } catch (e) {
    if (e instanceof ReceiverError && e.code === 'blob-invalid') return undefined;
    throw e;
  }
}

export type Timing = Pick<Manifest, 'processEndedAt' | 'firstHeardAt' | 'firstHeardVia'>;

/** The manifest with `timing` where it has none, and the earlier of the two first-heard times. */
export function withTiming(manifest: Manifest, timing: Timing): Manifest {
  const earlier = manifest.firstHeardAt && (!timing.firstHeardAt || manifest.firstHeardAt <= timing.firstHeardAt);
  return {
    ...manifest,
    processEndedAt: manifest.processEndedAt ?? timing.processEndedAt ?? null,
    firstHeardAt: earlier ? manifest.firstHeardAt : timing.firstHeardAt,
    firstHeardVia: earlier ? manifest.firstHeardVia : timing.firstHeardVia,
  };
}

/**
 * The blob index tag of a confirmed manifest (lib/ops/confirmations.ts lists them): one tag, because Find Blobs by
 * Tags returns only the tags its expression names. Its value starts with the confirmation time, so a range on it
 * selects a period; the rest says when the process ended and how and when we heard of it.
 */
export const CONFIRMED_TAG = 'rcvConfirmed';

function confirmedTag(m: Manifest): Record<string, string> | undefined {
  if (!m.readyAt) return undefined;
  const parts = [m.readyAt, `ended=${m.processEndedAt ?? '-'}`, `heard=${m.firstHeardAt ?? '-'}`, `via=${m.firstHeardVia ?? '-'}`];
  return { [CONFIRMED_TAG]: parts.join(' ') };
}

/** Written with the confirmed tag once `readyAt` is set: in the same Put Blob, so it costs no storage transaction. */
export async function writeManifest(store: BlobStore, ref: InstanceRef, manifest: Manifest): Promise<void> {
  const valid = manifestSchema.parse(manifest);
  await store.putJson(manifestPath(ref), JSON.stringify(valid, null, 2), confirmedTag(valid));
}
