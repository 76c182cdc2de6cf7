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
    .array(z.looseObject({ id: z.string().min(1), actionRequiredToRead: z.string().nullish() }))
    .nullish()
    .transform((v) => v ?? []),
});
type DeclaredType = z.infer<typeof applicationSchema>['dataTypes'][number];

/** A data type whose elements Storage serves only to who may perform `action` on the instance (restricted data). */
export interface RestrictedDataType {
  dataType: string;
  action: string;
}

export interface ApplicationCatalog {
  /** ALTINN_DATA_TYPES entries `org/app` does not declare (empty: all known, or no selection). */
  unknownDataTypes(org: string, app: string): Promise<string[]>;
  /**
   * The app's data types with `actionRequiredToRead`: Storage's DataController `Get` answers 403
   * (`DataTypeExtensions.CanRead`) unless the app's policy lets our org perform that action.
   */
  restrictedDataTypes(org: string, app: string): Promise<RestrictedDataType[]>;
}

const TTL_MS = 5 * 60_000;
const TIMEOUT_MS = 30_000;

/** Cached per app for a few minutes, so a redeploy that adds a type is seen without a restart; failures are not cached. */
export function createApplicationCatalog(deps: { platformUrl: string; dataTypes: string[]; clock: Clock; fetch?: Fetch; ttlMs?: number }): ApplicationCatalog {
  const fetchFn = deps.fetch ?? fetch;
  const ttl = deps.ttlMs ?? TTL_MS;
  const cache = new Map<string, { at: number; declared: Promise<DeclaredType[]> }>();

  async function load(org: string, app: string): Promise<DeclaredType[]> {
    const body = await getApplicationsJson(fetchFn, deps.platformUrl, `/${encodeURIComponent(org)}/${encodeURIComponent(app)}`);
    const parsed = applicationSchema.safeParse(body);
    if (!parsed.success) {
      throw new ReceiverError(`Storage returned application metadata of ${org}/${app} without dataTypes`, { code: 'altinn-application-invalid', retryable: true });
    }
    return parsed.data.dataTypes;
  }

  const declaredTypes = (org: string, app: string): Promise<DeclaredType[]> => {
    const key = `${org}/${app}`;
    const now = deps.clock.now();
    let hit = cache.get(key);
    if (!hit || now - hit.at >= ttl) {
      const entry = { at: now, declared: load(org, app) };
      entry.declared.catch(() => cache.get(key) === entry && cache.delete(key));
      cache.set(key, entry);
      hit = entry;
    }
    return hit.declared;
  };

  return {
    async unknownDataTypes(org, app) {
      if (deps.dataTypes.length === 0) return [];
      const declared = new Set((await declaredTypes(org, app)).map((d) => d.id));
      return deps.dataTypes.filter((t) => !declared.has(t));
    },
    async restrictedDataTypes(org, app) {
      const declared = await declaredTypes(org, app);
      return declared.flatMap((d) => (d.actionRequiredToRead?.trim() ? [{ dataType: d.id, action: d.actionRequiredToRead.trim() }] : []));
    },
  };
}

/** What the processor and health say about a restricted data type: a configuration problem, with the two ways out. */
export function restrictedDataTypeReason(org: string, app: string, r: RestrictedDataType): string {
  return `data type ${r.dataType} of app ${org}/${app} is restricted (actionRequiredToRead: ${r.action}): Storage serves it only if the app's policy lets org ${org} perform "${r.action}" (grant that, or leave ${r.dataType} out of ALTINN_DATA_TYPES)`;
}

/**
 * GET `{platform}/storage/api/v1/applications{rest}` (anonymous in Storage) as parsed JSON (undefined when the body
 * is not JSON); a status other than 2xx throws `altinn-http-<status>`, retryable when transient.
 */
export async function getApplicationsJson(fetchFn: Fetch, platformUrl: string, rest: string): Promise<unknown> {
  const path = `/storage/api/v1/applications${rest}`;
  const res = await fetchOrThrow(fetchFn, `${platformUrl}${path}`, { headers: { accept: 'application/json' } }, {
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
  return res.json().catch(() => undefined);
}

/** The poison / health reason for data types an app does not declare. */
export function unknownDataTypesReason(org: string, app: string, unknown: string[]): string {
  return `ALTINN_DATA_TYPES names ${unknown.join(', ')}, which app ${org}/${app} does not declare in its metadata: fix the setting (or the app)`;
}
