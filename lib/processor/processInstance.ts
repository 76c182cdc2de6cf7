import { Readable } from 'node:stream';
import { confirmationBy } from '../altinn/instanceSchema.js';
import type { Logger } from '../log.js';
import { decodeMessage, eventsMessageSchema, instanceId, type EventsMessage } from '../queue/messages.js';
import { createSemaphore } from '../semaphore.js';
import { announcePending, confirmAndAnnounce } from './confirm.js';
import { stages, type Outcome, type ProcessorDeps, type Stages } from './deps.js';
import { isCurrent, storeInstance, type Stored } from './download.js';
import { holdInstance } from './held.js';
import { limitElementStreams, MAX_ELEMENT_STREAMS } from './limits.js';
import type { InstanceLease } from './lease.js';
import { readManifest, withTiming } from './manifest.js';
import { busy, decideOnError, poison, refuse } from './outcome.js';
import { readInstance, readUnderLease, type Found } from './readInstance.js';
import { recheck, settleAfterReading, settleBeforeReading } from './settle.js';
import { knownTags, timingOf } from './timing.js';

export type { Outcome, ProcessorDeps } from './deps.js';
export { CREDENTIALS_REFUSED } from './outcome.js';

export interface Processor {
  handle(raw: unknown, meta?: { dequeueCount?: number }): Promise<Outcome>;
}

/**
 * One queue message → instance stored, verified, confirmed. Order: settle, GET instance, lease, data
 * blobs, instance.json, manifest.json (the "ready" mark), GET instance again (changed: store the new
 * state first), POST complete, ready message (then `readyAt` in the manifest), optional substatus.
 * Deliveries of the same instance that overlap in this process share one run; across processes the
 * instance lease admits one run at a time. Transient trouble that outlasts the retries defers the message.
 * The stages live beside this file: readInstance (read and guards), settle (settle and re-check),
 * download, confirm (confirm and announce), outcome and heal (deciding the outcome).
 */
export function createProcessor(input: ProcessorDeps): Processor {
  // One budget of element streams shared by every instance in flight in this process.
  const deps: ProcessorDeps = { ...input, storage: limitElementStreams(input.storage, createSemaphore(MAX_ELEMENT_STREAMS)) };
  const inflight = new Map<string, Promise<Outcome>>();

  // Nothing is written before Storage has shown the instance (the lease creates the folder's lock blob):
  // a forged event for an instance that does not exist leaves no blob behind.
  const leased = async (msg: EventsMessage, log: Logger): Promise<Outcome> => {
    const early = settleBeforeReading(deps, log, msg);
    if (early) return early;
    const run = stages(deps, log);
    const found = await readInstance(deps, run, msg);
    if (!found) return { kind: 'process-not-ended' };
    const settling = settleAfterReading(deps, log, msg, found.instance);
    if (settling) return settling;
    const lease = await deps.locks.acquire(msg, knownTags(msg));
    if (!lease) return busy(deps, log, msg);
    try {
      const latest = await readUnderLease(deps, run, msg, found, lease.first);
      return await processInstance(underLease(deps, lease), run, msg, latest, lease.first);
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
        .catch((e: unknown) => decideOnError(deps, log, raw, msg, e))
        .finally(() => inflight.delete(key));
      inflight.set(key, run);
      return run;
    },
  };
}

/** Every write of the run (element blobs, the folder's JSON, complete, queue messages) first confirms the lease: nothing under a lost one. */
function underLease(deps: ProcessorDeps, lease: InstanceLease): ProcessorDeps {
  const { store, storage, queues } = deps;
  return {
    ...deps,
    store: {
      ...store,
      putStream: (p, source, u) => lease.confirm().then(() => store.putStream(p, source, u), (e: unknown) => discard(source, e)),
      // A write conditional on this run's own ETag (the ready mark) skips the check: it lands only if no other run
      // wrote the blob since, which is what the lease guards, and it must be able to land after an outage outlasted the lease.
      putJson: (p, t, g, c) => (c?.ifMatch ? store.putJson(p, t, g, c) : lease.confirm().then(() => store.putJson(p, t, g, c))),
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

/** `found`: the instance as read before the lease; `firstRun`: the instance's lock was created by this run's lease (see InstanceLease.first). */
async function processInstance(deps: ProcessorDeps, run: Stages, ref: EventsMessage, found: Found, firstRun: boolean): Promise<Outcome> {
  const { clock, store, config } = deps;
  const { log } = run;
  const { instance, selected } = found;
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
  if (current && ourConfirmation && !current.readyAt) {
    const pending = await announcePending(deps, run, ref, current);
    if (pending) return pending;
  }
  if (current) log.info('manifest is current; confirming without downloading', { stage: 'manifest found' });
  const timing = timingOf(ref, instance);
  const stored: Stored = current ? { manifest: current, downloaded: 0 } : await storeInstance(deps, run, ref, { ...found, existing, reuse: !untouched, timing });
  // Already ours: no `complete` to guard. Otherwise the files must describe the instance as it is now.
  const rechecked = ourConfirmation ? stored : await recheck(deps, run, ref, stored);
  const { manifest, downloaded } = { ...rechecked, manifest: withTiming(rechecked.manifest, timing) };

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
  return confirmAndAnnounce(deps, run, ref, manifest, { ourConfirmation, downloaded, etag: rechecked.etag });
}
