import type { BlobServiceClient } from '@azure/storage-blob';
import type { AltinnHttp } from '../altinn/http.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { ReceiverError } from '../errors.js';
import type { Logger } from '../log.js';
import type { QueueSender } from '../queue/sender.js';
import type { RetryPolicy } from '../retry.js';
import { reconcileApp } from './app.js';
import { sinceTimestamp } from './since.js';
import { saveRunSummary } from './summary.js';
import { acquireRunLock, enqueueMarks } from './state.js';
import type { StopReason } from './windows.js';

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
  /** Queries Storage could not answer (400 or timeout), asked again with a smaller page and window. */
  shrinks: number;
}

export interface AppOutcome extends ReconcileCounts {
  /** The app, or `*` for the org-wide query. */
  app: string;
  /** Every page of the pass was read. */
  complete: boolean;
  /** This run went on from where an earlier one stopped. */
  resumed: boolean;
  /** Not complete because a cap was reached (no error). */
  stoppedBy?: StopReason | undefined;
  /** Not complete: the `lastChanged` the next run resumes below (`newest`: from the top). */
  resumeAt?: string | undefined;
  /** The page size and window span (ms; null: the whole range) this app's walk ended with. */
  pageSize?: number | undefined;
  windowMs?: number | null | undefined;
  error?: unknown;
}

/** `capped`: no failure, but an app stopped at a cap and resumes in the next run. */
export type ReconcileResult =
  | { status: 'skipped'; reason: 'already-running' }
  | ({ status: 'complete' | 'incomplete' | 'capped'; dryRun: boolean; durationMs: number; apps: AppOutcome[] } & ReconcileCounts);

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
  /** Storage page size (default RECONCILE_PAGE_SIZE). */
  pageSize?: number | undefined;
  /** Pages per app in this run (default RECONCILE_MAX_PAGES). */
  maxPages?: number | undefined;
  /** How long an enqueued instance is left alone by later runs. */
  markTtlMinutes?: number | undefined;
}

export const DEFAULT_MARK_TTL_MINUTES = 360;

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
export interface Run {
  deps: ReconcileDeps;
  options: ReconcileOptions;
  container: Container;
  marks: ReturnType<typeof enqueueMarks>;
  dryRun: boolean;
  started: number;
  changedAfter: string | undefined;
  pageSize: number;
  totals: ReconcileCounts;
  /** Within a run an instance counts once (checked before any await, so race-free). */
  inThisRun: Set<string>;
}

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
    pageSize: options.pageSize ?? config.reconcile.pageSize,
    totals: { pages: 0, found: 0, enqueued: 0, skipped: 0, held: 0, invalid: 0, shrinks: 0 },
    inThisRun: new Set<string>(),
  };
  const apps = options.apps ?? config.apps;
  const outcomes: AppOutcome[] = [];
  for (const app of apps.length > 0 ? apps : [undefined]) outcomes.push(await reconcileApp(run, app));
  return finishRun(run, outcomes);
}

/** Prune old marks after a complete run, log the `reconcile run` line and save the summary `status` reads. */
async function finishRun(run: Run, outcomes: AppOutcome[]): Promise<ReconcileResult> {
  const { deps, dryRun, totals } = run;
  const { clock, log } = deps;
  const complete = outcomes.every((o) => o.complete);
  const failed = outcomes.filter((o) => !o.complete && !o.stoppedBy).map((o) => o.app);
  const status = complete ? 'complete' : failed.length > 0 ? 'incomplete' : 'capped';
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
    capped: outcomes.some((o) => o.stoppedBy !== undefined),
    changedAfter: run.changedAfter,
    apps: outcomes.map((o) => o.app),
    failedApps: complete ? undefined : failed,
    resumedApps: outcomes.filter((o) => o.resumed).map((o) => o.app),
    // Where each unfinished app stopped, and why: the next run resumes there.
    pending: complete ? undefined : outcomes.filter((o) => !o.complete).map((o) => ({ app: o.app, stoppedBy: o.stoppedBy ?? 'error', resumeAt: o.resumeAt, pageSize: o.pageSize, windowMs: o.windowMs })),
  };
  if (status === 'complete') log.info('reconcile run', summary);
  else if (status === 'capped') log.info('reconcile run capped: the next run resumes where it stopped', summary);
  else log.warn('reconcile run incomplete', summary);
  if (!dryRun) {
    const finishedAt = new Date(clock.now()).toISOString();
    const saved = { finishedAt, complete, capped: summary.capped, durationMs, ...totals, failedApps: failed, resumedApps: summary.resumedApps };
    await saveRunSummary(run.container, saved).catch((error: unknown) => log.warn('reconcile: could not save the run summary', { error }));
  }
  return { status, dryRun, durationMs, apps: outcomes, ...totals };
}
