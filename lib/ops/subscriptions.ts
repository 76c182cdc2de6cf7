import { z } from 'zod';
import type { AltinnHttp } from '../altinn/http.js';
import type { CoreConfig } from '../config.js';

/**
 * What Altinn Events should hold for us (each app in ALTINN_APPS × each type in ALTINN_EVENT_TYPES, to our
 * webhook), compared with what it has: `altinn-receiver subscriptions check` and the monitor use this one check.
 */

/** A subscription as the Events API returns it; tolerant of fields it may add. */
export const subscriptionSchema = z.looseObject({
  id: z.union([z.number().int(), z.string().regex(/^\d+$/).transform(Number)]),
  endPoint: z.string().nullish(),
  sourceFilter: z.string().nullish(),
  resourceFilter: z.string().nullish(),
  typeFilter: z.string().nullish(),
  subjectFilter: z.string().nullish(),
  consumer: z.string().nullish(),
  created: z.string().nullish(),
  validated: z.boolean().optional(),
});
export type Subscription = z.infer<typeof subscriptionSchema>;
export const subscriptionListSchema = z.looseObject({ subscriptions: z.array(subscriptionSchema).nullish() });

export const subscriptionsUrl = (config: Pick<CoreConfig, 'altinn'>) => `${config.altinn.platformUrl}/events/api/v1/subscriptions`;

/** The app resource Altinn Events files an app's events under, and the filter form its subscriptions take. */
export const appResource = (org: string, app: string) => `urn:altinn:resource:app_${org}_${app}`;

/**
 * Altinn Events caches the subscriptions matching each (resource, subject, type) for
 * SubscriptionCachingLifetimeInSeconds = 3600 (altinn-events src/Events/Repository/SubscriptionRepositoryCachingDecorator.cs,
 * src/Events/appsettings.json): a new subscription may get no events, and a deleted one may still get them, for up to an hour.
 */
export const SUBSCRIPTION_CACHE_SECONDS = 3600;
export const CACHE_NOTE =
  'Altinn Events caches which subscriptions match an event for up to an hour (SubscriptionCachingLifetimeInSeconds = 3600): ' +
  'until then events may still go by the old subscriptions. The feed and the reconciler find what is completed meanwhile.';

export type DriftKind = 'missing' | 'not-exact' | 'empty-filter' | 'prefix-overlap' | 'not-validated' | 'duplicate' | 'stale-endpoint';
export const DRIFT_KINDS: readonly DriftKind[] = ['missing', 'not-exact', 'empty-filter', 'prefix-overlap', 'not-validated', 'duplicate', 'stale-endpoint'];

export interface Drift {
  kind: DriftKind;
  /** The subscription concerned; absent for `missing`. */
  id?: number;
  app?: string;
  type?: string;
  message: string;
}

export interface SubscriptionCheck {
  /** The webhook compared against (origin and path: the function key is not compared and never shown). */
  endpoint: string;
  /** (app, type) pairs that should exist; empty when ALTINN_APPS is empty (every app: nothing to expect). */
  expected: { app: string; type: string; resource: string; ids: number[] }[];
  drift: Drift[];
  /** Subscriptions of the org that are not ours and not a receiver's: other systems', left alone. */
  others: number[];
}

export type CheckInput = Pick<CoreConfig, 'org' | 'apps' | 'eventTypes' | 'altinn'>;

/** Origin and path, without query (the function key) or a trailing slash. */
export function endpointKey(raw: string | null | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/** The app a subscription filters on, from its resourceFilter or else its sourceFilter `{apps origin}/{org}/{app}`. */
function appOf(sub: Subscription, config: CheckInput): string | undefined {
  const prefix = `urn:altinn:resource:app_${config.org}_`;
  const resource = sub.resourceFilter?.toLowerCase();
  if (resource?.startsWith(prefix)) return resource.slice(prefix.length);
  const source = sub.sourceFilter ? `${sub.sourceFilter}`.replace(/\/+$/, '') : undefined;
  const base = `${config.altinn.appsOrigin}/${config.org}/`;
  return source?.startsWith(base) ? source.slice(base.length) : undefined;
}

/** Problems of one subscription to our webhook, given the apps we process. */
function subscriptionDrift(sub: Subscription, config: CheckInput): Drift[] {
  const found: Drift[] = [];
  const app = appOf(sub, config);
  const at = { id: sub.id, app, type: sub.typeFilter ?? undefined };
  const exact = app ? appResource(config.org, app) : undefined;
  if (!sub.resourceFilter && !sub.sourceFilter) found.push({ kind: 'empty-filter', ...at, message: `subscription ${sub.id} has no resource filter: it gets events of every resource` });
  else if (sub.resourceFilter !== exact) {
    found.push({ kind: 'not-exact', ...at, message: `subscription ${sub.id} filters on ${JSON.stringify(sub.resourceFilter ?? sub.sourceFilter)}, not exactly ${exact ?? `an app resource of ${config.org}`}` });
  }
  if (!sub.typeFilter) found.push({ kind: 'empty-filter', ...at, message: `subscription ${sub.id} has no type filter: every event type of ${app ?? 'its resource'} reaches the webhook` });
  // Altinn has matched a sourceFilter as a prefix of the event's source (altinn-studio#8312): `…/ttd/skjema` also got `…/ttd/skjema-v2`.
  const source = sub.sourceFilter?.replace(/\/+$/, '');
  const overlapped = source ? config.apps.filter((other) => other !== app && `${config.altinn.appsOrigin}/${config.org}/${other}`.startsWith(source)) : [];
  if (overlapped.length > 0) {
    found.push({ kind: 'prefix-overlap', ...at, message: `subscription ${sub.id}'s sourceFilter ${source} is a prefix of ${overlapped.join(', ')}'s source: Altinn has matched it by prefix (altinn-studio#8312); recreate it with a resourceFilter` });
  }
  if (sub.validated !== true) found.push({ kind: 'not-validated', ...at, message: `subscription ${sub.id} is not validated: Altinn sends it no events` });
  if (app && config.apps.length > 0 && !config.apps.includes(app)) {
    found.push({ kind: 'not-exact', ...at, message: `subscription ${sub.id} is for app ${app}, which is not in ALTINN_APPS: its events are ignored` });
  }
  if (sub.typeFilter && !config.eventTypes.includes(sub.typeFilter)) {
    found.push({ kind: 'not-exact', ...at, message: `subscription ${sub.id} is for ${sub.typeFilter}, which is not in ALTINN_EVENT_TYPES: its events are ignored` });
  }
  return found;
}

/** Compare the org's subscriptions with what `config` and `endpoint` (our webhook's URL) call for. */
export function checkSubscriptions(config: CheckInput, endpoint: string, subs: readonly Subscription[]): SubscriptionCheck {
  const ours = endpointKey(endpoint) ?? endpoint;
  const ourHost = new URL(ours).host;
  const mine = subs.filter((s) => endpointKey(s.endPoint) === ours);
  const drift = mine.flatMap((s) => subscriptionDrift(s, config));
  const expected = config.apps.flatMap((app) =>
    config.eventTypes.map((type) => {
      const resource = appResource(config.org, app);
      const ids = mine.filter((s) => s.resourceFilter === resource && s.typeFilter === type).map((s) => s.id);
      return { app, type, resource, ids };
    }),
  );
  for (const e of expected) {
    if (e.ids.length === 0) drift.push({ kind: 'missing', app: e.app, type: e.type, message: `no subscription sends ${e.type} of ${e.app} to the webhook (subscriptions create --app ${e.app} --type ${e.type})` });
    for (const id of e.ids.slice(1)) drift.push({ kind: 'duplicate', id, app: e.app, type: e.type, message: `subscription ${id} repeats subscription ${e.ids[0]}: each event arrives twice` });
  }
  const others: number[] = [];
  for (const s of subs.filter((x) => !mine.includes(x))) {
    const key = endpointKey(s.endPoint);
    // Another path on our host, or a receiver's path elsewhere: an earlier deployment of this receiver.
    const receiverLike = key !== undefined && (new URL(key).host === ourHost || new URL(key).pathname === '/api/events');
    const app = appOf(s, config);
    if (receiverLike && app !== undefined && (config.apps.length === 0 || config.apps.includes(app))) {
      drift.push({ kind: 'stale-endpoint', id: s.id, app, type: s.typeFilter ?? undefined, message: `subscription ${s.id} sends ${app}'s events to ${key}, not to the webhook ${ours}: an old deployment? (subscriptions delete ${s.id})` });
    } else others.push(s.id);
  }
  return { endpoint: ours, expected, drift, others };
}

/** The org's subscriptions from Altinn Events (unvalidated ones included). */
export async function listSubscriptions(http: AltinnHttp, config: Pick<CoreConfig, 'altinn'>): Promise<Subscription[]> {
  const res = await http.request(subscriptionsUrl(config), { headers: { accept: 'application/json' } });
  return subscriptionListSchema.parse(await res.json()).subscriptions ?? [];
}

/** The monitor's view: checked against WEBHOOK_URL, or why not. */
export type SubscriptionWatch = { checked: true; check: SubscriptionCheck } | { checked: false; why: string; failed: boolean };

export async function watchSubscriptions(config: CheckInput & Pick<CoreConfig, 'monitor'>, http: () => Promise<AltinnHttp>): Promise<SubscriptionWatch> {
  const endpoint = config.monitor.webhookUrl;
  if (!endpoint) return { checked: false, why: 'WEBHOOK_URL is not set', failed: false };
  try {
    return { checked: true, check: checkSubscriptions(config, endpoint, await listSubscriptions(await http(), config)) };
  } catch (e) {
    return { checked: false, why: `could not list the subscriptions: ${(e as Error).message}`, failed: true };
  }
}

/** The monitor line's subscription fields (always present; null when not checked) and its problems. */
export function subscriptionFields(watch: SubscriptionWatch) {
  const drift = watch.checked ? watch.check.drift : [];
  return {
    fields: {
      subscriptionsChecked: watch.checked,
      subscriptionDrift: watch.checked ? drift.length : null,
      subscriptionDriftKinds: [...new Set(drift.map((d) => d.kind))],
      subscriptionsNotChecked: watch.checked ? null : watch.why,
    },
    problems: watch.checked ? drift.map((d) => `subscription drift (${d.kind}): ${d.message}`) : watch.failed ? [`subscriptions not checked: ${watch.why}`] : [],
  };
}
