import type { confirmationBy } from '../altinn/instanceSchema.js';
import type { InstanceRef } from '../queue/messages.js';
import { readyMessageSchema } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import type { Outcome, ProcessorDeps, Stages } from './deps.js';
import { manifestPath, writeManifest, type Manifest } from './manifest.js';

/** POST complete (unless already ours), the ready message, `readyAt` in the manifest, then the optional substatus. */
export async function confirmAndAnnounce(
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
  const timing = { processEndedAt: manifest.processEndedAt ?? null, firstHeardAt: manifest.firstHeardAt, firstHeardVia: manifest.firstHeardVia };
  const ready = readyMessageSchema.parse({ ...pickRef(ref), manifest: manifestPath(ref), confirmedAt: confirmedAt.toISOString(), ...timing });
  await timed('ready message sent', () => retry('ready', () => deps.queues.send(QUEUES.ready, ready)));
  // Marks the announcement done: a run that failed between `complete` and here sends it on the host's retry.
  const announced: Manifest = { ...manifest, readyAt: ready.confirmedAt };
  // Retried: a blob blip here would otherwise make the next run announce the instance a second time.
  await timed('manifest marked ready', () => retry('ready-mark', () => writeManifest(store, ref, announced)));
  if (config.substatusLabel && !ourConfirmation) {
    const label = config.substatusLabel;
    // Best effort: the instance is already confirmed, so a failure here must not make the host redo the work.
    await timed('substatus set', () => retry('substatus', () => storage.setSubstatus(ref, { label }))).catch((error: unknown) =>
      log.warn('substatus not set', { stage: 'substatus', error }),
    );
  }
  // Time to confirmation: what the citizen waits from submitting (process.ended) to our `complete`.
  const ended = Date.parse(timing.processEndedAt ?? '');
  const confirmSeconds = Number.isNaN(ended) ? null : Math.max(0, Math.round((confirmedAt.getTime() - ended) / 1000));
  log.info('done', { stage: 'done', outcome: 'confirmed', downloaded, bytes, durationMs: clock.now() - run.started, ...timing, confirmedAt: ready.confirmedAt, confirmSeconds });
  return { kind: 'confirmed', downloaded, bytes };
}

function pickRef(ref: InstanceRef): InstanceRef {
  return { org: ref.org, app: ref.app, partyId: ref.partyId, instanceGuid: ref.instanceGuid };
}
