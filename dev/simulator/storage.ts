import type { Applications } from './applications.js';
import { READ_SCOPE, WRITE_SCOPE, setSubstatus, substatusSchema } from './apps.js';
import type { Authentication } from './authentication.js';
import type { Core } from './core.js';
import { sendElement } from './data.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';
import type { Store, StoredInstance } from './store.js';

const BASE = '^/storage/api/v1/instances';
const INSTANCE = `${BASE}/(?<partyId>\\d+)/(?<instanceGuid>[0-9a-fA-F-]{36})`;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type Filter = (s: StoredInstance) => boolean;

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
function decodeToken(token: string): { ms: number; guid: string } {
  const m = /^(\d+);([0-9a-f-]{36})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new HttpError(400, 'continuationToken is not valid');
  return { ms: Number(m[1]), guid: m[2]! };
}

/** Newest first, as Storage's query sorts (`lastChanged` descending); the id breaks ties. */
const after = (s: StoredInstance, k: { ms: number; guid: string }) => s.changedMs < k.ms || (s.changedMs === k.ms && s.guid < k.guid);
const byKey = (a: StoredInstance, b: StoredInstance) => b.changedMs - a.changedMs || (a.guid < b.guid ? 1 : a.guid > b.guid ? -1 : 0);

/** Platform Storage, as a service owner uses it (`{platformUrl}/storage/api/v1/instances...`). */
export function storageRoutes(core: Core, store: Store, auth: Authentication, applications: Applications): Route[] {
  function query(ctx: Ctx): void {
    const claims = auth.authorize(ctx, { scope: READ_SCOPE });
    const q = ctx.url.searchParams;
    // Storage binds the parameters it knows and ignores the rest (a typo filters nothing).
    const org = q.get('org');
    const appId = q.get('appId');
    if (!org && !appId) throw new HttpError(400, 'org or appId must be given');
    if (appId && !/^[a-z0-9-]+\/[a-z0-9-]+$/.test(appId)) throw new HttpError(400, 'appId must be {org}/{app}');
    const owner = org ?? appId!.split('/')[0];
    if (owner !== claims['urn:altinn:org'] || (org && appId && !appId.startsWith(`${org}/`))) throw new HttpError(403, 'the token may only query its own org');
    const filters: Filter[] = [(s) => s.org === owner];
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
    const sizeRaw = q.get('size');
    const size = sizeRaw === null ? DEFAULT_PAGE : Number(sizeRaw);
    if (!Number.isInteger(size) || size < 1) throw new HttpError(400, 'size must be a positive whole number');
    const token = q.get('continuationToken');
    const from = token ? decodeToken(token) : undefined;

    const matching = [...store.instances.values()].filter((s) => (!from || after(s, from)) && filters.every((f) => f(s))).sort(byKey);
    const limit = Math.min(size, MAX_PAGE);
    const page = matching.slice(0, limit);
    const self = `${core.urls.platform}${ctx.url.pathname}${ctx.url.search}`;
    let next: string | null = null;
    // A full page always carries `next`, even when nothing follows: the client finds out from an empty page.
    if (page.length === limit) {
      const u = new URL(self);
      u.searchParams.set('continuationToken', encodeToken(page[page.length - 1]!));
      next = u.toString();
    }
    sendJson(ctx.res, 200, { count: page.length, self, next, instances: page.map((s) => s.doc) });
  }

  /** Storage authorises by the instance's org (its path carries none). */
  function owned(ctx: Ctx, scope: string): { s: StoredInstance; org: string } {
    const claims = auth.authorize(ctx, { scope });
    const s = store.at(ctx.params);
    if (claims['urn:altinn:org'] !== s.org) throw new HttpError(403, 'the instance belongs to another org');
    return { s, org: s.org };
  }

  return [
    { name: 'storage.query', method: 'GET', path: new RegExp(`${BASE}$`), handle: query },
    { name: 'storage.instance', method: 'GET', path: new RegExp(`${INSTANCE}$`), handle: (ctx) => sendJson(ctx.res, 200, owned(ctx, READ_SCOPE).s.doc) },
    {
      name: 'storage.data',
      method: 'GET',
      path: new RegExp(`${INSTANCE}/data/(?<dataGuid>[0-9a-fA-F-]{36})$`),
      handle: async (ctx) => {
        const { s } = owned(ctx, READ_SCOPE);
        const element = store.element(s, ctx.params.dataGuid!);
        // DataController.Get reads the app's metadata (404 without it) and the element's type (400 when undeclared).
        const meta = applications.get(s.app);
        if (!meta) throw new HttpError(404, `Cannot find application ${s.doc.appId} in storage`);
        if (!meta.dataTypes.has(String(element.doc.dataType))) throw new HttpError(400, 'Requested element type is not declared in application metadata');
        await sendElement(ctx, core, s, element);
      },
    },
    {
      name: 'storage.complete',
      method: 'POST',
      path: new RegExp(`${INSTANCE}/complete$`),
      handle: (ctx) => {
        ctx.req.resume();
        const { s, org } = owned(ctx, WRITE_SCOPE);
        store.complete(s, org);
        sendJson(ctx.res, 200, s.doc);
      },
    },
    {
      name: 'storage.substatus',
      method: 'PUT',
      path: new RegExp(`${INSTANCE}/substatus$`),
      handle: async (ctx) => {
        const { s, org } = owned(ctx, WRITE_SCOPE);
        const body = substatusSchema.safeParse(await readJson(ctx.req));
        if (!body.success) throw new HttpError(400, `invalid substatus: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        setSubstatus(store, s, body.data, org);
        sendJson(ctx.res, 200, s.doc);
      },
    },
    ...applications.routes,
  ];
}
