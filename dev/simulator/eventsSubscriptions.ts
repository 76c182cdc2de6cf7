import type { AltinnTokenClaims, Authentication } from './authentication.js';
import { validate } from './eventsDelivery.js';
import type { EventsState, Subscription } from './events.js';
import { parseSubscriptionRequest, subscriptionRequest } from './eventsRequest.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';

/** The identity Altinn files subscriptions under (altinn-events SubscriptionService.GetEntityFromPrincipal). */
const entityOf = (claims: AltinnTokenClaims) => (claims['urn:altinn:org'] ? `/org/${claims['urn:altinn:org']}` : `/organisation/${claims['urn:altinn:orgNumber']}`);

/**
 * altinn-events src/Events/Controllers/SubscriptionController.cs (Post) and Services/AppSubscriptionService.cs:
 * an app subscription (resourceFilter `urn:altinn:resource:app_…`, or a sourceFilter on the apps domain) needs no
 * scope; anything else needs altinn:events.subscribe. The resourceFilter is derived from the sourceFilter when
 * absent; both given must agree. Only the app's owner may subscribe to it without a subject. A subscription equal
 * to an existing one returns that one (SubscriptionService.CompleteSubscriptionCreation, find_subscription), and
 * either way the validation handshake is sent again.
 */
async function create(st: EventsState, auth: Authentication, ctx: Ctx): Promise<void> {
  // An Altinn token, no particular scope: the subscription API checks scopes per request (eventsRequest.ts).
  const claims = auth.authenticate(ctx);
  const wanted = subscriptionRequest(st.core, claims, parseSubscriptionRequest(await readJson(ctx.req)));
  const consumer = entityOf(claims);
  const same = (s: Subscription) =>
    s.consumer === consumer && (Object.keys(wanted) as (keyof typeof wanted)[]).every((k) => s[k] === wanted[k]);
  let sub = [...st.subscriptions.values()].find(same);
  if (!sub) {
    sub = { id: st.nextId++, ...wanted, alternativeSubjectFilter: null, consumer, createdBy: consumer, created: new Date(st.core.now()).toISOString(), validated: false };
    st.subscriptions.set(sub.id, sub);
  }
  sendJson(ctx.res, 201, sub, { Location: `/events/api/v1/subscription/${sub.id}` });
  validate(st, sub);
}

function list(st: EventsState, auth: Authentication, ctx: Ctx): void {
  const consumer = entityOf(auth.authenticate(ctx));
  // Unvalidated ones included (SubscriptionRepository.GetSubscriptionsByConsumer(consumer, includeInvalid: true)).
  const subscriptions = [...st.subscriptions.values()].filter((s) => s.consumer === consumer);
  sendJson(ctx.res, 200, { count: subscriptions.length, subscriptions });
}

function owned(st: EventsState, auth: Authentication, ctx: Ctx): Subscription {
  const claims = auth.authenticate(ctx);
  const sub = st.subscriptions.get(Number(ctx.params.id));
  if (!sub) throw new HttpError(404, 'subscription not found');
  if (sub.createdBy !== entityOf(claims)) throw new HttpError(403, 'not your subscription');
  return sub;
}

function remove(st: EventsState, auth: Authentication, ctx: Ctx): void {
  st.subscriptions.delete(owned(st, auth, ctx).id);
  ctx.res.writeHead(200, { 'Content-Length': 0 }).end();
}

/** The Events subscription API: `/events/api/v1/subscriptions[/{id}]`. */
export function subscriptionRoutes(st: EventsState, auth: Authentication): Route[] {
  return [
    { name: 'events.create', method: 'POST', path: /^\/events\/api\/v1\/subscriptions$/, handle: (ctx) => create(st, auth, ctx) },
    { name: 'events.list', method: 'GET', path: /^\/events\/api\/v1\/subscriptions$/, handle: (ctx) => list(st, auth, ctx) },
    { name: 'events.get', method: 'GET', path: /^\/events\/api\/v1\/subscriptions\/(?<id>\d+)$/, handle: (ctx) => sendJson(ctx.res, 200, owned(st, auth, ctx)) },
    { name: 'events.delete', method: 'DELETE', path: /^\/events\/api\/v1\/subscriptions\/(?<id>\d+)$/, handle: (ctx) => remove(st, auth, ctx) },
  ];
}
