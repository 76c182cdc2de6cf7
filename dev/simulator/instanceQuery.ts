import { HttpError } from './http.js';
import type { StoredInstance } from './store.js';

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type Filter = (s: StoredInstance) => boolean;
type Key = { ms: number; guid: string };

/** A Storage instance query (`GET /storage/api/v1/instances?...`) as read from its parameters. */
export interface InstanceQuery {
  filters: Filter[];
  size: number;
  /** The continuation token's key: the page starts after it. */
  from: Key | undefined;
}

function bool(name: string, v: string): boolean {
  if (v !== 'true' && v !== 'false') throw new HttpError(400, `${name} must be true or false`);
  return v === 'true';
}

/** `gt:2024-01-01T00:00:00Z`, `lte:...`, `eq:...` or a bare date (= eq). */
function dateFilter(name: string, raw: string, of: (s: StoredInstance) => number): Filter {
  const m = /^(?:(gt|gte|lt|lte|eq):)?(.+)$/.exec(raw)!;
  const t = Date.parse(m[2]!);
  if (Number.isNaN(t)) throw new HttpError(400, `${name}: '${raw}' is not an operator and a date`);
  const op = m[1] ?? 'eq';
  return (s) => {
    const v = of(s);
    return op === 'gt' ? v > t : op === 'gte' ? v >= t : op === 'lt' ? v < t : op === 'lte' ? v <= t : v === t;
  };
}

const encodeToken = (s: StoredInstance) => Buffer.from(`${s.changedMs};${s.guid}`).toString('base64url');
function decodeToken(token: string): Key {
  const m = /^(\d+);([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new HttpError(400, 'continuationToken is not valid');
  return { ms: Number(m[1]), guid: m[2]! };
}

/** Newest first, as Storage's query sorts (`lastChanged` descending); the id breaks ties. */
const after = (s: StoredInstance, k: Key) => s.changedMs < k.ms || (s.changedMs === k.ms && s.guid < k.guid);
const byKey = (a: StoredInstance, b: StoredInstance) => b.changedMs - a.changedMs || (a.guid < b.guid ? 1 : a.guid > b.guid ? -1 : 0);

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
  for (const v of q.getAll('lastChanged')) filters.push(dateFilter('lastChanged', v, (s) => s.changedMs));
  for (const v of q.getAll('created')) filters.push(dateFilter('created', v, (s) => Date.parse(String(s.doc.created))));
  return filters;
}

/**
 * Reads a query's parameters (Storage binds the ones it knows and ignores the rest: a typo filters
 * nothing); 400/403 as Storage answers them.
 */
export function parseQuery(q: URLSearchParams, tokenOrg: string | undefined): InstanceQuery {
  const filters = queryFilters(q, queryOwner(q, tokenOrg));
  const sizeRaw = q.get('size');
  const size = sizeRaw === null ? DEFAULT_PAGE : Number(sizeRaw);
  if (!Number.isInteger(size) || size < 1) throw new HttpError(400, 'size must be a positive whole number');
  const token = q.get('continuationToken');
  const from = token ? decodeToken(token) : undefined;
  return { filters, size, from };
}

/** One page of the matching instances, newest first, after the continuation token's key; `full` when it holds `size` (at most MAX_PAGE). */
export function queryPage(instances: Iterable<StoredInstance>, { filters, size, from }: InstanceQuery): { page: StoredInstance[]; full: boolean } {
  const matching = [...instances].filter((s) => (!from || after(s, from)) && filters.every((f) => f(s))).sort(byKey);
  const limit = Math.min(size, MAX_PAGE);
  const page = matching.slice(0, limit);
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
