import { confirmationBy } from '../altinn/instanceSchema.js';
import type { Instance } from '../altinn/instanceSchema.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { instanceId, type EventsMessage, type InstanceRef } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import type { Deferral } from './defer.js';
import type { ProcessorDeps, Stages } from './deps.js';
import { sameElements, storeInstance } from './download.js';
import type { Manifest } from './manifest.js';
import { fetchInstance, type Found } from './readInstance.js';

/**
 * Settle, then re-check. Altinn publishes `app.instance.process.completed` before the app's own
 * end-of-process handlers run (app-lib-dotnet src/Altinn.App.Core/Internal/Process/ProcessEngine.cs:
 * `Next` → `HandleMoveToNext` stores the ended process and registers the event, and only then
 * `RunAppDefinedProcessEndHandlers` runs each `IProcessEnd.End`), and those may add or change data
 * elements. So an instance is read for confirmation no earlier than SETTLE_SECONDS after its
 * `process.ended`, and read once more right before `complete`.
 */

/** Rounds of "changed: store the new state, read again" before the message is deferred instead. */
export const MAX_RECHECKS = 3;

/**
 * Puts the message away until `dueMs` (a visibility delay, never a sleep), at most SETTLE_SECONDS at a time
 * (a clock ahead of ours delays it only by the skew); not a deferral for trouble, so `deferrals` stays.
 */
async function deferUntil(deps: ProcessorDeps, log: Logger, msg: EventsMessage, dueMs: number, from: string): Promise<Deferral> {
  const delaySeconds = Math.max(1, Math.min(deps.config.settleSeconds, Math.ceil((dueMs - deps.clock.now()) / 1000)));
  await deps.queues.send(QUEUES.events, msg, { visibilityTimeoutSeconds: delaySeconds });
  log.info('settling: the app may still add data after the process ended; read again later (SETTLE_SECONDS)', { stage: 'settle', from, delaySeconds });
  return { kind: 'deferred', reason: 'settling', delaySeconds, deferrals: msg.deferrals ?? 0 };
}

/**
 * Before any request to Altinn: an event arrives right as the process ends, so a first delivery
 * younger than SETTLE_SECONDS (from its enqueue) waits without asking Storage anything.
 */
export function settleBeforeReading(deps: ProcessorDeps, log: Logger, msg: EventsMessage): Promise<Deferral> | undefined {
  if (msg.reason !== 'event' || deps.config.settleSeconds === 0) return undefined;
  const due = Date.parse(msg.enqueuedAt) + deps.config.settleSeconds * 1000;
  return deps.clock.now() < due ? deferUntil(deps, log, msg, due, 'enqueuedAt') : undefined;
}

/** After reading: an instance whose process ended less than SETTLE_SECONDS ago (a reconcile find, a replay) waits the rest. */
export function settleAfterReading(deps: ProcessorDeps, log: Logger, msg: EventsMessage, instance: Instance): Promise<Deferral> | undefined {
  const ended = Date.parse(instance.process?.ended ?? '');
  if (Number.isNaN(ended) || deps.config.settleSeconds === 0) return undefined;
  const due = ended + deps.config.settleSeconds * 1000;
  return deps.clock.now() < due ? deferUntil(deps, log, msg, due, 'process.ended') : undefined;
}

/**
 * The instance is still in the state the files came from. lastChanged counts too (instance.json must be
 * the final document), except when our own confirmation is on it (our `complete` and substatus change it).
 */
export function unchangedSince(manifest: Manifest, fresh: Found, org: string): boolean {
  if (!sameElements(manifest, fresh.selected)) return false;
  if (confirmationBy(fresh.instance, org) || manifest.instanceLastChanged === null || fresh.instance.lastChanged === null) return true;
  return manifest.instanceLastChanged === fresh.instance.lastChanged;
}

/**
 * Right before `complete`: read the instance again; while it changed since the files were written,
 * store the new state (new or changed elements downloaded, the rest kept; instance.json and the
 * manifest rewritten) and read again, at most MAX_RECHECKS times; then the message is deferred.
 */
export async function recheck(
  deps: ProcessorDeps,
  run: Stages,
  ref: InstanceRef,
  stored: { manifest: Manifest; downloaded: number },
): Promise<{ manifest: Manifest; downloaded: number }> {
  let { manifest, downloaded } = stored;
  for (let round = 0; ; round++) {
    const fresh = await fetchInstance(deps, run, ref);
    if (unchangedSince(manifest, fresh, deps.config.org)) return { manifest, downloaded };
    if (round === MAX_RECHECKS) {
      throw new ReceiverError(`the instance changed on each of ${MAX_RECHECKS + 1} reads before complete; trying again later`, {
        code: 'instance-changing',
        retryable: true,
        instanceId: instanceId(ref),
      });
    }
    const known = new Set(manifest.elements.map((e) => e.id));
    run.log.info('instance changed since its files were read: storing the new state before confirming', {
      stage: 'recheck',
      round: round + 1,
      added: fresh.selected.filter((d) => !known.has(d.id)).map((d) => d.id),
      lastChanged: fresh.instance.lastChanged,
    });
    const next = await storeInstance(deps, run, ref, { ...fresh, existing: manifest, reuse: true });
    manifest = next.manifest;
    downloaded += next.downloaded;
  }
}
