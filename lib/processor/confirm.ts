import type { confirmationBy } from '../altinn/instanceSchema.js';
import type { EventsMessage, InstanceRef } from '../queue/messages.js';
import { readyMessageSchema } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import { DEFAULT_RETRY } from '../retry.js';
import { deferMessage, type Deferral } from './defer.js';
import type { Outcome, ProcessorDeps, Stages } from './deps.js';
import { completeRefusal } from './heal.js';
import { manifestPath, writeManifest, type Manifest } from './manifest.js';

/**
 * How long the run that sent the ready message keeps trying to mark it (`readyAt`) through an Azure Blob
 * outage. Longer than the default retry budget: a mark that never lands makes a later run announce again.
 */
export const READY_MARK_PATIENCE_MS = 5 * 60_000;
const READY_MARK_MAX_DELAY_MS = 15_000;
/**
 * A run that finds our confirmation and a current manifest without `readyAt` waits this long after the manifest
 * was written (`downloadedAt`) before it announces: the run that wrote it re-checks, completes and sends (a
 * retry budget each), then marks within READY_MARK_PATIENCE_MS; past that it died or gave up, and the instance
 * is announced again (at least once, never zero).
 */
export const ANNOUNCE_GRACE_MS = 10 * 60_000;

/** Our confirmation, a current manifest, no `readyAt`: inside the grace a deferral (`announce-pending`), after it undefined (announce). */
export async function announcePending(deps: ProcessorDeps, run: Stages, msg: EventsMessage, current: Manifest): Promise<Deferral | undefined> {
  const written = Date.parse(current.downloadedAt);
  const remainingMs = written + ANNOUNCE_GRACE_MS - deps.clock.now();
  if (Number.isNaN(written) || remainingMs <= 0) {
    run.log.warn('confirmed, manifest current, but no ready mark past the grace: announcing (again, if the run that confirmed sent it)', { stage: 'announce', downloadedAt: current.downloadedAt });
    return undefined;
  }
  run.log.info('confirmed, manifest current, no ready mark yet: the run that confirmed may still be marking it; looking again after the grace', { stage: 'announce', downloadedAt: current.downloadedAt });
  return deferMessage({ queues: deps.queues, log: run.log, baseSeconds: deps.config.deferBaseSeconds, random: deps.retry?.random }, msg, { reason: 'announce-pending', retryAfterSeconds: Math.ceil(remainingMs / 1000) + 1 });
}

/**
 * `readyAt` into the manifest. Written by this run (`etag`): conditional on that ETag, so it needs no lease and is
 * tried for READY_MARK_PATIENCE_MS; 412/404 means the manifest changed since (see below).
 * Found current: under the lease, with the run's retry budget.
 */
async function markReady(deps: ProcessorDeps, run: Stages, ref: InstanceRef, announced: Manifest, etag: string | undefined): Promise<void> {
  if (!etag) {
    await run.timed('manifest marked ready', () => run.retry('ready-mark', () => writeManifest(deps.store, ref, announced)));
    return;
  }
  const base = deps.retry?.policy ?? DEFAULT_RETRY;
  const patient = { maxAttempts: Number.MAX_SAFE_INTEGER, budgetMs: READY_MARK_PATIENCE_MS, baseDelayMs: base.baseDelayMs, maxDelayMs: READY_MARK_MAX_DELAY_MS };
  try {
    await run.timed('manifest marked ready', () => run.retry('ready-mark', () => writeManifest(deps.store, ref, announced, etag), patient));
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status !== 412 && status !== 404) throw e;
    // A later run rewrote it (and announces its own state), or an earlier try of this very mark landed unanswered.
    run.log.warn('the manifest changed since this run wrote it: not marked again', { stage: 'ready-mark', status });
  }
}

/** POST complete (unless already ours), the ready message, `readyAt` in the manifest, then the optional substatus. */
export async function confirmAndAnnounce(
  deps: ProcessorDeps,
  run: Stages,
  ref: InstanceRef,
  manifest: Manifest,
  /** `etag`: the manifest's, when this run wrote it. */
  state: { ourConfirmation: ReturnType<typeof confirmationBy>; downloaded: number; etag?: string | undefined },
): Promise<Outcome> {
  const { clock, storage, config } = deps;
  const { log, retry, timed } = run;
  const { ourConfirmation, downloaded } = state;
  const bytes = manifest.elements.reduce((n, e) => n + (e.status === 'stored' ? e.size : 0), 0);
  if (!ourConfirmation) {
    await timed('confirmed', () =>
      retry('complete', () => storage.complete(ref)).catch((e: unknown) => {
        throw completeRefusal(e, config.org);
      }),
    );
  }
  const confirmedAt = ourConfirmation?.confirmedOn && !Number.isNaN(Date.parse(ourConfirmation.confirmedOn)) ? new Date(ourConfirmation.confirmedOn) : new Date(clock.now());
  const timing = { processEndedAt: manifest.processEndedAt ?? null, firstHeardAt: manifest.firstHeardAt, firstHeardVia: manifest.firstHeardVia };
  const ready = readyMessageSchema.parse({ ...pickRef(ref), manifest: manifestPath(ref), confirmedAt: confirmedAt.toISOString(), ...timing });
  await timed('ready message sent', () => retry('ready', () => deps.queues.send(QUEUES.ready, ready)));
  // Marks the announcement done: a run that failed between `complete` and here sends it on the host's retry.
  const announced: Manifest = { ...manifest, readyAt: ready.confirmedAt };
  await markReady(deps, run, ref, announced, state.etag);
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
