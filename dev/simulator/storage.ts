import type { Applications } from './applications.js';
import { READ_SCOPE, setSubstatus, substatusSchema } from './apps.js';
import type { Authentication } from './authentication.js';
import type { Core } from './core.js';
import { sendElement } from './data.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';
import { nextLink, parseQuery, queryPage, type QueryLimits } from './instanceQuery.js';
import type { PolicyAction, Policies } from './policy.js';
import type { Store, StoredInstance } from './store.js';

const BASE = '^/storage/api/v1/instances';
const INSTANCE = `${BASE}/(?<partyId>\\d+)/(?<instanceGuid>[0-9a-fA-F-]{36})`;

/** What Storage's routes use: the clock and URLs, the instances, the token check and app metadata. */
interface Storage {
  core: Core;
  store: Store;
  auth: Authentication;
  applications: Applications;
  /** Production's query failures (`sim.settings.queryLimits`), read per request. */
  settings: { queryLimits: QueryLimits };
  policies: Policies;
}

/** Platform Storage, as a service owner uses it (`{platformUrl}/storage/api/v1/instances...`). */
export function storageRoutes(core: Core, store: Store, auth: Authentication, applications: Applications, extra: Pick<Storage, 'settings' | 'policies'>): Route[] {
  const st: Storage = { core, store, auth, applications, ...extra };
  return [
    { name: 'storage.query', method: 'GET', path: new RegExp(`${BASE}$`), handle: (ctx) => query(st, ctx) },
    { name: 'storage.instance', method: 'GET', path: new RegExp(`${INSTANCE}$`), handle: (ctx) => sendJson(ctx.res, 200, owned(st, ctx, 'read').s.doc) },
    { name: 'storage.data', method: 'GET', path: new RegExp(`${INSTANCE}/data/(?<dataGuid>[0-9a-fA-F-]{36})$`), handle: (ctx) => getData(st, ctx) },
    { name: 'storage.complete', method: 'POST', path: new RegExp(`${INSTANCE}/complete$`), handle: (ctx) => complete(st, ctx) },
    { name: 'storage.substatus', method: 'PUT', path: new RegExp(`${INSTANCE}/substatus$`), handle: (ctx) => putSubstatus(st, ctx) },
    ...applications.routes,
  ];
}

/** `storage.query`: the token's own org's instances, filtered, one page newest first. */
function query(st: Storage, ctx: Ctx): void {
  const claims = st.auth.authorize(ctx, { scope: READ_SCOPE });
  const result = queryPage(st.store.instances.values(), parseQuery(ctx.url.searchParams, claims['urn:altinn:org']), st.settings.queryLimits);
  const self = `${st.core.urls.platform}${ctx.url.pathname}${ctx.url.search}`;
  sendJson(ctx.res, 200, { count: result.page.length, self, next: nextLink(self, result), instances: result.page.map((s) => s.doc) });
}

/**
 * The instance by its GUID alone, the party id in the path ignored (altinn-storage
 * PgInstanceRepository `GetOne(instanceGuid, …)`), then Authorization: the app's policy for the token's
 * org (policy.ts). No scope is checked here: only the query checks `instances.read`.
 */
function owned(st: Storage, ctx: Ctx, action: PolicyAction | 'org'): { s: StoredInstance; org: string } {
  const claims = st.auth.authenticate(ctx);
  const s = st.store.get(ctx.params.instanceGuid ?? '');
  if (!s) throw new HttpError(404, `Unable to find instance ${ctx.params.instanceGuid ?? ''}`);
  if (claims['urn:altinn:org'] !== s.org) throw new HttpError(403, 'the instance belongs to another org');
  // UpdateSubstatus compares the org only ('org'); the rest ask the app's policy.
  if (action !== 'org' && !st.policies.allows(s.app, action)) throw new HttpError(403, `the app's policy does not grant ${s.org} ${action}`);
  return { s, org: s.org };
}

/** `storage.data`: a data element's bytes. */
async function getData(st: Storage, ctx: Ctx): Promise<void> {
  const { s } = owned(st, ctx, 'read');
  const element = st.store.element(s, ctx.params.dataGuid!);
  // DataController.Get reads the app's metadata (404 without it) and the element's type (400 when undeclared).
  const meta = st.applications.get(s.app);
  if (!meta) throw new HttpError(404, `Cannot find application ${s.doc.appId} in storage`);
  const type = meta.dataTypes.get(String(element.doc.dataType));
  if (!type) throw new HttpError(400, 'Requested element type is not declared in application metadata');
  // Restricted data (DataTypeExtensions.CanRead): the policy must grant the action, else Forbid().
  if (type.actionRequiredToRead && !st.policies.allows(s.app, type.actionRequiredToRead)) throw new HttpError(403, 'Forbidden');
  // A blob download stream cannot seek, so ASP.NET's File(stream) sends no Content-Length (chunked).
  await sendElement(ctx, st.core, s, element, { contentLength: false });
}

/** `storage.complete`: the token's org confirms the instance. */
function complete(st: Storage, ctx: Ctx): void {
  ctx.req.resume();
  const { s, org } = owned(st, ctx, 'complete');
  st.store.complete(s, org);
  sendJson(ctx.res, 200, s.doc);
}

/** `storage.substatus`: sets the instance's substatus. */
async function putSubstatus(st: Storage, ctx: Ctx): Promise<void> {
  const { s, org } = owned(st, ctx, 'org');
  const body = substatusSchema.safeParse(await readJson(ctx.req));
  if (!body.success) throw new HttpError(400, `invalid substatus: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  setSubstatus(st.store, s, body.data, org);
  sendJson(ctx.res, 200, s.doc);
}
