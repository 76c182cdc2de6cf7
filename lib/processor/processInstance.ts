import { confirmationBy } from '../altinn/instanceSchema.js';
import type { Logger } from '../log.js';
import { decodeMessage, eventsMessageSchema, instanceId, type EventsMessage, type InstanceRef } from '../queue/messages.js';
import { createSemaphore } from '../semaphore.js';
import { confirmAndAnnounce } from './confirm.js';
import type { Outcome, ProcessorDeps } from './deps.js';
import { stages } from './deps.js';
import { isCurrent, storeInstance } from './download.js';
import { holdInstance } from './held.js';
import { limitElementStreams, MAX_ELEMENT_STREAMS } from './limits.js';
import type { InstanceLease } from './lease.js';
import { readManifest } from './manifest.js';
import { busy, decideOnError, poison, refuse } from './outcome.js';
import { readInstance } from './readInstance.js';

export type { Outcome, ProcessorDeps } from './deps.js';
export { CREDENTIALS_REFUSED } from './outcome.js';

export interface Processor {
  handle(raw: unknown, meta?: { dequeueCount?: number }): Promise<Outcome>;
}

/**
 * One queue message → instance stored, verified, confirmed. Order: data blobs, instance.json,
 * manifest.json (the "ready" mark), POST complete, ready message (then `readyAt` in the manifest), optional substatus.
 * Deliveries of the same instance that overlap in this process share one run; across processes the
 * instance lease admits one run at a time. Transient trouble that outlasts the retries defers the message.
 * The stages live beside this file: readInstance (read and guards), download, confirm (confirm and
 * announce), outcome (deciding the outcome).
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
        .catch((e: unknown) => decideOnError(deps, log, raw, msg, e))
        .finally(() => inflight.delete(key));
      inflight.set(key, run);
      return run;
    },
  };
}

/** Every write that vouches for the run (blobs of the folder, complete, queue messages) first renews the lease. */
function underLease(deps: ProcessorDeps, lease: InstanceLease): ProcessorDeps {
  const { store, storage, queues } = deps;
  return {
    ...deps,
    store: { ...store, putJson: (p, t) => lease.confirm().then(() => store.putJson(p, t)), remove: (p) => lease.confirm().then(() => store.remove(p)) },
    storage: { ...storage, complete: (ref) => lease.confirm().then(() => storage.complete(ref)) },
    queues: { send: (q, m, o) => lease.confirm().then(() => queues.send(q, m, o)) },
  };
}

/** `firstRun`: the instance's lock was created by this run's lease (see InstanceLease.first). */
async function processInstance(deps: ProcessorDeps, ref: InstanceRef, log: Logger, firstRun: boolean): Promise<Outcome> {
  const { clock, store, config } = deps;
  const run = stages(deps, log);
  const found = await readInstance(deps, run, ref);
  if (!found) return { kind: 'process-not-ended' };
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
  if (current) log.info('manifest is current; confirming without downloading', { stage: 'manifest found' });
  const { manifest, downloaded } = current ? { manifest: current, downloaded: 0 } : await storeInstance(deps, run, ref, { ...found, existing, reuse: !untouched });

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
