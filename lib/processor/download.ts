import { Readable } from 'node:stream';
import { restrictedDataTypeReason } from '../altinn/applications.js';
import type { DataElement, Instance } from '../altinn/instanceSchema.js';
import { hashMatches, isSha256Hash, type BlobStore } from '../blob/store.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceId, type InstanceRef } from '../queue/messages.js';
import { mapLimit } from '../pool.js';
import type { ProcessorDeps, Stages } from './deps.js';
import { refused, StorageRefusal } from './heal.js';
import { elementPath, instanceJsonPath, manifestEntry, manifestPath, writeManifest, type Manifest, type ManifestEntry, type Timing } from './manifest.js';
import type { Found } from './readInstance.js';

/** Elements downloaded (or kept), then instance.json, then the manifest: the folder is ready once the manifest is written. */
export async function storeInstance(
  deps: ProcessorDeps,
  run: Stages,
  ref: InstanceRef,
  found: Found & { existing: Manifest | undefined; reuse: boolean; timing?: Timing },
): Promise<{ manifest: Manifest; downloaded: number }> {
  const { clock, store, config } = deps;
  const { log, retry, timed } = run;
  const { instance, raw, selected, existing, reuse } = found;
  // A manifest of an older version would vouch for blobs about to change: readers must not trust the folder meanwhile.
  if (existing) await timed('stale manifest removed', () => store.remove(manifestPath(ref)));
  const pending = selected.filter((d) => d.fileScanResult === 'Pending');
  if (pending.length > 0) {
    throw new ReceiverError(`virus scan pending for ${pending.map((d) => d.id).join(', ')}`, {
      code: 'filescan-pending',
      retryable: true,
      instanceId: instanceId(ref),
    });
  }
  const results = await mapLimit(selected, config.downloadConcurrency, (el) =>
    el.fileScanResult === 'Infected' ? Promise.resolve({ entry: infectedEntry(el, log), fetched: false }) : retry('download', () => download(deps, ref, el, log, { reuse })),
  );
  const entries = results.map((r) => r.entry);
  const downloaded = results.filter((r) => r.fetched).length;
  await timed('instance.json written', () => store.putJson(instanceJsonPath(ref), raw), () => ({ bytes: Buffer.byteLength(raw) }));
  const manifest: Manifest = {
    version: 1,
    org: ref.org,
    app: ref.app,
    partyId: ref.partyId,
    instanceGuid: ref.instanceGuid,
    instanceLastChanged: instance.lastChanged,
    downloadedAt: new Date(clock.now()).toISOString(),
    ...found.timing,
    elements: entries,
  };
  await timed('manifest written', () => writeManifest(store, ref, manifest), () => ({ elements: manifest.elements.length }));
  return { manifest, downloaded };
}

/**
 * The element's manifest entry; `fetched` is false when a verified copy from an earlier run was kept.
 * `reuse`: look for such a copy (false when no run can have stored one).
 */
async function download(deps: ProcessorDeps, ref: InstanceRef, el: DataElement, log: Logger, opts: { reuse: boolean }): Promise<{ entry: ManifestEntry; fetched: boolean }> {
  const t0 = deps.clock.now();
  const path = elementPath(ref, el.id);
  const contentType = el.contentType ?? 'application/octet-stream';
  const entry = (sha256: string): ManifestEntry => manifestEntry(el, { sha256, blob: path });
  const kept = opts.reuse ? await storedCopy(deps.store, path, el) : undefined;
  if (kept) {
    log.info('element already stored', { stage: 'element stored', elementId: el.id, dataType: el.dataType, bytes: 0, reused: true });
    return { entry: entry(kept), fetched: false };
  }
  if (el.contentHash && !isSha256Hash(el.contentHash)) {
    log.warn('contentHash is not a SHA-256; verifying size only', { stage: 'download', elementId: el.id });
  }
  const res = await deps.storage.openDataElement(ref, el.id, undefined, el.size).catch(async (e: unknown) => {
    throw (await elementRefusal(deps, ref, el, e)) ?? unavailable(e, ref, el) ?? e;
  });
  const metadata: Record<string, string> = { datatype: el.dataType, elementid: el.id };
  if (el.filename) metadata.filename = el.filename;
  if (el.lastChanged) metadata.altinnlastchanged = el.lastChanged;
  const stored = await deps.store.putStream(path, res.body ?? Readable.from([]), {
    contentType,
    filename: el.filename,
    expectedSize: el.size,
    expectedHash: el.contentHash,
    metadata,
    instanceId: instanceId(ref),
  });
  log.info('element stored', { stage: 'element stored', elementId: el.id, dataType: el.dataType, bytes: stored.bytes, durationMs: deps.clock.now() - t0 });
  return { entry: entry(stored.sha256), fetched: true };
}

/**
 * The sha256 of a blob an earlier, failed run already stored for this very element version, so a host
 * retry does not fetch it again. Blobs are committed only after verification, so their metadata is
 * trustworthy; without a lastChanged we cannot tell versions apart and download again.
 */
async function storedCopy(store: BlobStore, path: string, el: DataElement): Promise<string | undefined> {
  if (!el.lastChanged) return undefined;
  const blob = await store.describe(path);
  const m = blob?.metadata;
  if (!blob || !m?.sha256 || blob.size !== el.size || m.size !== String(el.size) || m.altinnlastchanged !== el.lastChanged) return undefined;
  if (el.contentHash && isSha256Hash(el.contentHash) && !hashMatches(el.contentHash, Buffer.from(m.sha256, 'hex'))) return undefined;
  return m.sha256;
}

/**
 * Storage's 403/404 on an element (which may heal: see heal.ts). A 403 on a data type with
 * `actionRequiredToRead` is named for what it most likely is: the app's policy does not let our org read
 * restricted data (altinn-storage DataController `Get` → `DataTypeExtensions.CanRead` → `Forbid()`).
 */
async function elementRefusal(deps: ProcessorDeps, ref: InstanceRef, el: DataElement, e: unknown): Promise<StorageRefusal | undefined> {
  if (!refused(e)) return undefined;
  if (e.status === 404) return new StorageRefusal(`data element ${el.id} (${el.dataType}) not found in Altinn Storage`, e);
  const restricted = (await deps.applications.restrictedDataTypes(ref.org, ref.app).catch(() => [])).find((r) => r.dataType === el.dataType);
  if (!restricted) return new StorageRefusal(`Altinn Storage refused data element ${el.id} (${el.dataType}) (403)`, e);
  const reason = restrictedDataTypeReason(ref.org, ref.app, restricted);
  return new StorageRefusal(reason, e, 'element-restricted', `data element ${el.id}: ${reason}`);
}

/**
 * An element the instance lists but Storage will not serve: 410 (blob gone), or 400 (its data type
 * is no longer declared by the app: altinn-storage DataController `GetDataTypeAsync`). Never confirmed
 * without it: the operator decides (ALTINN_DATA_TYPES, or a replay once Altinn serves it).
 */
function unavailable(e: unknown, ref: InstanceRef, el: DataElement): ReceiverError | undefined {
  if (!(e instanceof ReceiverError) || ![400, 410].includes(e.status ?? 0)) return undefined;
  const why = e.status === 400 ? 'its data type is not declared in the app\'s metadata' : 'the element is gone';
  return new ReceiverError(`data element ${el.id} (${el.dataType}) is listed in the instance, but Storage answered ${e.status} (${why}); not confirmed`, {
    code: 'element-unavailable',
    retryable: false,
    status: e.status,
    instanceId: instanceId(ref),
    cause: e,
  });
}

function infectedEntry(el: DataElement, log: Logger): ManifestEntry {
  log.warn('element infected: not downloaded', { stage: 'element infected', elementId: el.id, dataType: el.dataType });
  return manifestEntry(el, undefined);
}

/**
 * The manifest describes this version of the instance: same lastChanged, or (our own confirmation
 * changes lastChanged) the same selected elements with the same sizes and change times.
 */
export function isCurrent(manifest: Manifest, instance: Instance, selected: DataElement[]): boolean {
  if (manifest.instanceLastChanged !== null && manifest.instanceLastChanged === instance.lastChanged) return true;
  return sameElements(manifest, selected);
}

/** The selected elements are those the manifest lists: same ids, sizes and change times. */
export function sameElements(manifest: Manifest, selected: DataElement[]): boolean {
  if (manifest.elements.length !== selected.length) return false;
  const byId = new Map(manifest.elements.map((e) => [e.id, e]));
  return selected.every((d) => {
    const m = byId.get(d.id);
    return m !== undefined && m.size === d.size && m.lastChanged === (d.lastChanged ?? null);
  });
}
