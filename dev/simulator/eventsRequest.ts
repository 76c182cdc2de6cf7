import { z } from 'zod';
import { appResource } from '../../cli/eventsValidation.js';
import { isLoopbackHost } from '../../lib/http/net.js';
import type { AltinnTokenClaims } from './authentication.js';
import type { Core } from './core.js';
import { HttpError } from './http.js';

const EVENTS_SCOPE = 'altinn:events.subscribe';
/** The prefix that makes a subscription an app subscription (altinn-events PlatformSettings.AppResourcePrefix). */
const APP_RESOURCE_PREFIX = 'urn:altinn:resource:app_';

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

/**
 * altinn-events SubscriptionController.IsValidUri (#1052): absolute and `https`. The simulator's dev-only allowance
 * (`core.httpLoopback`, default on) also takes `http` to a loopback host: local webhooks and the simulated apps listen there.
 */
function isValidUri(core: Core, u: URL | undefined): u is URL {
  return u !== undefined && (u.protocol === 'https:' || (core.httpLoopback && u.protocol === 'http:' && isLoopbackHost(u.hostname)));
}

/** A subscription request's body, parsed as ASP.NET binds it, or a 400. */
export function parseSubscriptionRequest(body: unknown): z.infer<typeof requestSchema> {
  const parsed = requestSchema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

/**
 * A subscription request checked as altinn-events does (see `create` in eventsSubscriptions.ts): the filters to
 * store, or an HttpError.
 */
export function subscriptionRequest(core: Core, claims: AltinnTokenClaims, r: z.infer<typeof requestSchema>) {
  // The controller's order: endpoint, then source filter, then the scope.
  const endpoint = r.endPoint ? wellFormedAbsolute(r.endPoint) : undefined;
  if (!isValidUri(core, endpoint)) throw new HttpError(400, 'Missing or invalid endpoint to push events towards');
  const source = r.sourceFilter ? wellFormedAbsolute(r.sourceFilter) : undefined;
  if (r.sourceFilter && !isValidUri(core, source)) throw new HttpError(400, 'SourceFilter must be an absolute URL with the https scheme.');
  const isApp = r.resourceFilter
    ? r.resourceFilter.toLowerCase().startsWith(APP_RESOURCE_PREFIX)
    : source !== undefined && source.hostname.endsWith(new URL(core.urls.apps).hostname);
  if (!isApp && !claims.scope.split(' ').includes(EVENTS_SCOPE)) throw new HttpError(403, `the token lacks the scope ${EVENTS_SCOPE}`);
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
