import { z } from 'zod';
import { toAppInstance } from './appShape.js';
import type { Applications, AppMetadata } from './applications.js';
import type { AltinnTokenClaims, Authentication } from './authentication.js';
import type { Core } from './core.js';
import { sendElement, sendReserialised } from './data.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';
import type { Store, StoredInstance } from './store.js';

export const READ_SCOPE = 'altinn:serviceowner/instances.read';
export const WRITE_SCOPE = 'altinn:serviceowner/instances.write';

const INSTANCE = '^/(?<org>[a-z0-9-]+)/(?<app>[a-z0-9-]+)/instances/(?<partyId>\\d+)/(?<instanceGuid>[0-9a-fA-F-]{36})';
const DATA_GUID = '(?<dataGuid>[0-9a-fA-F-]{36})';

/** What the app routes read and change. */
interface AppsDeps {
  core: Core;
  store: Store;
  auth: Authentication;
  applications: Applications;
}

/** The checks every app route makes before it touches the instance. */
function gate(deps: AppsDeps, ctx: Ctx, access: 'read' | 'write'): { claims: AltinnTokenClaims; meta: AppMetadata; s: StoredInstance } {
  const meta = deps.applications.get(ctx.params.app!);
  // A retired app is not deployed: its host has no such path.
  if (!meta || meta.retired) throw new HttpError(404, 'Not Found');
  const claims = deps.auth.authorize(ctx, { scope: access === 'read' ? READ_SCOPE : WRITE_SCOPE, org: ctx.params.org });
  // app-lib ScopeAuthorizationMiddleware: app-defined scopes replace Altinn's for the app's API.
  const own = meta.apiScopes?.[access];
  if (own && !claims.scope.split(' ').includes(own)) throw new HttpError(403, `the app requires the scope ${own}`);
  return { claims, meta, s: deps.store.at(ctx.params) };
}

function getInstance(deps: AppsDeps, ctx: Ctx): void {
  const { meta, s } = gate(deps, ctx, 'read');
  // app-lib DataElementAccessChecker: an element of a type the app no longer declares throws (500).
  const undeclared = (s.doc.data ?? []).find((d) => !meta.dataTypes.has(String(d.dataType)));
  if (undeclared) throw new HttpError(500, `Unknown data type ${String(undeclared.dataType)}`);
  sendJson(ctx.res, 200, toAppInstance(s.doc, true));
}

async function getData(deps: AppsDeps, ctx: Ctx): Promise<void> {
  const { meta, s } = gate(deps, ctx, 'read');
  const element = deps.store.element(s, ctx.params.dataGuid!);
  const type = meta.dataTypes.get(String(element.doc.dataType));
  if (!type) throw new HttpError(400, `Unknown data type ${String(element.doc.dataType)}`);
  // app-lib DataController.Get → GetFormData: a form is loaded and serialised anew, not streamed.
  if (type.form) return sendReserialised(ctx, deps.core, s, element);
  await sendElement(ctx, deps.core, s, element);
}

function complete(deps: AppsDeps, ctx: Ctx): void {
  ctx.req.resume();
  const { claims, s } = gate(deps, ctx, 'write');
  deps.store.complete(s, claims['urn:altinn:org']!);
  sendJson(ctx.res, 200, toAppInstance(s.doc, false));
}

async function putSubstatus(deps: AppsDeps, ctx: Ctx): Promise<void> {
  const { claims, s } = gate(deps, ctx, 'write');
  const body = substatusSchema.safeParse(await readJson(ctx.req));
  if (!body.success) throw new HttpError(400, `invalid substatus: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  setSubstatus(deps.store, s, body.data, claims['urn:altinn:org']!);
  sendJson(ctx.res, 200, toAppInstance(s.doc, false));
}

/**
 * An app's API, as a service owner uses it: `{appsUrl}/{org}/{app}/instances/{partyId}/{guid}/...`.
 * It follows app-lib (Altinn/app-lib-dotnet), not Storage: see dev/simulator/README.md, "Fidelity to Altinn".
 */
export function appRoutes(core: Core, store: Store, auth: Authentication, applications: Applications): Route[] {
  const deps: AppsDeps = { core, store, auth, applications };
  return [
    { name: 'apps.instance', method: 'GET', path: new RegExp(`${INSTANCE}$`), handle: (ctx) => getInstance(deps, ctx) },
    { name: 'apps.data', method: 'GET', path: new RegExp(`${INSTANCE}/data/${DATA_GUID}$`), handle: (ctx) => getData(deps, ctx) },
    { name: 'apps.complete', method: 'POST', path: new RegExp(`${INSTANCE}/complete$`), handle: (ctx) => complete(deps, ctx) },
    { name: 'apps.substatus', method: 'PUT', path: new RegExp(`${INSTANCE}/substatus$`), handle: (ctx) => putSubstatus(deps, ctx) },
  ];
}

export const substatusSchema = z.object({ label: z.string().min(1).max(256), description: z.string().max(1024).nullish() });

export function setSubstatus(store: Store, s: StoredInstance, substatus: z.infer<typeof substatusSchema>, by: string): void {
  s.doc.status = { ...(s.doc.status as object), substatus: { label: substatus.label, description: substatus.description ?? null } };
  store.touch(s, by);
}
