import { z } from 'zod';
import { toAppInstance } from './appShape.js';
import type { Authentication } from './authentication.js';
import type { Core } from './core.js';
import { sendElement } from './data.js';
import { HttpError, readJson, sendJson, type Route } from './http.js';
import type { Store } from './store.js';

export const READ_SCOPE = 'altinn:serviceowner/instances.read';
export const WRITE_SCOPE = 'altinn:serviceowner/instances.write';

const INSTANCE = '^/(?<org>[a-z0-9-]+)/(?<app>[a-z0-9-]+)/instances/(?<partyId>\\d+)/(?<instanceGuid>[0-9a-fA-F-]{36})';
const DATA_GUID = '(?<dataGuid>[0-9a-fA-F-]{36})';

const substatusSchema = z.object({ label: z.string().min(1).max(256), description: z.string().max(1024).nullish() });

/** An app's API, as a service owner uses it: `{appsUrl}/{org}/{app}/instances/{partyId}/{guid}/...`. */
export function appRoutes(core: Core, store: Store, auth: Authentication): Route[] {
  return [
    {
      name: 'apps.instance',
      method: 'GET',
      path: new RegExp(`${INSTANCE}$`),
      handle: (ctx) => {
        auth.authorize(ctx, { scope: READ_SCOPE, org: ctx.params.org! });
        sendJson(ctx.res, 200, toAppInstance(store.at(ctx.params).doc, true));
      },
    },
    {
      name: 'apps.data',
      method: 'GET',
      path: new RegExp(`${INSTANCE}/data/${DATA_GUID}$`),
      handle: async (ctx) => {
        auth.authorize(ctx, { scope: READ_SCOPE, org: ctx.params.org! });
        const s = store.at(ctx.params);
        await sendElement(ctx, core, s, store.element(s, ctx.params.dataGuid!));
      },
    },
    {
      name: 'apps.complete',
      method: 'POST',
      path: new RegExp(`${INSTANCE}/complete$`),
      handle: (ctx) => {
        ctx.req.resume();
        const claims = auth.authorize(ctx, { scope: WRITE_SCOPE, org: ctx.params.org! });
        const s = store.at(ctx.params);
        store.complete(s, claims['urn:altinn:org']!);
        sendJson(ctx.res, 200, toAppInstance(s.doc, false));
      },
    },
    {
      name: 'apps.substatus',
      method: 'PUT',
      path: new RegExp(`${INSTANCE}/substatus$`),
      handle: async (ctx) => {
        const claims = auth.authorize(ctx, { scope: WRITE_SCOPE, org: ctx.params.org! });
        const s = store.at(ctx.params);
        const body = substatusSchema.safeParse(await readJson(ctx.req));
        if (!body.success) throw new HttpError(400, `invalid substatus: ${body.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        s.doc.status = { ...(s.doc.status as object), substatus: { label: body.data.label, description: body.data.description ?? null } };
        store.touch(s, claims['urn:altinn:org']!);
        sendJson(ctx.res, 200, toAppInstance(s.doc, false));
      },
    },
  ];
}
