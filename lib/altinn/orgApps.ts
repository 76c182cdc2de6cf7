import { z } from 'zod';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';
import type { Fetch } from '../http/fetch.js';
import { APP } from '../patterns.js';
import { getApplicationsJson } from './applications.js';

/**
 * Every app Storage lists for an org: `GET {platform}/storage/api/v1/applications/{org}` (anonymous;
 * altinn-storage src/Storage/Controllers/ApplicationsController.cs `GetMany`, which answers `{ applications: [...] }`
 * and keeps soft-deleted apps, so a retired app whose events are still within retention stays listed).
 * The feed reads this when ALTINN_APPS is empty: Altinn Events has no org-wide app feed.
 */
const listSchema = z.object({
  applications: z
    .array(z.looseObject({ id: z.string() }))
    .nullish()
    .transform((v) => v ?? []),
});

export interface OrgAppList {
  /** The org's app names, sorted; cached for `ttlMs` (a failure is not cached). */
  apps(org: string): Promise<string[]>;
}

const TTL_MS = 60 * 60_000;

export function createOrgAppList(deps: { platformUrl: string; clock: Clock; fetch?: Fetch; ttlMs?: number }): OrgAppList {
  const fetchFn = deps.fetch ?? fetch;
  const ttl = deps.ttlMs ?? TTL_MS;
  const cache = new Map<string, { at: number; apps: string[] }>();
  return {
    async apps(org) {
      const hit = cache.get(org);
      if (hit && deps.clock.now() - hit.at < ttl) return hit.apps;
      const parsed = listSchema.safeParse(await getApplicationsJson(fetchFn, deps.platformUrl, `/${encodeURIComponent(org)}`));
      if (!parsed.success) throw new ReceiverError(`Storage returned no application list for ${org}`, { code: 'altinn-application-invalid', retryable: true });
      // `{org}/{app}`; anything else (another org, a malformed id) is not an app we could ask Events about.
      const apps = [...new Set(parsed.data.applications.flatMap((a) => {
        const [o, app, ...rest] = a.id.split('/');
        return o === org && app && rest.length === 0 && APP.test(app) ? [app] : [];
      }))].sort();
      cache.set(org, { at: deps.clock.now(), apps });
      return apps;
    },
  };
}
