import { unknownDataTypesReason } from '../altinn/applications.js';
import { confirmationBy, type DataElement, type Instance } from '../altinn/instanceSchema.js';
import { ReceiverError } from '../errors.js';
import { instanceId, type InstanceRef } from '../queue/messages.js';
import type { ProcessorDeps, Stages } from './deps.js';
import { instanceRefusal } from './heal.js';

/** The instance as Storage served it (`raw`, the bytes for instance.json) and the elements ALTINN_DATA_TYPES selects. */
export interface Found {
  instance: Instance;
  raw: string;
  selected: DataElement[];
}

/** The instance read from Storage; its selected elements per ALTINN_DATA_TYPES. */
export async function fetchInstance(deps: ProcessorDeps, run: Stages, ref: InstanceRef): Promise<Found> {
  const { instance, raw } = await run.timed(
    'instance fetched',
    () =>
      run.retry('instance', () => deps.storage.getInstance(ref)).catch((e: unknown) => {
        throw instanceRefusal(e);
      }),
    (r) => ({ elements: r.instance.data.length, lastChanged: r.instance.lastChanged }),
  );
  const { dataTypes } = deps.config;
  return { instance, raw, selected: instance.data.filter((d) => dataTypes.length === 0 || dataTypes.includes(d.dataType)) };
}

/**
 * The instance read and guarded: undefined when its process has not ended (logged). Throws
 * `config-data-types` when ALTINN_DATA_TYPES names a type the app does not declare.
 */
export async function readInstance(deps: ProcessorDeps, run: Stages, ref: InstanceRef): Promise<Found | undefined> {
  const found = await fetchInstance(deps, run, ref);
  // Storage confirms whatever it is asked to (no process check there): an unsubmitted instance must never reach `complete`.
  if (!found.instance.process?.ended) {
    run.log.info('process not ended: nothing downloaded or confirmed; the completed event or the reconciler brings the instance back', {
      stage: 'done',
      outcome: 'process-not-ended',
      durationMs: deps.clock.now() - run.started,
    });
    return undefined;
  }
  // A mistyped ALTINN_DATA_TYPES entry selects nothing: without this, an empty manifest would be confirmed.
  const unknownTypes = await run.retry('application', () => deps.applications.unknownDataTypes(ref.org, ref.app));
  if (unknownTypes.length > 0) {
    throw new ReceiverError(unknownDataTypesReason(ref.org, ref.app, unknownTypes), { code: 'config-data-types', retryable: false, instanceId: instanceId(ref) });
  }
  return found;
}

/**
 * The read that decides `complete` and the ready message is no older than the run's lease: between the first
 * read and the lease another process may have confirmed and announced the instance (its lease released as this
 * run's lock request waited out an Azure blip), and acting on the older read would confirm and announce it again.
 * Read once more unless this lease created the lock (no run held the instance before) or the read already shows
 * our confirmation (never taken back).
 */
export async function readUnderLease(deps: ProcessorDeps, run: Stages, ref: InstanceRef, found: Found, createdLock: boolean): Promise<Found> {
  if (createdLock || confirmationBy(found.instance, deps.config.org)) return found;
  return fetchInstance(deps, run, ref);
}
