import { z } from 'zod';
import { errorBodySnippet, fetchOrThrow, isTransientStatus, type Fetch } from '../http/fetch.js';
import type { Clock } from '../clock.js';
import { ReceiverError } from '../errors.js';

/**
 * An app's metadata as Storage serves it (`GET {platform}/storage/api/v1/applications/{org}/{app}`,
 * anonymous: altinn-storage src/Storage/Controllers/ApplicationsController.cs `GetOne`, 404 when the
 * app was never deployed). Only the data type ids are read; a retired app keeps its metadata.
 */
const applicationSchema = z.looseObject({
  id: z.string(),
  dataTypes: z
    .array(z.looseObject({ id: z.string().min(1) }))
    .nullish()
    .transform((v) => v ?? []),
});

export interface ApplicationCatalog {
  /** ALTINN_DATA_TYPES entries `org/app` does not declare (empty: all known, or no selection). */
  unknownDataTypes(org: string, app: string): Promise<string[]>;
}

const TTL_MS = 5 * 60_000;
const TIMEOUT_MS = 30_000;

/** Cached per app for a few minutes, so a redeploy that adds a type is seen without a restart; failures are not cached. */
export function createApplicationCatalog(deps: { platformUrl: string; dataTypes: string[]; clock: Clock; fetch?: Fetch; ttlMs?: number }): ApplicationCatalog {
  const fetchFn = deps.fetch ?? fetch;
  const ttl = deps.ttlMs ?? TTL_MS;
  const cache = new Map<string, { at: number; declared: Promise<Set<string>> }>();

  async function load(org: string, app: string): Promise<Set<string>> {
    const path = `/storage/api/v1/applications/${encodeURIComponent(org)}/${encodeURIComponent(app)}`;
    const res = await fetchOrThrow(fetchFn, `${deps.platformUrl}${path}`, { headers: { accept: 'application/json' } }, {
      code: 'altinn-unreachable',
      redirectCode: 'altinn-redirect',
      label: `Altinn Storage (GET ${path})`,
      timeoutMs: TIMEOUT_MS,
    });
    if (!res.ok) {
      const said = await errorBodySnippet(res);
      throw new ReceiverError(`Altinn answered ${res.status} to GET ${path}${said ? `: ${said}` : ''}`, {
        code: `altinn-http-${res.status}`,
        status: res.status,
        retryable: isTransientStatus(res.status),
      });
    }
    const parsed = applicationSchema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ReceiverError(`Storage returned application metadata of ${org}/${app} without dataTypes`, { code: 'altinn-application-invalid', retryable: true });
    }
    return new Set(parsed.data.dataTypes.map((d) => d.id));
  }

  return {
    async unknownDataTypes(org, app) {
      if (deps.dataTypes.length === 0) return [];
      const key = `${org}/${app}`;
      const now = deps.clock.now();
      let hit = cache.get(key);
      if (!hit || now - hit.at >= ttl) {
        const entry = { at: now, declared: load(org, app) };
        entry.declared.catch(() => cache.get(key) === entry && cache.delete(key));
        cache.set(key, entry);
        hit = entry;
      }
      const declared = await hit.declared;
      return deps.dataTypes.filter((t) => !declared.has(t));
    },
  };
}

/** The poison / health reason for data types an app does not declare. */
export function unknownDataTypesReason(org: string, app: string, unknown: string[]): string {
  return `ALTINN_DATA_TYPES names ${unknown.join(', ')}, which app ${org}/${app} does not declare in its metadata: fix the setting (or the app)`;
}
