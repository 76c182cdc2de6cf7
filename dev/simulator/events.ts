import { z } from 'zod';
import { appResource, VALIDATION_RETRY_SECONDS } from '../../cli/eventsValidation.js';
import { isLoopbackHost } from '../../lib/http/net.js';
import { bearer, type AltinnTokenClaims, type Authentication } from './authentication.js';
import { bump, type Core } from './core.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';
import { guidFrom } from './store.js';

const EVENTS_SCOPE = 'altinn:events.subscribe';
const VALIDATION_EVENT_TYPE = 'platform.events.validatesubscription';
/**
 * Altinn Events' outbound retry schedule (seconds after the previous failure), about 35 hours in all:
 * OutboundQueuePolicy in altinn-events src/Events.Functions/Configuration/FunctionsWolverineSettings.cs.
 */
const RETRY_SCHEDULE_SECONDS = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200];
/** The prefix that makes a subscription an app subscription (altinn-events PlatformSettings.AppResourcePrefix). */
const APP_RESOURCE_PREFIX = 'urn:altinn:resource:app_';

export interface CloudEvent {
  id: string;
  source: string;
  specversion: '1.0';
  type: string;
  resource?: string;
  resourceinstance?: string;
  subject?: string;
  alternativesubject?: string;
  time?: string;
  [key: string]: unknown;
}

export interface Subscription {
  id: number;
  endPoint: string;
  sourceFilter: string | null;
  resourceFilter: string | null;
  subjectFilter: string | null;
  alternativeSubjectFilter: string | null;
  typeFilter: string | null;
  consumer: string;
  createdBy: string;
  created: string;
  validated: boolean;
}

export interface Delivery {
  subscriptionId: number;
  eventId: string;
  type: string;
  /** 1 for the first try. */
  attempt: number;
  /** Status the endpoint answered, 0 for a network error, -1 when dropped on purpose. */
  status: number;
  time: number;
}

/** Unknown properties are ignored, as ASP.NET's model binding does. */
const requestSchema = z.object({
  endPoint: z.string().nullish(),
  sourceFilter: z.string().nullish(),
  resourceFilter: z.string().nullish(),
  subjectFilter: z.string().nullish(),
  alternativeSubjectFilter: z.string().nullish(),
  typeFilter: z.string().nullish(),
});

/** .NET's `Uri.IsWellFormedUriString(s, UriKind.Absolute)`, near enough: parses, and no stray `%` or space. */
function wellFormedAbsolute(raw: string): URL | undefined {
  if (/%(?![0-9a-f]{2})/i.test(raw) || /\s/.test(raw)) return undefined;
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** `urn:altinn:resource:app_{org}_{app}` from `{apps origin}/{org}/{app}` (altinn-events AppSubscriptionService.GetResourceFilterFromSource). */
function resourceFromSource(source: URL): string {
  const [, org = '', app = ''] = source.pathname.split('/');
  return appResource(org, app);
}

/** An app event's alternativesubject: `/person/{ssn}` wins over `/org/{orgNo}` (app-lib EventsClient.AddEvent). */
export function alternativeSubjectOf(instanceOwner: unknown): string | undefined {
  const o = z.object({ personNumber: z.string().nullish(), organisationNumber: z.string().nullish() }).safeParse(instanceOwner);
  if (!o.success) return undefined;
  if (o.data.personNumber) return `/person/${o.data.personNumber}`;
  return o.data.organisationNumber ? `/org/${o.data.organisationNumber}` : undefined;
}

/** The identity Altinn files subscriptions under (altinn-events SubscriptionService.GetEntityFromPrincipal). */
const entityOf = (claims: AltinnTokenClaims) => (claims['urn:altinn:org'] ? `/org/${claims['urn:altinn:org']}` : `/organisation/${claims['urn:altinn:orgNumber']}`);

/** One delivery attempt: the HTTP status, or 0 when the endpoint could not be reached. */
async function post(sub: Subscription, event: CloudEvent): Promise<number> {
  try {
    const res = await fetch(sub.endPoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** A subscription request checked as altinn-events does (see `create` below): the filters to store, or an HttpError. */
function subscriptionRequest(core: Core, claims: AltinnTokenClaims, r: z.infer<typeof requestSchema>) {
  const source = r.sourceFilter ? wellFormedAbsolute(r.sourceFilter) : undefined;
  if (r.sourceFilter && !source) throw new HttpError(400, 'SourceFilter must be an absolute URI');
  const isApp = r.resourceFilter
    ? r.resourceFilter.toLowerCase().startsWith(APP_RESOURCE_PREFIX)
    : source !== undefined && source.hostname.endsWith(new URL(core.urls.apps).hostname);
  if (!isApp && !claims.scope.split(' ').includes(EVENTS_SCOPE)) throw new HttpError(403, `the token lacks the scope ${EVENTS_SCOPE}`);
  const endpoint = r.endPoint ? wellFormedAbsolute(r.endPoint) : undefined;
  if (!endpoint) throw new HttpError(400, 'Missing or invalid endpoint to push events towards');
  if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && isLoopbackHost(endpoint.hostname))) {
    throw new HttpError(400, 'endPoint must use https');
  }
  if (r.resourceFilter && !/^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$/i.test(r.resourceFilter)) throw new HttpError(400, 'Resource filter must be a valid urn');
  const org = claims['urn:altinn:org'];
  // The simulator has no register to turn an alternative subject into a party: like a failed lookup, no subject.
  if (!r.subjectFilter && (!org || r.alternativeSubjectFilter)) throw new HttpError(400, 'A valid subject to the authenticated identity is required');
  let resourceFilter = r.resourceFilter ?? null;
  if (isApp) {
    if (source && source.pathname.split('/').length !== 3) throw new HttpError(400, 'A valid app id is required in source filter {environment}/{org}/{app}');
    if (source && resourceFilter && resourceFromSource(source) !== resourceFilter) {
      throw new HttpError(400, 'Provided resource filter and source filter are not compatible');
    }
    resourceFilter ??= resourceFromSource(source!);
    // The app's policy lets its owner read every instance's events: the resource's org must be the caller's.
    if (!r.subjectFilter && !resourceFilter.toLowerCase().startsWith(`${APP_RESOURCE_PREFIX}${org}_`)) {
      throw new HttpError(403, `Not authorized to create a subscription for resource ${resourceFilter}.`);
    }
  } else if (!resourceFilter) {
    throw new HttpError(400, 'Resource filter must be a valid urn');
  }
  return {
    endPoint: endpoint.href,
    sourceFilter: source?.href ?? null,
    resourceFilter: resourceFilter.toLowerCase(),
    subjectFilter: r.subjectFilter ?? null,
    typeFilter: r.typeFilter ?? null,
  };
}

export function createEvents(core: Core, auth: Authentication, random: () => number, retryScale: number) {
  const subscriptions = new Map<number, Subscription>();
  const deliveries: Delivery[] = [];
  /** Subscriptions whose validation Altinn gave up on (the command went to the error queue). */
  const abandoned = new Set<number>();
  const timers = new Set<NodeJS.Timeout>();
  const idleWaiters: (() => void)[] = [];
  let nextId = 1;
  let pending = 0;
  let dropNext = 0;
  const control = { dropRate: 0 };

  const settle = () => {
    if (--pending === 0) for (const w of idleWaiters.splice(0)) w();
  };

  function later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  }

  /** Any 2xx is success: altinn-events WebhookService.Send checks `IsSuccessStatusCode`. */
  const succeeded = (status: number) => status >= 200 && status <= 299;

  /**
   * One event to one subscription, retried after each delay of `schedule` (scaled) until a 2xx or the schedule
   * ends; then `onGiveUp`.
   */
  function deliver(sub: Subscription, event: CloudEvent, schedule: readonly number[], on: { ok?: () => void; giveUp?: () => void } = {}): void {
    pending++;
    const attempt = async (n: number): Promise<void> => {
      if (!subscriptions.has(sub.id)) return settle();
      bump(core.counters.deliveries, String(sub.id));
      const isValidation = event.type === VALIDATION_EVENT_TYPE;
      if (!isValidation && (dropNext > 0 || (control.dropRate > 0 && random() < control.dropRate))) {
        if (dropNext > 0) dropNext--;
        deliveries.push({ subscriptionId: sub.id, eventId: event.id, type: event.type, attempt: n, status: -1, time: core.now() });
        return settle();
      }
      const status = await post(sub, event);
      deliveries.push({ subscriptionId: sub.id, eventId: event.id, type: event.type, attempt: n, status, time: core.now() });
      if (succeeded(status)) {
        on.ok?.();
        return settle();
      }
      const wait = schedule[n - 1];
      if (wait === undefined) {
        on.giveUp?.();
        return settle();
      }
      later(wait * 1000 * retryScale, () => void attempt(n + 1));
    };
    void attempt(1);
  }

  /**
   * Sends an event to every validated subscription whose filters match it: resource exact (stored lower-case),
   * subject and type exact when set (altinn-events getsubscriptions.sql: `AND s.validated`).
   */
  function publish(event: CloudEvent): void {
    for (const sub of subscriptions.values()) {
      if (!sub.validated) continue;
      if (sub.resourceFilter !== event.resource?.toLowerCase()) continue;
      if (sub.typeFilter && sub.typeFilter !== event.type) continue;
      if (sub.subjectFilter && sub.subjectFilter !== event.subject) continue;
      deliver(sub, event, RETRY_SCHEDULE_SECONDS);
    }
  }

  /** The validation handshake, on Altinn's validation retry policy (cli/eventsValidation.ts), then given up. */
  function validate(sub: Subscription): void {
    abandoned.delete(sub.id);
    const event: CloudEvent = { id: guidFrom(random), source: `${core.urls.platform}/events/api/v1/subscriptions/${sub.id}`, type: VALIDATION_EVENT_TYPE, specversion: '1.0' };
    deliver(sub, event, VALIDATION_RETRY_SECONDS, { ok: () => (sub.validated = true), giveUp: () => abandoned.add(sub.id) });
  }

  /** An Altinn token, no particular scope: the subscription API checks scopes per request (below). */
  function authenticate(ctx: Ctx): AltinnTokenClaims {
    const token = bearer(ctx.req);
    const claims = token ? auth.verifyAltinnToken(token) : undefined;
    if (!claims) throw new HttpError(401, 'missing, invalid or expired Altinn token', { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    return claims;
  }

  /**
   * altinn-events src/Events/Controllers/SubscriptionController.cs (Post) and Services/AppSubscriptionService.cs:
   * an app subscription (resourceFilter `urn:altinn:resource:app_…`, or a sourceFilter on the apps domain) needs no
   * scope; anything else needs altinn:events.subscribe. The resourceFilter is derived from the sourceFilter when
   * absent; both given must agree. Only the app's owner may subscribe to it without a subject. A subscription equal
   * to an existing one returns that one (SubscriptionService.CompleteSubscriptionCreation, find_subscription), and
   * either way the validation handshake is sent again.
   */
  async function create(ctx: Ctx): Promise<void> {
    const claims = authenticate(ctx);
    const parsed = requestSchema.safeParse(await readJson(ctx.req));
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const wanted = subscriptionRequest(core, claims, parsed.data);
    const consumer = entityOf(claims);
    const same = (s: Subscription) =>
      s.consumer === consumer && (Object.keys(wanted) as (keyof typeof wanted)[]).every((k) => s[k] === wanted[k]);
    let sub = [...subscriptions.values()].find(same);
    if (!sub) {
      sub = { id: nextId++, ...wanted, alternativeSubjectFilter: null, consumer, createdBy: consumer, created: new Date(core.now()).toISOString(), validated: false };
      subscriptions.set(sub.id, sub);
    }
    sendJson(ctx.res, 201, sub, { Location: `/events/api/v1/subscription/${sub.id}` });
    validate(sub);
  }

  function owned(ctx: Ctx): Subscription {
    const claims = authenticate(ctx);
    const sub = subscriptions.get(Number(ctx.params.id));
    if (!sub) throw new HttpError(404, 'subscription not found');
    if (sub.createdBy !== entityOf(claims)) throw new HttpError(403, 'not your subscription');
    return sub;
  }

  const routes: Route[] = [
    { name: 'events.create', method: 'POST', path: /^\/events\/api\/v1\/subscriptions$/, handle: create },
    {
      name: 'events.list',
      method: 'GET',
      path: /^\/events\/api\/v1\/subscriptions$/,
      handle: (ctx) => {
        const consumer = entityOf(authenticate(ctx));
        // Unvalidated ones included (SubscriptionRepository.GetSubscriptionsByConsumer(consumer, includeInvalid: true)).
        const list = [...subscriptions.values()].filter((s) => s.consumer === consumer);
        sendJson(ctx.res, 200, { count: list.length, subscriptions: list });
      },
    },
    { name: 'events.get', method: 'GET', path: /^\/events\/api\/v1\/subscriptions\/(?<id>\d+)$/, handle: (ctx) => sendJson(ctx.res, 200, owned(ctx)) },
    {
      name: 'events.delete',
      method: 'DELETE',
      path: /^\/events\/api\/v1\/subscriptions\/(?<id>\d+)$/,
      handle: (ctx) => {
        subscriptions.delete(owned(ctx).id);
        ctx.res.writeHead(200, { 'Content-Length': 0 }).end();
      },
    },
  ];

  return {
    routes,
    publish,
    /** Control and observation of the Events API (exposed as `sim.events`). */
    handle: {
      subscriptions,
      deliveries,
      /** Ids of subscriptions whose validation handshake Altinn gave up on: they stay unvalidated and get no events. */
      abandoned,
      /** Probability (0..1, seeded) that an app-event delivery attempt is silently dropped. */
      get dropRate() {
        return control.dropRate;
      },
      set dropRate(v: number) {
        control.dropRate = v;
      },
      /** Drops the next `n` app-event delivery attempts (they are never sent, nor retried). */
      dropNext(n: number): void {
        dropNext += n;
      },
      /** Sends any CloudEvent to the matching validated subscriptions. */
      publish,
      /** Resolves when no delivery is in flight or waiting for a retry. */
      idle(): Promise<void> {
        return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
      },
    },
    stop(): void {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

export type Events = ReturnType<typeof createEvents>;
