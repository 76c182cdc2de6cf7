import { ReceiverError } from '../errors.js';
import type { ChangedBound, InstanceQuery, QueriedPage } from '../altinn/instanceQuery.js';

/**
 * The reconciler's walk over `lastChanged`, newest first, in windows Storage can afford.
 *
 * - **Paging by `lastChanged`, not by Storage's token**: after a full page the next query asks for
 *   `lastChanged=lte:<oldest on the page>` (the timestamp as Storage wrote it). The instances on that
 *   timestamp come again (and are dropped as seen), so none that shares it is lost at a page boundary,
 *   as Storage's own continuation loses them (readinstancefromquery.sql: `id < continue_idx` under an
 *   ascending id sort). A page that is one timestamp through cannot move on that way: the walk then
 *   continues below it (`lt:`) and says so (`tieOverflow`).
 * - **Windows**: a query covers `(upTo − span, upTo]` (or the whole range when `span` is null). When
 *   Storage answers 400 or times out (altinn-storage#634), the page size is halved down to MIN_PAGE_SIZE,
 *   then the span down to MIN_SPAN_MS, and the same window asked again; past both floors the walk gives up
 *   there (`reconcile-window-failed`) and the position is kept for the next run. After a window read to
 *   its end the span and page size double again, in this run never back to a size that failed (an empty
 *   window lifts the span's limit: history without instances is cheap to scan).
 */
export const MIN_PAGE_SIZE = 2;
export const MIN_SPAN_MS = 60_000;
/** The first span when a query over a range without lower bound fails. */
const FIRST_NARROW_MS = 30 * 86_400_000;
/** A span this long covers all of Altinn 3's history. */
const MAX_SPAN_MS = 100 * 365 * 86_400_000;
/** Nothing in Altinn 3 Storage changed before this: a window reaching past it has no lower bound. */
const OPEN_BELOW = Date.parse('2015-01-01T00:00:00Z');

/** A range of `lastChanged` still to read: `(after, upTo]`; no `upTo` above the newest (a pass's first range). */
export interface ChangedRange {
  after?: string | undefined;
  upTo?: ChangedBound | undefined;
}

/** Where the walk is and what Storage could afford: saved between runs (lib/reconcile/cursor.ts). */
export interface WalkState {
  /** Still to read, newest first. */
  ranges: ChangedRange[];
  /** Window span in ms; null: each range at once. */
  spanMs: number | null;
  pageSize: number;
}

export type StopReason = 'page-cap' | 'time-cap';

export interface WalkOptions {
  /** The clock's time, for the window below a range open above. */
  now: number;
  fetch: (q: Pick<InstanceQuery, 'changedAfter' | 'upTo' | 'pageSize'>) => Promise<QueriedPage>;
  /** The configured page size (never exceeded). */
  maxPageSize: number;
  /** Asked before each request: a reason to stop now, or undefined. */
  budget: () => StopReason | undefined;
  onShrink: (e: { pageSize: number; spanMs: number | null; window: ChangedRange; error: unknown }) => void;
  onTieOverflow: (at: string) => void;
}

export interface WalkedPage {
  /** Instances not yet returned by this walk. */
  page: QueriedPage;
  /** Of them, listed already by an earlier page (the boundary timestamp asked again). */
  repeated: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The lower bound of the window below `range.upTo`: undefined when the window is open below. */
const topOf = (range: ChangedRange, now: number) => (range.upTo ? Date.parse(range.upTo.at) : now);

function windowAfter(range: ChangedRange, spanMs: number | null, now: number): string | undefined {
  if (spanMs === null) return range.after;
  const low = topOf(range, now) - spanMs;
  if (range.after !== undefined && low <= Date.parse(range.after)) return range.after;
  if (range.after === undefined && low < OPEN_BELOW) return undefined;
  return iso(low);
}

/**
 * After an overloaded answer: half the page size; at its floor, half the window. 'window' or 'page'
 * says which; undefined when both are at their floor.
 */
function shrink(state: WalkState, range: ChangedRange, after: string | undefined, now: number): 'page' | 'window' | undefined {
  if (state.pageSize > MIN_PAGE_SIZE) {
    state.pageSize = Math.max(MIN_PAGE_SIZE, Math.floor(state.pageSize / 2));
    return 'page';
  }
  const top = topOf(range, now);
  const span = after === undefined ? Math.min(FIRST_NARROW_MS * 2, top - OPEN_BELOW) : top - Date.parse(after);
  if (span <= MIN_SPAN_MS) return undefined;
  state.spanMs = Math.max(MIN_SPAN_MS, Math.floor(span / 2));
  return 'window';
}

/** Where the range goes on after this page: the same range lower down, or undefined when it is read. */
function nextRange(range: ChangedRange, after: string | undefined, page: QueriedPage, onTie: (at: string) => void): ChangedRange | undefined {
  if (page.full) {
    if (!page.oldest) throw new ReceiverError('Storage instance query: a full page without lastChanged cannot be paged', { code: 'storage-query-invalid', retryable: false });
    const tied = page.newest === page.oldest;
    if (tied) onTie(page.oldest);
    return { ...range, upTo: { at: page.oldest, inclusive: !tied } };
  }
  return after === range.after ? undefined : { ...range, upTo: { at: after!, inclusive: true } };
}

/**
 * Every page of the walk, in order. The state moves on only once the caller has taken a page (so a
 * failure while the caller handles it leaves the page to be read again); it returns why it stopped.
 */
export async function* walkWindows(state: WalkState, o: WalkOptions): AsyncGenerator<WalkedPage, StopReason | 'done'> {
  const seen = new Set<string>();
  const ceiling = { pageSize: o.maxPageSize, spanMs: Infinity };
  state.pageSize = Math.min(state.pageSize, o.maxPageSize);
  while (state.ranges.length > 0) {
    const range = state.ranges[0]!;
    const after = windowAfter(range, state.spanMs, o.now);
    const stop = o.budget();
    if (stop) return stop;
    let page: QueriedPage;
    try {
      page = await o.fetch({ changedAfter: after, upTo: range.upTo, pageSize: state.pageSize });
    } catch (error) {
      if (!(error instanceof ReceiverError && error.code === 'storage-query-overload')) throw error;
      const shrunk = shrink(state, range, after, o.now);
      if (!shrunk) {
        throw new ReceiverError(`Storage cannot answer the window (${after ?? '…'}, ${range.upTo?.at ?? '…'}] even at ${state.pageSize} per page: stopped there, the next run resumes there`, {
          code: 'reconcile-window-failed',
          retryable: true,
          cause: error,
        });
      }
      if (shrunk === 'page') ceiling.pageSize = state.pageSize;
      else ceiling.spanMs = state.spanMs!;
      o.onShrink({ pageSize: state.pageSize, spanMs: state.spanMs, window: { after, upTo: range.upTo }, error });
      continue;
    }
    const next = nextRange(range, after, page, o.onTieOverflow);
    const fresh = page.refs.filter((r) => !seen.has(r.instanceGuid));
    for (const r of fresh) seen.add(r.instanceGuid);
    yield { page: { ...page, refs: fresh }, repeated: page.refs.length - fresh.length };
    if (next) state.ranges[0] = next;
    else state.ranges.shift();
    if (!page.full) {
      // A window read to its end: ask for more next time, within what has not failed in this run; after an
      // empty window, a wider one may well be cheap again (the failure was where instances are dense).
      if (page.refs.length + page.invalid.length === 0) ceiling.spanMs = Infinity;
      state.pageSize = Math.min(ceiling.pageSize, state.pageSize * 2);
      if (state.spanMs !== null) state.spanMs = Math.min(ceiling.spanMs, MAX_SPAN_MS, state.spanMs * 2);
    }
  }
  return 'done';
}
