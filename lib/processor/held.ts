import type { ContainerClient } from '@azure/storage-blob';
import type { StorageClient } from '../altinn/storageClient.js';
import { createBlobStore, type BlobStore } from '../blob/store.js';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { heldMessageSchema, instanceId, readyMessageSchema, type HeldMessage, type InstanceRef, type ReadyMessage } from '../queue/messages.js';
import type { QueueSender } from '../queue/sender.js';
import { QUEUES } from '../queue/names.js';
import { manifestPath, readManifest, writeManifest, type Manifest } from './manifest.js';

/**
 * Held instances: stored except their infected elements, not confirmed (CONFIRM_ON_INFECTED=false),
 * waiting for an operator. Each has an index blob `_held/{partyId}/{instanceGuid}.json` in the downloads
 * container (the held message itself): `held list`, `status` and the monitor read it, the reconciler
 * skips instances that have one, and `held release` deletes it. The queue message is for downstream
 * systems, who may consume it; the index is what this app trusts.
 */
const HELD_PREFIX = '_held/';

const heldIndexPath = (ref: Pick<InstanceRef, 'partyId' | 'instanceGuid'>) => `${HELD_PREFIX}${ref.partyId}/${ref.instanceGuid}.json`;

export interface HoldDeps {
  store: BlobStore;
  queues: Pick<QueueSender, 'send'>;
  clock: Clock;
  log: Logger;
}

/**
 * Announce a held instance once: index blob, then the altinn-instances-held message, then `heldAt` in the
 * manifest. A later delivery of the same instance finds `heldAt` and sends nothing again; a crash in between
 * costs at most one duplicate message.
 */
export async function holdInstance(deps: HoldDeps, ref: InstanceRef, manifest: Manifest): Promise<HeldMessage> {
  const infected = manifest.elements.filter((e) => e.status === 'infected').map((e) => ({ id: e.id, dataType: e.dataType, filename: e.filename }));
  const heldAt = manifest.heldAt ?? new Date(deps.clock.now()).toISOString();
  const message = heldMessageSchema.parse({
    org: ref.org,
    app: ref.app,
    partyId: ref.partyId,
    instanceGuid: ref.instanceGuid,
    reason: 'infected',
    infected,
    manifest: manifestPath(ref),
    manifestStatus: 'held',
    heldAt,
  });
  if (manifest.heldAt) return message;
  await deps.store.putJson(heldIndexPath(ref), JSON.stringify(message));
  await deps.queues.send(QUEUES.held, message);
  await writeManifest(deps.store, ref, { ...manifest, heldAt });
  deps.log.info('held message sent', { stage: 'held', infected: infected.map((e) => e.id) });
  return message;
}

/** Every held instance, oldest first; an unreadable index blob is reported, not hidden. */
export async function listHeld(container: ContainerClient): Promise<{ held: HeldMessage[]; unreadable: string[] }> {
  const held: HeldMessage[] = [];
  const unreadable: string[] = [];
  if (!(await container.exists())) return { held, unreadable };
  const store = createBlobStore(container);
  for await (const item of container.listBlobsFlat({ prefix: HELD_PREFIX })) {
    const message = await store.readJson(item.name, heldMessageSchema).catch((e: unknown) => {
      if (e instanceof ReceiverError && e.code === 'blob-invalid') return undefined;
      throw e;
    });
    if (message) held.push(message);
    // A release deletes the blob while we list: gone is not unreadable.
    else if (await container.getBlobClient(item.name).exists()) unreadable.push(item.name);
  }
  held.sort((a, b) => a.heldAt.localeCompare(b.heldAt));
  return { held, unreadable };
}

/** Whether the instance is held (the reconciler leaves those to an operator). */
export async function isHeld(container: ContainerClient, ref: Pick<InstanceRef, 'partyId' | 'instanceGuid'>): Promise<boolean> {
  return container.getBlobClient(heldIndexPath(ref)).exists();
}

export interface ReleaseDeps extends HoldDeps {
  /** The Altinn client the processor uses; only `complete` is needed. */
  storage: Pick<StorageClient, 'complete'>;
}

export interface Release {
  held: HeldMessage;
  /** The ready message sent (or, in a dry run, that would be sent). */
  ready: ReadyMessage;
  dryRun: boolean;
}

const notFound = (id: string, why: string) => new ReceiverError(`instance ${id} ${why}`, { code: 'held-not-found', retryable: false, instanceId: id });

/**
 * An operator checked a held instance with the submitter: confirm it to Altinn, send the ready message
 * listing the infected elements, mark the manifest released, drop the index blob. Each step may be
 * repeated: a release that failed part-way is simply run again.
 */
export async function releaseHeld(deps: ReleaseDeps, ref: Pick<InstanceRef, 'partyId' | 'instanceGuid'>, options: { dryRun: boolean }): Promise<Release> {
  const id = instanceId(ref);
  const held = await deps.store.readJson(heldIndexPath(ref), heldMessageSchema);
  if (!held) throw notFound(id, 'is not held (see: held list)');
  const manifest = await readManifest(deps.store, held);
  if (!manifest) throw notFound(id, `is held but has no readable ${held.manifest}`);
  const confirmedAt = new Date(deps.clock.now()).toISOString();
  const ready = readyMessageSchema.parse({
    org: held.org,
    app: held.app,
    partyId: held.partyId,
    instanceGuid: held.instanceGuid,
    manifest: held.manifest,
    confirmedAt,
    infected: held.infected.map((e) => e.id),
    processEndedAt: manifest.processEndedAt,
    firstHeardAt: manifest.firstHeardAt,
    firstHeardVia: manifest.firstHeardVia,
  });
  if (options.dryRun) return { held, ready, dryRun: true };
  const log = deps.log.child({ instanceId: id, app: held.app });
  await deps.storage.complete(held);
  log.info('held instance confirmed by an operator', { stage: 'released', infected: ready.infected });
  await deps.queues.send(QUEUES.ready, ready);
  await writeManifest(deps.store, held, { ...manifest, readyAt: confirmedAt, releasedAt: confirmedAt });
  await deps.store.remove(heldIndexPath(held));
  return { held, ready, dryRun: false };
}
