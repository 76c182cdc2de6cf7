import { HttpError } from './http.js';
import { isoMicros, type StoredInstance } from './store.js';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type Filter = (s: StoredInstance) => boolean;
/** Storage's continuation key: the last row's `lastChanged` and internal id. */
type Key = { us: number; seq: number };

/**
 * How production's query fails (altinn-storage#634: a database read timeout answered as 400
 * "Exception while reading from stream", for pages that work in tt02): a 400 when `size` is over
 * `maxSize`, or when the scan for one page reads more than `maxScanned` rows of the org's (or app's)
 * `lastChanged` range (a wide window over many instances). Unset: no limit.
 */
export interface QueryLimits {
  maxSize?: number | undefined;
  maxScanned?: number | undefined;
}

/** A Storage instance query (`GET /storage/api/v1/instances?...`) as read from its parameters. */
export interface InstanceQuery {
  filters: Filter[];
  /** The filters an index serves (org, appId, `lastChanged`): the rows a scan reads. */
  range: Filter[];
  size: number;
  /** The continuation token's key: the page starts after it. */
  from: Key | undefined;
}

function bool(name: string, v: string): boolean {
  if (v !== 'true' && v !== 'false') throw new HttpError(400, `${name} must be true or false`);
  return v === 'true';
}

/** `gt:2024-01-01T00:00:00Z`, `lte:...`, `eq:...` or a bare date (= eq), compared in µs. */
function dateFilter(name: string, raw: string, of: (s: StoredInstance) => number): Filter {
  const m = /^(?:(gt|gte|lt|lte|eq):)?(.+)$/.exec(raw)!;
  const t = isoMicros(m[2]!);
  if (Number.isNaN(t)) throw new HttpError(400, `${name}: '${raw}' is not an operator and a date`);
  const op = m[1] ?? 'eq';
  return (s) => {
    const v = of(s);
    return op === 'gt' ? v > t : op === 'gte' ? v >= t : op === 'lt' ? v < t : op === 'lte' ? v <= t : v === t;
  };
}

/** .NET ticks (100 ns since 0001-01-01) of the Unix epoch. */
const EPOCH_TICKS = 621_355_968_000_000_000n;
/** Storage's token: `{lastChanged.Ticks};{internal id}` (PgInstanceRepository `GetInstancesInternal`). */
const encodeToken = (s: StoredInstance) => `${BigInt(s.changedUs) * 10n + EPOCH_TICKS};${s.seq}`;
function decodeToken(token: string): Key {
  const m = /^(\d+);(\d+)$/.exec(token);
  if (!m) throw new HttpError(400, 'continuationToken is not valid');
  return { us: Number((BigInt(m[1]!) - EPOCH_TICKS) / 10n), seq: Number(m[2]) };
}

/**
 * Storage's keyset, bug included (readinstancefromquery.sql): rows sort by `lastChanged` descending, then
 * id *ascending*, but the next page continues with `id < continue_idx` on the same `lastChanged`. So at a
 * page boundary inside a run of equal `lastChanged`, the rows with a higher id are skipped and the lower
 * ones (already returned) come again.
 */
const after = (s: StoredInstance, k: Key) => s.changedUs < k.us || (s.changedUs === k.us && s.seq < k.seq);
const byKey = (a: StoredInstance, b: StoredInstance) => b.changedUs - a.changedUs || a.seq - b.seq;

/** The org the query reads (`org`, or the org of `appId`): 400 without either, 403 unless it is the token's. */
function queryOwner(q: URLSearchParams, tokenOrg: string | undefined): string {
  const org = q.get('org');
  const appId = q.get('appId');
  if (!org && !appId) throw new HttpError(400, 'org or appId must be given');
  if (appId && !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(appId)) throw new HttpError(400, 'appId must be {org}/{app}');
  const owner = org ?? appId!.split('/')[0]!;
  if (owner !== tokenOrg || (org && appId && !appId.startsWith(`${org}/`))) throw new HttpError(403, 'the token may only query its own org');
  return owner;
}

/** The filters of the parameters Storage binds. */
function queryFilters(q: URLSearchParams, owner: string): Filter[] {
  const filters: Filter[] = [(s) => s.org === owner];
  const appId = q.get('appId');
  if (appId) filters.push((s) => s.doc.appId === appId);
  const isComplete = q.get('process.isComplete');
  if (isComplete !== null) {
    const want = bool('process.isComplete', isComplete);
    filters.push((s) => Boolean((s.doc.process as { ended?: unknown } | undefined)?.ended) === want);
  }
  const isArchived = q.get('status.isArchived');
  if (isArchived !== null) {
    const want = bool('status.isArchived', isArchived);
    filters.push((s) => Boolean((s.doc.status as { isArchived?: unknown } | undefined)?.isArchived) === want);
  }
  const excluded = q.get('excludeConfirmedBy');
  if (excluded) filters.push((s) => !((s.doc.completeConfirmations ?? []) as { stakeholderId?: string }[]).some((c) => c.stakeholderId === excluded));
  for (const v of q.getAll('lastChanged')) filters.push(dateFilter('lastChanged', v, (s) => s.changedUs));
  for (const v of q.getAll('created')) filters.push(dateFilter('created', v, (s) => Date.parse(String(s.doc.created))));
  return filters;
}

/**
 * Reads a query's parameters (Storage binds the ones it knows and ignores the rest: a typo filters
 * nothing); 400/403 as Storage answers them.
 */
export function parseQuery(q: URLSearchParams, tokenOrg: string | undefined): InstanceQuery {
  const owner = queryOwner(q, tokenOrg);
  const filters = queryFilters(q, owner);
  const appId = q.get('appId');
  const range: Filter[] = [(s) => s.org === owner, ...(appId ? [(s: StoredInstance) => s.doc.appId === appId] : []), ...q.getAll('lastChanged').map((v) => dateFilter('lastChanged', v, (s) => s.changedUs))];
  const sizeRaw = q.get('size');
  const size = sizeRaw === null ? DEFAULT_PAGE : Number(sizeRaw);
  if (!Number.isInteger(size) || size < 1) throw new HttpError(400, 'size must be a positive whole number');
  const token = q.get('continuationToken');
  const from = token ? decodeToken(token) : undefined;
  return { filters, range, size, from };
}

/**
 * One page of the matching instances, newest first, after the continuation token's key; `full` when it
 * holds `size` (at most MAX_PAGE). Over `limits`, a 400 as production answers it.
 */
export function queryPage(instances: Iterable<StoredInstance>, { filters, range, size, from }: InstanceQuery, limits: QueryLimits = {}): { page: StoredInstance[]; full: boolean } {
  if (limits.maxSize !== undefined && size > limits.maxSize) throw new HttpError(400, 'Exception while reading from stream');
  const limit = Math.min(size, MAX_PAGE);
  // The scan walks the lastChanged range in sort order until the page is full.
  const scan = [...instances].filter((s) => (!from || after(s, from)) && range.every((f) => f(s))).sort(byKey);
  const page: StoredInstance[] = [];
  let scanned = 0;
  for (const s of scan) {
    if (page.length === limit) break;
    scanned++;
    if (filters.every((f) => f(s))) page.push(s);
  }
  if (limits.maxScanned !== undefined && scanned > limits.maxScanned) throw new HttpError(400, 'Exception while reading from stream');
  return { page, full: page.length === limit };
}

/** The page's `next` link: `self` with the last instance's continuation token, or null after a page that is not full. */
export function nextLink(self: string, { page, full }: { page: StoredInstance[]; full: boolean }): string | null {
  // A full page always carries `next`, even when nothing follows: the client finds out from an empty page.
  if (!full) return null;
  const u = new URL(self);
  u.searchParams.set('continuationToken', encodeToken(page[page.length - 1]!));
  return u.toString();
}
