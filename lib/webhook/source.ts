import { instanceRefSchema, type InstanceRef } from '../queue/messages.js';
import { LOWER_CASE_GUID } from '../patterns.js';

/**
 * Never follow the event's URL (docs/processing.md, Webhook): an event's `source` is parsed as a plain string, without
 * URL normalisation (which would silently turn `..`, `%2e`, a trailing dot, upper case or a default port
 * into something that looks fine). Only the exact canonical form Altinn writes is accepted:
 * `{appsOrigin}/{org}/{app}/instances/{partyId}/{instanceGuid}`. Callers get the validated parts;
 * the URL itself is never passed on.
 */

export type SourceResult = { ok: true; ref: InstanceRef } | { ok: false; reason: string };

/** Stricter than the message schema, so one instance has one spelling. Party ids are positive integers; no leading zero. */
const PARTY_ID = /^[1-9]\d{0,17}$/;

export interface SourceRules {
  /** scheme://host[:port] of our org's apps, e.g. https://ttd.apps.altinn.no (config.altinn.appsOrigin). */
  appsOrigin: string;
  org: string;
}

export function parseInstanceSource(source: string, rules: SourceRules): SourceResult {
  const prefix = `${rules.appsOrigin}/`;
  // Exact prefix: any other scheme, host, case, port, userinfo (`@`) or trailing dot fails here.
  if (!rules.appsOrigin || !source.startsWith(prefix)) {
    return { ok: false, reason: `source is not under the apps origin ${rules.appsOrigin}` };
  }
  const segments = source.slice(prefix.length).split('/');
  if (segments.length !== 5) {
    return { ok: false, reason: 'source path is not /{org}/{app}/instances/{partyId}/{instanceGuid}' };
  }
  const [org, app, instances, partyId, instanceGuid] = segments as [string, string, string, string, string];
  // Each segment is matched whole, so `?`, `#`, `%`, `.`, `\` and non-ASCII characters never pass.
  if (org !== rules.org) return { ok: false, reason: `source path org is not ${rules.org}` };
  if (!instanceRefSchema.shape.app.safeParse(app).success) return { ok: false, reason: 'source path app is not an app name' };
  if (instances !== 'instances') return { ok: false, reason: 'source path is not an instance URL' };
  if (!PARTY_ID.test(partyId)) return { ok: false, reason: 'source partyId is not a number' };
  if (!LOWER_CASE_GUID.test(instanceGuid)) return { ok: false, reason: 'source instance id is not a lower-case GUID' };
  return { ok: true, ref: { org, app, partyId, instanceGuid } };
}
