import { Readable } from 'node:stream';
import { unknownDataTypesReason, type ApplicationCatalog } from '../altinn/applications.js';
import { confirmationBy, type DataElement, type Instance } from '../altinn/instanceSchema.js';
import type { StorageClient } from '../altinn/storageClient.js';
import { OPERATOR_WAIT_SECONDS } from '../altinn/whenConfigured.js';
import { hashMatches, isSha256Hash, type BlobStore } from '../blob/store.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ReceiverError, type ErrorCode } from '../errors.js';
import type { Fields, Logger } from '../log.js';
import { decodeMessage, eventsMessageSchema, instanceId, readyMessageSchema, type EventsMessage, type InstanceRef, type PoisonEnvelope } from '../queue/messages.js';
import type { QueueSender } from '../queue/sender.js';
import { QUEUES } from '../queue/names.js';
import { isRetryable, withRetry, type RetryPolicy } from '../retry.js';
import { createSemaphore } from '../semaphore.js';
import { holdInstance } from './held.js';
import { deferMessage, pastHorizon, reasonOf, type Deferral } from './defer.js';
import { limitElementStreams, MAX_ELEMENT_STREAMS } from './limits.js';
import type { InstanceLease, InstanceLocks } from './lease.js';
import { elementPath, instanceJsonPath, manifestEntry, manifestPath, readManifest, writeManifest, type Manifest, type ManifestEntry } from './manifest.js';
import { mapLimit } from '../pool.js';

export interface ProcessorDeps {
  config: Pick<Config, 'org' | 'apps' | 'dataTypes' | 'downloadConcurrency' | 'confirmOnInfected' | 'substatusLabel' | 'deferHorizonHours' | 'deferBaseSeconds'>;
  storage: StorageClient;
  /** The apps' declared data types, to check ALTINN_DATA_TYPES before anything is confirmed. */
  applications: ApplicationCatalog;
  store: BlobStore;
  queues: Pick<QueueSender, 'send'>;
  /** One run per instance across processes (blobInstanceLocks). */
  locks: InstanceLocks;
  clock: Clock;
  log: Logger;
  retry?: { policy?: RetryPolicy; random?: () => number };
}

export type Outcome =
  /** Not processable (malformed message, instance gone or forbidden), or transient trouble past the horizon: put on the poison queue with the reason. */
  | { kind: 'poisoned'; reason: string }
  /** Already confirmed by our org, the manifest current and the ready message sent: nothing to do. */
  | { kind: 'already-done' }
  /** Stored (or found stored) and confirmed; `downloaded` counts elements fetched from Altinn in this run. */
  | { kind: 'confirmed'; downloaded: number; bytes: number }
  /** Stored, but an element is infected and CONFIRM_ON_INFECTED is off: not confirmed, no ready message. */
  | { kind: 'held-infected'; infected: string[] }
  /** The instance's process has not ended: nothing downloaded or confirmed; the completed event or the reconciler brings it back. */
  | { kind: 'process-not-ended' }
  /** Transient trouble outlasted the in-invocation retries, or another process holds the instance: the message comes back later. */
  | Deferral;

export interface Processor {
  handle(raw: unknown, meta?: { dequeueCount?: number }): Promise<Outcome>;
}

/** HTTP statuses on the instance that no retry can fix. */
const PERMANENT_STATUS = new Set([403, 404, 410]);
/** The line an alert selects on (infra/modules/alerts.bicep, credentials-refused). */
export const CREDENTIALS_REFUSED = 'Maskinporten or Altinn refused our credentials; fix the settings';
const PERMANENT_CODES = new Set<ErrorCode>(['altinn-instance-invalid', 'altinn-instance-mismatch', 'instance-foreign-org', 'config-data-types', 'element-unavailable']);

function isPermanent(e: unknown): e is ReceiverError {
  return e instanceof ReceiverError && !e.retryable && (PERMANENT_STATUS.has(e.status ?? 0) || PERMANENT_CODES.has(e.code));
}

/**
 * Maskinporten or Altinn refused our credentials (client id, key, scopes, org): no instance can be
 * fetched until an operator fixes the settings, so every message waits (as for broken settings) instead
 * of failing into poison within minutes.
 */
function isCredentialRefusal(e: unknown): e is ReceiverError {
  return e instanceof ReceiverError && !e.retryable && (/^(maskinporten|altinn-exchange)-/.test(e.code) || e.code === 'altinn-http-401');
}

/**
 * One queue message → instance stored, verified, confirmed. Order: data blobs, instance.json,
 * manifest.json (the "ready" mark), POST complete, ready message (then `readyAt` in the manifest), optional substatus.
 * Deliveries of the same instance that overlap in this process share one run; across processes the
 * instance lease admits one run at a time. Transient trouble that outlasts the retries defers the message.
 */
export function createProcessor(input: ProcessorDeps): Processor {
  // One budget of element streams shared by every instance in flight in this process.
  const deps: ProcessorDeps = { ...input, storage: limitElementStreams(input.storage, createSemaphore(MAX_ELEMENT_STREAMS)) };
  const inflight = new Map<string, Promise<Outcome>>();

  const leased = async (msg: EventsMessage, log: Logger): Promise<Outcome> => {
    const lease = await deps.locks.acquire(msg);
    if (!lease) return busy(deps, log, msg);
    try {
      return await processInstance(underLease(deps, lease), msg, log, lease.first);
    } finally {
      await lease.release();
    }
  };

  return {
    async handle(raw, meta = {}) {
      const base = deps.log.child({ dequeueCount: meta.dequeueCount });
      const decoded = decodeMessage(eventsMessageSchema, raw);
      if (!decoded.ok) return poison(deps, base, raw, `invalid message: ${decoded.reason}`);
      const msg = decoded.value;
      const log = base.child({ instanceId: instanceId(msg), eventId: msg.eventId, reason: msg.reason, app: msg.app, deferrals: msg.deferrals });
      const refusal = refuse(deps.config, msg);
      if (refusal) return poison(deps, log, raw, refusal);

      const key = `${msg.org}/${msg.app}/${instanceId(msg)}`;
      const joined = inflight.get(key);
      if (joined) {
        log.info('joining a run already in progress for this instance', { stage: 'dedupe' });
        return joined;
      }
      // Poisoned or deferred inside the shared run: once, however many deliveries joined it.
      const run = leased(msg, log)
        .catch((e: unknown) => settle(deps, log, raw, msg, e))
        .finally(() => inflight.delete(key));
      inflight.set(key, run);
      return run;
    },
  };
}

async function poison(deps: ProcessorDeps, log: Logger, raw: unknown, reason: string): Promise<Outcome> {
  const envelope: PoisonEnvelope = { reason, original: raw, failedAt: new Date(deps.clock.now()).toISOString() };
  await deps.queues.send(QUEUES.poison, envelope);
  log.warn('message poisoned', { stage: 'poison', reason });
  return { kind: 'poisoned', reason };
}

const deferDeps = (deps: ProcessorDeps, log: Logger) => ({ queues: deps.queues, log, baseSeconds: deps.config.deferBaseSeconds, random: deps.retry?.random });

/** Transient or refused credentials: defer, unless the horizon has passed; anything else the host retries (and poisons after maxDequeueCount). */
async function settle(deps: ProcessorDeps, log: Logger, raw: unknown, msg: EventsMessage, e: unknown): Promise<Outcome> {
  if (isPermanent(e)) return poison(deps, log, raw, `${e.code}: ${e.message}`);
  const refused = isCredentialRefusal(e);
  if (!refused && !isRetryable(e)) {
    log.error('processing failed; the host will retry', { stage: 'failed', error: e });
    throw e;
  }
  if (pastHorizon(msg, deps.clock.now(), deps.config.deferHorizonHours)) {
    return poison(deps, log, raw, `${refused ? 'refused credentials' : 'transient failures'} for over ${deps.config.deferHorizonHours} h (DEFER_HORIZON_HOURS), ${msg.deferrals ?? 0} deferrals; last: ${reasonOf(e)}: ${(e as Error).message}`);
  }
  if (refused) log.error(CREDENTIALS_REFUSED, { stage: 'failed', error: e });
  else log.warn('transient failure outlasted the retries', { stage: 'failed', error: e });
  const retryAfterSeconds = refused ? OPERATOR_WAIT_SECONDS : e instanceof ReceiverError ? e.retryAfterSeconds : undefined;
  return deferMessage(deferDeps(deps, log), msg, { reason: reasonOf(e), retryAfterSeconds });
}

/** Another process holds the instance: done if its manifest says so, else look again later (backoff, as for transient trouble). */
async function busy(deps: ProcessorDeps, log: Logger, msg: EventsMessage): Promise<Outcome> {
  const manifest = await readManifest(deps.store, msg);
  if (manifest?.readyAt) {
    log.info('another process holds this instance and its manifest is announced; nothing to do', { stage: 'busy', outcome: 'already-done' });
    return { kind: 'already-done' };
  }
  return deferMessage(deferDeps(deps, log), msg, { reason: 'instance-busy' });
}

/** Every write of the run (element blobs, the folder's JSON, complete, queue messages) first confirms the lease: nothing under a lost one. */
function underLease(deps: ProcessorDeps, lease: InstanceLease): ProcessorDeps {
  const { store, storage, queues } = deps;
  return {
    ...deps,
    store: {
      ...store,
      putStream: (p, source, u) => lease.confirm().then(() => store.putStream(p, source, u), (e: unknown) => discard(source, e)),
      putJson: (p, t) => lease.confirm().then(() => store.putJson(p, t)),
      remove: (p) => lease.confirm().then(() => store.remove(p)),
    },
    storage: { ...storage, complete: (ref) => lease.confirm().then(() => storage.complete(ref)) },
    queues: { send: (q, m, o) => lease.confirm().then(() => queues.send(q, m, o)) },
  };
}

/** An element body that will not be stored is cancelled, so its Altinn connection is freed at once; `e` is thrown on. */
function discard(source: Readable | ReadableStream<Uint8Array>, e: unknown): never {
  if (source instanceof Readable) source.destroy();
  else void source.cancel().catch(() => undefined);
  throw e;
}

/** A message for another org, or an app outside ALTINN_APPS, is never ours to fetch. */
function refuse(config: ProcessorDeps['config'], msg: EventsMessage): string | undefined {
  if (msg.org !== config.org) return `org ${msg.org} is not ALTINN_ORG (${config.org})`;
  if (config.apps.length > 0 && !config.apps.includes(msg.app)) return `app ${msg.app} is not in ALTINN_APPS`;
  return undefined;
}

/** A run's log with its stage helpers: `retry` logs each retry under the stage, `timed` logs the stage's line with its duration. */
interface Stages {
  log: Logger;
  started: number;
  retry: <T>(stage: string, fn: () => Promise<T>) => Promise<T>;
  timed: <T>(stage: string, fn: () => Promise<T>, fields?: (r: T) => Fields) => Promise<T>;
}

function stages(deps: ProcessorDeps, log: Logger): Stages {
  const { clock } = deps;
  return {
    log,
    started: clock.now(),
    retry: (stage, fn) =>
      withRetry(fn, {
        clock,
        policy: deps.retry?.policy,
        random: deps.retry?.random,
        onRetry: (error, attempt, delayMs) => log.warn('retrying', { stage, attempt, delayMs: Math.round(delayMs), error }),
      }),
    timed: async (stage, fn, fields = () => ({})) => {
      const t0 = clock.now();
      const result = await fn();
      log.info(stage, { stage, durationMs: clock.now() - t0, ...fields(result) });
      return result;
    },
  };
}

/** `firstRun`: the instance's lock was created by this run's lease (see InstanceLease.first). */
async function processInstance(deps: ProcessorDeps, ref: InstanceRef, log: Logger, firstRun: boolean): Promise<Outcome> {
  const { clock, store, config } = deps;
  const run = stages(deps, log);
  const { instance, raw } = await run.timed(
    'instance fetched',
    () => run.retry('instance', () => deps.storage.getInstance(ref)),
    (r) => ({ elements: r.instance.data.length, lastChanged: r.instance.lastChanged }),
  );
  // Storage confirms whatever it is asked to (no process check there): an unsubmitted instance must never reach `complete`.
  if (!instance.process?.ended) {
    log.info('process not ended: nothing downloaded or confirmed; the completed event or the reconciler brings the instance back', {
      stage: 'done',
      outcome: 'process-not-ended',
      durationMs: clock.now() - run.started,
    });
    return { kind: 'process-not-ended' };
  }
  // A mistyped ALTINN_DATA_TYPES entry selects nothing: without this, an empty manifest would be confirmed.
  const unknownTypes = await run.retry('application', () => deps.applications.unknownDataTypes(ref.org, ref.app));
  if (unknownTypes.length > 0) {
    throw new ReceiverError(unknownDataTypesReason(ref.org, ref.app, unknownTypes), { code: 'config-data-types', retryable: false, instanceId: instanceId(ref) });
  }
  const selected = instance.data.filter((d) => config.dataTypes.length === 0 || config.dataTypes.includes(d.dataType));
  const ourConfirmation = confirmationBy(instance, config.org);
  // Nothing to find in a folder no run has held: no manifest read, no look for stored elements (a storage
  // transaction each). An instance we confirmed was held before (by a version without the lock, say): look.
  const untouched = firstRun && !ourConfirmation;
  const existing = untouched ? undefined : await readManifest(store, ref);
  const current = existing && isCurrent(existing, instance, selected) ? existing : undefined;
  if (current?.readyAt && ourConfirmation) {
    log.info('already stored, confirmed and announced; nothing to do', { stage: 'done', outcome: 'already-done', durationMs: clock.now() - run.started });
    return { kind: 'already-done' };
  }
  if (current) log.info('manifest is current; confirming without downloading', { stage: 'manifest found' });
  const { manifest, downloaded } = current ? { manifest: current, downloaded: 0 } : await storeInstance(deps, run, ref, { instance, raw, selected, existing, reuse: !untouched });

  const infected = manifest.elements.filter((e) => e.status === 'infected').map((e) => e.id);
  if (infected.length > 0 && !config.confirmOnInfected && !ourConfirmation) {
    await holdInstance({ store, queues: deps.queues, clock, log }, ref, manifest);
    log.warn('infected element(s): stored the rest, held for an operator (CONFIRM_ON_INFECTED=false; see: held list)', {
      stage: 'done',
      outcome: 'held-infected',
      infected,
      durationMs: clock.now() - run.started,
    });
    return { kind: 'held-infected', infected };
  }
  return confirmAndAnnounce(deps, run, ref, manifest, { ourConfirmation, downloaded });
}

/** Elements downloaded (or kept), then instance.json, then the manifest: the folder is ready once the manifest is written. */
async function storeInstance(
  deps: ProcessorDeps,
  run: Stages,
  ref: InstanceRef,
  found: { instance: Instance; raw: string; selected: DataElement[]; existing: Manifest | undefined; reuse: boolean },
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
    elements: entries,
  };
  await timed('manifest written', () => writeManifest(store, ref, manifest), () => ({ elements: manifest.elements.length }));
  return { manifest, downloaded };
}

/** POST complete (unless already ours), the ready message, `readyAt` in the manifest, then the optional substatus. */
async function confirmAndAnnounce(
  deps: ProcessorDeps,
  run: Stages,
  ref: InstanceRef,
  manifest: Manifest,
  state: { ourConfirmation: ReturnType<typeof confirmationBy>; downloaded: number },
): Promise<Outcome> {
  const { clock, store, storage, config } = deps;
  const { log, retry, timed } = run;
  const { ourConfirmation, downloaded } = state;
  const bytes = manifest.elements.reduce((n, e) => n + (e.status === 'stored' ? e.size : 0), 0);
  if (!ourConfirmation) await timed('confirmed', () => retry('complete', () => storage.complete(ref)));
  const confirmedAt = ourConfirmation?.confirmedOn && !Number.isNaN(Date.parse(ourConfirmation.confirmedOn)) ? new Date(ourConfirmation.confirmedOn) : new Date(clock.now());
  const ready = readyMessageSchema.parse({ ...pickRef(ref), manifest: manifestPath(ref), confirmedAt: confirmedAt.toISOString() });
  await timed('ready message sent', () => retry('ready', () => deps.queues.send(QUEUES.ready, ready)));
  // Marks the announcement done: a run that failed between `complete` and here sends it on the host's retry.
  const announced: Manifest = { ...manifest, readyAt: ready.confirmedAt };
  await timed('manifest marked ready', () => writeManifest(store, ref, announced));
  if (config.substatusLabel && !ourConfirmation) {
    const label = config.substatusLabel;
    // Best effort: the instance is already confirmed, so a failure here must not make the host redo the work.
    await timed('substatus set', () => retry('substatus', () => storage.setSubstatus(ref, { label }))).catch((error: unknown) =>
      log.warn('substatus not set', { stage: 'substatus', error }),
    );
  }
  log.info('done', { stage: 'done', outcome: 'confirmed', downloaded, bytes, durationMs: clock.now() - run.started });
  return { kind: 'confirmed', downloaded, bytes };
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
  const res = await deps.storage.openDataElement(ref, el.id, undefined, el.size).catch((e: unknown) => {
    throw unavailable(e, ref, el) ?? e;
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
 * An element the instance lists but Storage will not serve: 404/410 (blob gone), or 400 (its data type
 * is no longer declared by the app: altinn-storage DataController `GetDataTypeAsync`). Never confirmed
 * without it: the operator decides (ALTINN_DATA_TYPES, or a replay once Altinn serves it).
 */
function unavailable(e: unknown, ref: InstanceRef, el: DataElement): ReceiverError | undefined {
  if (!(e instanceof ReceiverError) || ![400, 404, 410].includes(e.status ?? 0)) return undefined;
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
function isCurrent(manifest: Manifest, instance: Instance, selected: DataElement[]): boolean {
  if (manifest.instanceLastChanged !== null && manifest.instanceLastChanged === instance.lastChanged) return true;
  if (manifest.elements.length !== selected.length) return false;
  const byId = new Map(manifest.elements.map((e) => [e.id, e]));
  return selected.every((d) => {
    const m = byId.get(d.id);
    return m !== undefined && m.size === d.size && m.lastChanged === (d.lastChanged ?? null);
  });
}

function pickRef(ref: InstanceRef): InstanceRef {
  return { org: ref.org, app: ref.app, partyId: ref.partyId, instanceGuid: ref.instanceGuid };
}
