import type { BlobServiceClient } from '@azure/storage-blob';
import type { AltinnHttp } from '../altinn/http.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import { eventsMessageSchema, instanceId, type InstanceRef } from '../queue/messages.js';
import type { QueueSender } from '../queue/sender.js';
import { QUEUES } from '../queue/names.js';
import { mapLimit } from '../pool.js';
import type { RetryPolicy } from '../retry.js';
import { isHeld } from '../processor/held.js';
import { sinceTimestamp } from './since.js';
import { saveRunSummary } from './summary.js';
import { acquireRunLock, enqueueMarks } from './state.js';
import { queryInstances } from '../altinn/instanceQuery.js';

export interface ReconcileDeps {
  config: Pick<Config, 'org' | 'apps' | 'altinn' | 'blobContainer' | 'reconcile'>;
  /** Authenticated Altinn requests (createAltinnHttp). */
  http: Pick<AltinnHttp, 'request'>;
  blob: BlobServiceClient;
  queues: Pick<QueueSender, 'send'>;
  clock: Clock;
  log: Logger;
  retryPolicy?: RetryPolicy;
}

export interface ReconcileCounts {
  pages: number;
  /** Instances Storage listed (completed, not confirmed by us), valid or not. */
  found: number;
  /** Messages sent; in a dry run, the messages a real run would send. */
  enqueued: number;
  /** Not enqueued: already enqueued in this run, or by a run less than `markTtlMinutes` ago. */
  skipped: number;
  /** Not enqueued: held for an operator (infected element; `held list`). */
  held: number;
  /** Listed instances that could not be turned into a message (logged each). */
  invalid: number;
}

export interface AppOutcome extends ReconcileCounts {
  /** The app, or `*` for the org-wide query. */
  app: string;
  complete: boolean;
  error?: unknown;
}

export type ReconcileResult =
  | { status: 'skipped'; reason: 'already-running' }
  | ({ status: 'complete' | 'incomplete'; dryRun: boolean; durationMs: number; apps: AppOutcome[] } & ReconcileCounts);

export interface ReconcileProgress {
  app: string;
  page: number;
  /** Instances on this page. */
  pageFound: number;
  /** Totals of the run so far. */
  totals: ReconcileCounts;
}

export interface ReconcileOptions {
  /** Apps to reconcile; default ALTINN_APPS, and every app of the org when that is empty too. */
  apps?: string[] | undefined;
  /** Query and count, but send nothing and mark nothing. */
  dryRun?: boolean | undefined;
  onProgress?: ((p: ReconcileProgress) => void) | undefined;
  /** Storage page size. */
  pageSize?: number | undefined;
  /** How long an enqueued instance is left alone by later runs. */
  markTtlMinutes?: number | undefined;
}

const DEFAULT_PAGE_SIZE = 100;
export const DEFAULT_MARK_TTL_MINUTES = 360;
/** Instances of one page checked and enqueued in parallel (each is a few storage round trips). */
const PAGE_CONCURRENCY = 8;

/** Runs in this process, by container: a timer tick that overlaps a running reconcile is skipped at once. */
const running = new Set<string>();

/**
 * One reconcile run: list completed instances our org has not confirmed, app by app, and enqueue one
 * `altinn-events` message (reason "reconcile") per instance not enqueued recently. Messages are sent
 * page by page, so a run that fails part-way has already enqueued what it found; the failure is in
 * the result (`status: 'incomplete'`) and in the summary log line.
 */
export async function runReconcile(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  // The processor refuses (poisons) messages for apps outside ALTINN_APPS: do not produce them.
  const foreign = deps.config.apps.length > 0 ? (options.apps ?? []).filter((a) => !deps.config.apps.includes(a)) : [];
  if (foreign.length > 0) {
    throw new ReceiverError(`not in ALTINN_APPS (${deps.config.apps.join(', ')}): ${foreign.join(', ')}`, { code: 'reconcile-app-not-configured', retryable: false });
  }
  const container = deps.blob.getContainerClient(deps.config.blobContainer);
  const key = container.url;
  const skipped = () => {
    deps.log.info('reconcile skipped: a previous run is still going', { container: deps.config.blobContainer });
    return { status: 'skipped', reason: 'already-running' } as const;
  };
  if (running.has(key)) return skipped();
  running.add(key);
  try {
    await container.createIfNotExists();
    const lock = await acquireRunLock(container, deps.log);
    if (!lock) return skipped();
    try {
      return await reconcile(deps, options, container);
    } finally {
      await lock.release();
    }
  } finally {
    running.delete(key);
  }
}

type Container = ReturnType<BlobServiceClient['getContainerClient']>;

/** One run's settings and running totals, shared by its stages. */
interface Run {
  deps: ReconcileDeps;
  options: ReconcileOptions;
  container: Container;
  marks: ReturnType<typeof enqueueMarks>;
  dryRun: boolean;
  started: number;
  changedAfter: string | undefined;
  totals: ReconcileCounts;
  /** Within a run an instance counts once (checked before any await, so race-free). */
  inThisRun: Set<string>;
}

type Count = (k: keyof ReconcileCounts, n?: number) => void;

async function reconcile(deps: ReconcileDeps, options: ReconcileOptions, container: Container): Promise<ReconcileResult> {
  const { config, clock } = deps;
  const started = clock.now();
  const run: Run = {
    deps,
    options,
    container,
    marks: enqueueMarks(container, clock, (options.markTtlMinutes ?? DEFAULT_MARK_TTL_MINUTES) * 60_000),
    dryRun: options.dryRun ?? false,
    started,
    changedAfter: config.reconcile.since ? sinceTimestamp(config.reconcile.since, started) : undefined,
    totals: { pages: 0, found: 0, enqueued: 0, skipped: 0, held: 0, invalid: 0 },
    inThisRun: new Set<string>(),
  };
  const apps = options.apps ?? config.apps;
  const outcomes: AppOutcome[] = [];
  for (const app of apps.length > 0 ? apps : [undefined]) outcomes.push(await reconcileApp(run, app));
  return finishRun(run, outcomes);
}

/** One app's (or, with `app` undefined, the whole org's) pages; a failure stops this app only. */
async function reconcileApp(run: Run, app: string | undefined): Promise<AppOutcome> {
  const { deps, options, totals } = run;
  const { config, clock, log } = deps;
  const outcome: AppOutcome = { app: app ?? '*', pages: 0, found: 0, enqueued: 0, skipped: 0, held: 0, invalid: 0, complete: false };
  const count: Count = (k, n = 1) => {
    outcome[k] += n;
    totals[k] += n;
  };
  try {
    const pages = queryInstances(
      { http: deps.http, clock, log, platformUrl: config.altinn.platformUrl, retryPolicy: deps.retryPolicy },
      { org: config.org, app, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE, changedAfter: run.changedAfter },
    );
    for await (const page of pages) {
      count('pages');
      count('found', page.refs.length + page.invalid.length);
      count('invalid', page.invalid.length);
      for (const bad of page.invalid) log.warn('reconcile: instance skipped, not usable', { app: outcome.app, instance: bad.raw, reason: bad.reason });
      const fresh = page.refs.filter((ref) => {
        if (run.inThisRun.has(ref.instanceGuid)) return false;
        run.inThisRun.add(ref.instanceGuid);
        return true;
      });
      count('skipped', page.refs.length - fresh.length);
      await mapLimit(fresh, PAGE_CONCURRENCY, (ref) => enqueueOne(run, ref, count));
      options.onProgress?.({ app: outcome.app, page: page.page, pageFound: page.refs.length + page.invalid.length, totals: { ...totals } });
    }
    outcome.complete = true;
  } catch (error) {
    outcome.error = error;
    log.error('reconcile stopped part-way for this app; what it found before is enqueued', {
      app: outcome.app,
      pagesReached: outcome.pages,
      found: outcome.found,
      enqueued: outcome.enqueued,
      error,
    });
  }
  return outcome;
}

/** Enqueue one listed instance unless a recent run did or it is held; a dry run only counts. */
async function enqueueOne(run: Run, ref: InstanceRef, count: Count): Promise<void> {
  const { deps, marks } = run;
  if (await marks.isRecent(ref.instanceGuid)) return count('skipped');
  // A held instance stays unconfirmed until an operator releases it: enqueueing it again would change nothing.
  if (await isHeld(run.container, ref)) return count('held');
  if (!run.dryRun) {
    const message = eventsMessageSchema.parse({ ...ref, reason: 'reconcile', enqueuedAt: new Date(deps.clock.now()).toISOString() });
    await deps.queues.send(QUEUES.events, message);
    // Marked after the send: a crash in between costs at most one duplicate, never a lost instance.
    await marks.mark(ref.instanceGuid);
    deps.log.debug('reconcile: enqueued', { app: ref.app, instanceId: instanceId(ref) });
  }
  count('enqueued');
}

/** Prune old marks after a complete run, log the `reconcile run` line and save the summary `status` reads. */
async function finishRun(run: Run, outcomes: AppOutcome[]): Promise<ReconcileResult> {
  const { deps, dryRun, totals } = run;
  const { clock, log } = deps;
  const complete = outcomes.every((o) => o.complete);
  if (complete && !dryRun) {
    const pruned = await run.marks.prune().catch((error: unknown) => {
      log.warn('reconcile: could not prune old enqueue marks', { error });
      return 0;
    });
    if (pruned > 0) log.debug('reconcile: pruned enqueue marks', { pruned });
  }
  const durationMs = clock.now() - run.started;
  const summary = {
    ...totals,
    durationMs,
    dryRun,
    complete,
    changedAfter: run.changedAfter,
    apps: outcomes.map((o) => o.app),
    failedApps: complete ? undefined : outcomes.filter((o) => !o.complete).map((o) => o.app),
  };
  if (complete) log.info('reconcile run', summary);
  else log.warn('reconcile run incomplete', summary);
  if (!dryRun) {
    const finishedAt = new Date(clock.now()).toISOString();
    await saveRunSummary(run.container, { finishedAt, complete, durationMs, ...totals, failedApps: summary.failedApps ?? [] }).catch((error: unknown) =>
      log.warn('reconcile: could not save the run summary', { error }),
    );
  }
  return { status: complete ? 'complete' : 'incomplete', dryRun, durationMs, apps: outcomes, ...totals };
}
