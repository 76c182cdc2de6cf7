import { z } from 'zod';
import { isLoopbackHost } from '../../lib/net.js';
import type { Authentication } from './authentication.js';
import { bump, type Core } from './core.js';
import { HttpError, readJson, sendJson, type Ctx, type Route } from './http.js';
import { guidFrom } from './store.js';

export const EVENTS_SCOPE = 'altinn:events.subscribe';
export const VALIDATION_EVENT_TYPE = 'platform.events.validatesubscription';
/** Altinn Events' webhook retry schedule (seconds after the previous failure): about 35 hours in all. */
export const RETRY_SCHEDULE_SECONDS = [10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200];

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

const requestSchema = z
  .object({
    endPoint: z.string().min(1, 'endPoint is required'),
    sourceFilter: z.string().nullish(),
    resourceFilter: z.string().nullish(),
    subjectFilter: z.string().nullish(),
    alternativeSubjectFilter: z.string().nullish(),
    typeFilter: z.string().nullish(),
  })
  .strict();

function absoluteUrl(name: string, raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new HttpError(400, `${name} must be an absolute URI`);
  }
}

/** `…/{org}/{app}` matches the app's instances; a trailing `%` is a prefix wildcard. */
export function sourceMatches(filter: string, source: string): boolean {
  if (filter.endsWith('%')) return source.startsWith(filter.slice(0, -1));
  return source === filter || source.startsWith(`${filter}/`);
}

export function createEvents(core: Core, auth: Authentication, random: () => number, retryScale: number) {
  const subscriptions = new Map<number, Subscription>();
  const deliveries: Delivery[] = [];
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

  /** One event to one subscription, retried on Altinn's schedule (scaled) until a 200 or the schedule ends. */
  function deliver(sub: Subscription, event: CloudEvent, onOk?: () => void): void {
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
      if (status === 200) {
        onOk?.();
        return settle();
      }
      const wait = RETRY_SCHEDULE_SECONDS[n - 1];
      if (wait === undefined) return settle();
      later(wait * 1000 * retryScale, () => void attempt(n + 1));
    };
    void attempt(1);
  }

  /** Sends an event to every validated subscription whose filters match it. */
  function publish(event: CloudEvent): void {
    for (const sub of subscriptions.values()) {
      if (!sub.validated) continue;
      if (sub.sourceFilter && !sourceMatches(sub.sourceFilter, event.source)) continue;
      if (sub.resourceFilter && sub.resourceFilter !== event.resource) continue;
      if (sub.typeFilter && sub.typeFilter !== event.type) continue;
      if (sub.subjectFilter && sub.subjectFilter !== event.subject) continue;
      if (sub.alternativeSubjectFilter && sub.alternativeSubjectFilter !== event.alternativesubject) continue;
      deliver(sub, event);
    }
  }

  async function create(ctx: Ctx): Promise<void> {
    const claims = auth.authorize(ctx, { scope: EVENTS_SCOPE });
    const org = claims['urn:altinn:org'];
    const parsed = requestSchema.safeParse(await readJson(ctx.req));
    if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    const r = parsed.data;
    const endpoint = absoluteUrl('endPoint', r.endPoint);
    if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && isLoopbackHost(endpoint.hostname))) {
      throw new HttpError(400, 'endPoint must use https');
    }
    let resourceFilter = r.resourceFilter ?? null;
    if (r.sourceFilter) {
      const source = absoluteUrl('sourceFilter', r.sourceFilter);
      const m = /^\/([a-z0-9-]+)\/([a-z0-9-]+|%)$/.exec(source.pathname);
      if (source.origin !== new URL(core.urls.apps).origin || !m) {
        throw new HttpError(400, `sourceFilter must be an app URL: ${core.urls.apps}/{org}/{app} (or .../{org}/% for every app)`);
      }
      if (!org || m[1] !== org) throw new HttpError(403, 'only the app owner may subscribe to its apps’ events');
      if (m[2] !== '%') resourceFilter ??= `urn:altinn:resource:app_${m[1]}_${m[2]}`;
    } else if (!r.resourceFilter) {
      throw new HttpError(400, 'a sourceFilter or a resourceFilter is required');
    }
    const consumer = org ? `/org/${org}` : `/org/${claims['urn:altinn:orgNumber']}`;
    const sub: Subscription = {
      id: nextId++,
      endPoint: r.endPoint,
      sourceFilter: r.sourceFilter ?? null,
      resourceFilter,
      subjectFilter: r.subjectFilter ?? null,
      alternativeSubjectFilter: r.alternativeSubjectFilter ?? null,
      typeFilter: r.typeFilter ?? null,
      consumer,
      createdBy: consumer,
      created: new Date(core.now()).toISOString(),
      validated: false,
    };
    subscriptions.set(sub.id, sub);
    sendJson(ctx.res, 201, sub, { Location: `${core.urls.platform}/events/api/v1/subscriptions/${sub.id}` });
    deliver(sub, { id: guidFrom(random), source: `${core.urls.platform}/events/api/v1/subscriptions/${sub.id}`, type: VALIDATION_EVENT_TYPE, specversion: '1.0' }, () => {
      sub.validated = true;
    });
  }

  function owned(ctx: Ctx): Subscription {
    const claims = auth.authorize(ctx, { scope: EVENTS_SCOPE });
    const sub = subscriptions.get(Number(ctx.params.id));
    if (!sub) throw new HttpError(404, 'subscription not found');
    const consumer = claims['urn:altinn:org'] ? `/org/${claims['urn:altinn:org']}` : `/org/${claims['urn:altinn:orgNumber']}`;
    if (sub.consumer !== consumer) throw new HttpError(403, 'not your subscription');
    return sub;
  }

  const routes: Route[] = [
    { name: 'events.create', method: 'POST', path: /^\/events\/api\/v1\/subscriptions$/, handle: create },
    {
      name: 'events.list',
      method: 'GET',
      path: /^\/events\/api\/v1\/subscriptions$/,
      handle: (ctx) => {
        const claims = auth.authorize(ctx, { scope: EVENTS_SCOPE });
        const consumer = claims['urn:altinn:org'] ? `/org/${claims['urn:altinn:org']}` : `/org/${claims['urn:altinn:orgNumber']}`;
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
