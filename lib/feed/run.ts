import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { AltinnHttp } from '../altinn/http.js';
import { createBlobStore } from '../blob/store.js';
import type { OrgAppList } from '../altinn/orgApps.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { mapLimit } from '../pool.js';
import type { QueueSender } from '../queue/sender.js';
import type { RetryPolicy } from '../retry.js';
import { fetchFeedPage, type FeedClientDeps, type FeedItem, type FeedPage } from './client.js';
import { acquireFeedLock, readCursors, writeCursors, type CursorState } from './cursor.js';
import { handleEvent, newCounts, type FeedCounts, type EventContext } from './handle.js';
import { enqueueMarks } from '../reconcile/state.js';
import { DEFAULT_MARK_TTL_MINUTES } from '../reconcile/run.js';

export interface FeedDeps {
  config: Pick<Config, 'org' | 'apps' | 'altinn' | 'blobContainer' | 'eventTypes' | 'feed'>;
  /** Authenticated Altinn requests (createAltinnHttp). */
  http: Pick<AltinnHttp, 'request'>;
  blob: BlobServiceClient;
  queues: Pick<QueueSender, 'send'>;
  /** The org's apps, read when ALTINN_APPS is empty. */
  orgApps: Pick<OrgAppList, 'apps'>;
  clock: Clock;
  log: Logger;
  retryPolicy?: RetryPolicy;
}

export interface FeedAppOutcome extends FeedCounts {
  app: string;
  complete: boolean;
  error?: unknown;
}

export type FeedResult =
  | { status: 'skipped'; reason: 'disabled' | 'already-running' }
  | ({ status: 'complete' | 'incomplete'; durationMs: number; apps: FeedAppOutcome[] } & FeedCounts);

/** Pages one app may read in one run; the next run continues from its cursor. */
const MAX_PAGES_PER_APP = 50;
/** Events of one page checked (and enqueued) at once: each is a few blob round trips. */
const EVENT_CONCURRENCY = 8;

/** One run's shared state: settings, the cursors as last read or written, and the totals. */
interface Run {
  deps: FeedDeps;
  container: ContainerClient;
  ctx: EventContext;
  state: CursorState;
  totals: FeedCounts;
}

/**
 * One feed run: for each app (ALTINN_APPS, or every app Storage lists for the org), the events after its cursor
 * (a first run: from FEED_LOOKBACK_HOURS ago), and one `altinn-events` message (reason "feed") per completed
 * instance not stored yet. An idle run costs one cursor read and one request per app and writes nothing: only
 * when some app has events old enough (FEED_MIN_AGE_SECONDS) does it take the run lease and move cursors.
 */
export async function runFeed(deps: FeedDeps): Promise<FeedResult> {
  const { config, log, clock } = deps;
  if (!config.feed.enabled) {
    log.info('feed run skipped: FEED_ENABLED is false');
    return { status: 'skipped', reason: 'disabled' };
  }
  const started = clock.now();
  const container = deps.blob.getContainerClient(config.blobContainer);
  const apps = config.apps.length > 0 ? config.apps : await deps.orgApps.apps(config.org);
  const run: Run = { deps, container, ctx: eventContext(deps, container), state: await readCursors(container), totals: newCounts() };
  const outcomes = new Map<string, FeedAppOutcome>(apps.map((app) => [app, { app, complete: false, ...newCounts() }]));
  const first = new Map<string, FeedPage>();
  for (const app of apps) {
    const outcome = outcomes.get(app)!;
    await guarded(run, outcome, async () => {
      const page = await fetchPage(run, outcome);
      if (readyPrefix(run, page.items).length > 0) first.set(app, page);
      else finishApp(run, outcome, page.items.length);
    });
  }
  if (first.size > 0) {
    const ran = await withLock(run, async () => {
      const before = run.state.etag;
      run.state = await readCursors(container);
      // Another host moved the cursors between our peek and the lease: those pages are stale.
      if (run.state.etag !== before) first.clear();
      for (const app of [...outcomes.keys()].filter((a) => !outcomes.get(a)!.complete && !outcomes.get(a)!.error)) {
        await guarded(run, outcomes.get(app)!, () => drainApp(run, outcomes.get(app)!, first.get(app)));
      }
    });
    if (!ran) return { status: 'skipped', reason: 'already-running' };
  }
  return summarise(run, [...outcomes.values()], clock.now() - started);
}

function eventContext(deps: FeedDeps, container: ContainerClient): EventContext {
  return {
    deps,
    container,
    store: createBlobStore(container),
    marks: enqueueMarks(container, deps.clock, DEFAULT_MARK_TTL_MINUTES * 60_000),
    inThisRun: new Set<string>(),
  };
}

/** Run `work` holding the feed's run lease; false (and a log line) when another host holds it. */
async function withLock(run: Run, work: () => Promise<void>): Promise<boolean> {
  await run.container.createIfNotExists();
  const lock = await acquireFeedLock(run.container, run.deps.log);
  if (!lock) {
    run.deps.log.info('feed run skipped: another host is running it', { container: run.deps.config.blobContainer });
    return false;
  }
  try {
    await work();
    return true;
  } finally {
    await lock.release();
  }
}

/** A failure stops this app only; the others go on. */
async function guarded(run: Run, outcome: FeedAppOutcome, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    outcome.error = error;
    run.deps.log.error('feed stopped part-way for this app; what it found before is enqueued and its cursor saved', { app: outcome.app, error });
  }
}

function fetchPage(run: Run, outcome: FeedAppOutcome): Promise<FeedPage> {
  const { config, clock } = run.deps;
  const cursor = run.state.doc.apps[outcome.app];
  count(run, outcome, 'requests');
  const clientDeps: FeedClientDeps = { ...run.deps, platformUrl: config.altinn.platformUrl };
  return fetchFeedPage(clientDeps, {
    org: config.org,
    app: outcome.app,
    types: config.eventTypes,
    size: config.feed.pageSize,
    after: cursor?.after,
    from: cursor ? undefined : new Date(clock.now() - config.feed.lookbackHours * 3_600_000).toISOString(),
  });
}

/** The leading events old enough to handle now: the first younger one and all after it wait for a later run. */
function readyPrefix(run: Run, items: FeedItem[]): FeedItem[] {
  const newest = run.deps.clock.now() - run.deps.config.feed.minAgeSeconds * 1000;
  const young = items.findIndex((i) => i.event?.time && Date.parse(i.event.time) > newest);
  return young === -1 ? items : items.slice(0, young);
}

/** Handle this app's pages from its cursor on, moving the cursor after each page; `page` is one already read. */
async function drainApp(run: Run, outcome: FeedAppOutcome, page: FeedPage | undefined): Promise<void> {
  const { config, log } = run.deps;
  for (let n = 1; n <= MAX_PAGES_PER_APP; n++) {
    page ??= await fetchPage(run, outcome);
    const ready = readyPrefix(run, page.items);
    // Each event's outcome or its failure: the cursor moves up to the first failure, never past it.
    const results = await mapLimit(ready, EVENT_CONCURRENCY, (item) =>
      handleEvent(run.ctx, outcome.app, item).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))),
    );
    const failed = results.findIndex((r) => r instanceof Error);
    const handled = (failed === -1 ? results : results.slice(0, failed)) as (keyof FeedCounts)[];
    for (const kind of handled) count(run, outcome, kind);
    await moveCursor(run, outcome, ready[handled.length - 1]);
    if (failed !== -1) throw results[failed] as Error;
    if (ready.length < page.items.length) return finishApp(run, outcome, page.items.length - ready.length);
    if (page.items.length < config.feed.pageSize || !page.hasNext) return finishApp(run, outcome, 0);
    page = undefined;
  }
  log.info('feed: page limit reached for this app; the next run continues from its cursor', { app: outcome.app, pages: MAX_PAGES_PER_APP });
  finishApp(run, outcome, 0);
}

function finishApp(run: Run, outcome: FeedAppOutcome, waiting: number): void {
  count(run, outcome, 'waiting', waiting);
  outcome.complete = true;
}

/** Save the app's cursor at `last` (when there is one), with the ETag the cursors were read with. */
async function moveCursor(run: Run, outcome: FeedAppOutcome, last: FeedItem | undefined): Promise<void> {
  if (!last) return;
  const cursor = { after: last.id, time: last.event?.time ?? null, updatedAt: new Date(run.deps.clock.now()).toISOString() };
  run.state = await writeCursors(run.container, run.state, { version: 1, apps: { ...run.state.doc.apps, [outcome.app]: cursor } });
  count(run, outcome, 'cursorWrites');
}

function count(run: Run, outcome: FeedAppOutcome, k: keyof FeedCounts, n = 1): void {
  outcome[k] += n;
  run.totals[k] += n;
}

/** The `feed run` line (the perf engineer counts its `requests`), and the result. */
function summarise(run: Run, apps: FeedAppOutcome[], durationMs: number): FeedResult {
  const complete = apps.every((a) => a.complete && !a.error);
  const failedApps = apps.filter((a) => !a.complete || a.error).map((a) => a.app);
  const line = { apps: apps.length, ...run.totals, durationMs, ...(complete ? {} : { failedApps }) };
  if (complete) run.deps.log.info('feed run', line);
  else run.deps.log.warn('feed run incomplete', line);
  return { status: complete ? 'complete' : 'incomplete', durationMs, apps, ...run.totals };
}
