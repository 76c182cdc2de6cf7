import { fetchInstancePage, type QueriedPage } from '../altinn/instanceQuery.js';
import { isHeld } from '../processor/held.js';
import { eventsMessageSchema, instanceId, type InstanceRef } from '../queue/messages.js';
import { QUEUES } from '../queue/names.js';
import { mapLimit } from '../pool.js';
import { loadCursor, saveCursor } from './cursor.js';
import type { AppOutcome, ReconcileCounts, Run } from './run.js';
import { sinceTimestamp } from './since.js';
import { walkWindows, type StopReason, type WalkState } from './windows.js';

/** Instances of one page checked and enqueued in parallel (each is a few storage round trips). */
const PAGE_CONCURRENCY = 8;

type Count = (k: keyof ReconcileCounts, n?: number) => void;

const later = (a: string | undefined, b: string | undefined) => (a === undefined || (b !== undefined && Date.parse(b) > Date.parse(a)) ? b : a);

/** The walk of this run: the saved one resumed (plus what changed since its top), or a new pass. */
async function startWalk(run: Run, key: string): Promise<{ state: WalkState; top: string | undefined; resumed: boolean }> {
  const { config, log } = run.deps;
  const saved = await loadCursor(run.container, key, log);
  const window = config.reconcile.window;
  const spanMs = saved ? saved.spanMs : window ? run.started - Date.parse(sinceTimestamp(window, run.started)) : null;
  const pageSize = Math.min(saved?.pageSize ?? run.pageSize, run.pageSize);
  if (saved && saved.ranges.length > 0) {
    const ranges = [...saved.ranges];
    // What changed after the pass began comes first; a first range still open above already covers it.
    if (ranges[0]?.upTo) ranges.unshift({ after: saved.top });
    return { state: { ranges, spanMs, pageSize }, top: saved.top, resumed: true };
  }
  return { state: { ranges: [{ after: run.changedAfter }], spanMs, pageSize }, top: undefined, resumed: false };
}

/** One app's (or, with `app` undefined, the whole org's) walk; a failure stops this app only, at its position. */
export async function reconcileApp(run: Run, app: string | undefined): Promise<AppOutcome> {
  const { deps, totals } = run;
  const { config, clock, log } = deps;
  const key = app ?? '*';
  const outcome: AppOutcome = { app: key, pages: 0, found: 0, enqueued: 0, skipped: 0, held: 0, invalid: 0, shrinks: 0, complete: false, resumed: false };
  const count: Count = (k, n = 1) => {
    outcome[k] += n;
    totals[k] += n;
  };
  const walk = await startWalk(run, key);
  outcome.resumed = walk.resumed;
  let top = walk.top;
  const query = { http: deps.http, clock, log, platformUrl: config.altinn.platformUrl, retryPolicy: deps.retryPolicy };
  const pages = walkWindows(walk.state, {
    now: clock.now(),
    maxPageSize: run.pageSize,
    fetch: (q) => fetchInstancePage(query, { org: config.org, app, ...q }),
    budget: () => budget(run, outcome),
    onShrink: (e) => {
      count('shrinks');
      log.warn('reconcile: Storage could not answer; asking again for less', { app: key, pageSize: e.pageSize, windowMs: e.spanMs, after: e.window.after, upTo: e.window.upTo?.at, error: e.error });
    },
    onTieOverflow: (at) => log.warn('reconcile: a whole page shares one lastChanged; going on below it (raise RECONCILE_PAGE_SIZE if this repeats)', { app: key, lastChanged: at }),
  });
  try {
    for (;;) {
      const next = await pages.next();
      if (next.done) {
        if (next.value === 'done') outcome.complete = true;
        else outcome.stoppedBy = next.value;
        break;
      }
      top = later(top, next.value.page.newest);
      await takePage(run, outcome, count, next.value.page);
    }
  } catch (error) {
    outcome.error = error;
    log.error('reconcile stopped part-way for this app; what it found before is enqueued, the next run resumes here', {
      app: key,
      pagesReached: outcome.pages,
      found: outcome.found,
      enqueued: outcome.enqueued,
      error,
    });
  }
  outcome.resumeAt = outcome.complete ? undefined : (walk.state.ranges[0]?.upTo?.at ?? 'newest');
  outcome.pageSize = walk.state.pageSize;
  outcome.windowMs = walk.state.spanMs;
  if (!run.dryRun) {
    await saveCursor(run.container, key, walk.state, top, clock.now()).catch((error: unknown) => log.warn('reconcile: could not save where this app stopped', { app: key, error }));
  }
  return outcome;
}

/** Count a page and enqueue its instances. */
async function takePage(run: Run, outcome: AppOutcome, count: Count, page: QueriedPage): Promise<void> {
  count('pages');
  count('found', page.refs.length + page.invalid.length);
  count('invalid', page.invalid.length);
  for (const bad of page.invalid) run.deps.log.warn('reconcile: instance skipped, not usable', { app: outcome.app, instance: bad.raw, reason: bad.reason });
  const fresh = page.refs.filter((ref) => {
    if (run.inThisRun.has(ref.instanceGuid)) return false;
    run.inThisRun.add(ref.instanceGuid);
    return true;
  });
  count('skipped', page.refs.length - fresh.length);
  await mapLimit(fresh, PAGE_CONCURRENCY, (ref) => enqueueOne(run, ref, count));
  run.options.onProgress?.({ app: outcome.app, page: outcome.pages, pageFound: page.refs.length + page.invalid.length, totals: { ...run.totals } });
}

/** The run's caps: pages per app, seconds per run. */
function budget(run: Run, outcome: AppOutcome): StopReason | undefined {
  const { maxPages, maxSeconds } = run.deps.config.reconcile;
  if (outcome.pages >= (run.options.maxPages ?? maxPages)) return 'page-cap';
  if (run.deps.clock.now() - run.started >= maxSeconds * 1000) return 'time-cap';
  return undefined;
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
