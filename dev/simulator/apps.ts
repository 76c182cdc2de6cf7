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

/**
 * An app's API, as a service owner uses it: `{appsUrl}/{org}/{app}/instances/{partyId}/{guid}/...`.
 * It follows app-lib (Altinn/app-lib-dotnet), not Storage: see dev/simulator/README.md, "Fidelity to Altinn".
 */
export function appRoutes(core: Core, store: Store, auth: Authentication, applications: Applications): Route[] {
  /** The checks every app route makes before it touches the instance. */
  function gate(ctx: Ctx, access: 'read' | 'write'): { claims: AltinnTokenClaims; meta: AppMetadata; s: StoredInstance } {
    const meta = applications.get(ctx.params.app!);
    // A retired app is not deployed: its host has no such path.
    if (!meta || meta.retired) throw new HttpError(404, 'Not Found');
    const claims = auth.authorize(ctx, { scope: access === 'read' ? READ_SCOPE : WRITE_SCOPE, org: ctx.params.org });
    // app-lib ScopeAuthorizationMiddleware: app-defined scopes replace Altinn's for the app's API.
    const own = meta.apiScopes?.[access];
    if (own && !claims.scope.split(' ').includes(own)) throw new HttpError(403, `the app requires the scope ${own}`);
    return { claims, meta, s: store.at(ctx.params) };
  }

  return [
    {
      name: 'apps.instance',
      method: 'GET',
      path: new RegExp(`${INSTANCE}$`),
      handle: (ctx) => {
        const { meta, s } = gate(ctx, 'read');
        // app-lib DataElementAccessChecker: an element of a type the app no longer declares throws (500).
        const undeclared = (s.doc.data ?? []).find((d) => !meta.dataTypes.has(String(d.dataType)));
        if (undeclared) throw new HttpError(500, `Unknown data type ${String(undeclared.dataType)}`);
        sendJson(ctx.res, 200, toAppInstance(s.doc, true));
      },
    },
    {
      name: 'apps.data',
      method: 'GET',
      path: new RegExp(`${INSTANCE}/data/${DATA_GUID}$`),
      handle: async (ctx) => {
        const { meta, s } = gate(ctx, 'read');
        const element = store.element(s, ctx.params.dataGuid!);
        const type = meta.dataTypes.get(String(element.doc.dataType));
        if (!type) throw new HttpError(400, `Unknown data type ${String(element.doc.dataType)}`);
        // app-lib DataController.Get → GetFormData: a form is loaded and serialised anew, not streamed.
        if (type.form) return sendReserialised(ctx, core, s, element);
        await sendElement(ctx, core, s, element);
      },
    },
    {
      name: 'apps.complete',
      method: 'POST',
      path: new RegExp(`${INSTANCE}/complete$`),
      handle: (ctx) => {
        ctx.req.resume();
        const { claims, s } = gate(ctx, 'write');
        store.complete(s, claims['urn:altinn:org']!);
        sendJson(ctx.res, 200, toAppInstance(s.doc, false));
      },
    },
    {
      name: 'apps.substatus',
      method: 'PUT',
      path: new RegExp(`${INSTANCE}/substatus$`),
      handle: async (ctx) => {
        const { claims, s } = gate(ctx, 'write');
        const body = substatusSchema.safeParse(await readJson(ctx.req));
        if (!body.success) throw new HttpError(400, `invalid substatus: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        setSubstatus(store, s, body.data, claims['urn:altinn:org']!);
        sendJson(ctx.res, 200, toAppInstance(s.doc, false));
      },
    },
  ];
}

export const substatusSchema = z.object({ label: z.string().min(1).max(256), description: z.string().max(1024).nullish() });

export function setSubstatus(store: Store, s: StoredInstance, substatus: z.infer<typeof substatusSchema>, by: string): void {
  s.doc.status = { ...(s.doc.status as object), substatus: { label: substatus.label, description: substatus.description ?? null } };
  store.touch(s, by);
}
