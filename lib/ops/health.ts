import { restrictedDataTypeReason, unknownDataTypesReason, type ApplicationCatalog } from '../altinn/applications.js';
import { ConfigError } from '../config.js';
import { QUEUES } from '../queue/names.js';
import type { Clock } from '../clock.js';
import type { Runtime } from '../runtime.js';

export interface HealthReport {
  status: 'ok' | 'unhealthy';
  /**
   * `dataTypes`: ALTINN_DATA_TYPES against the metadata of each app in ALTINN_APPS (absent when not checked).
   * `restrictedData`: selected data types of those apps with `actionRequiredToRead` (present only when there are
   * some): Storage serves them only if the app's policy grants our org that action. Reported, not unhealthy.
   */
  checks: { settings: string; storage: string; dataTypes?: string; restrictedData?: string };
}

const TIMEOUT_MS = 5_000;

/**
 * Settings valid and storage answering: what GET /api/health reports. Never includes values or connection strings.
 * With `getApplications`, also whether every ALTINN_DATA_TYPES entry is a data type of each app in ALTINN_APPS:
 * a mistyped one would poison every instance of that app.
 */
export async function checkHealth(getRuntime: () => Promise<Runtime>, getApplications?: () => Promise<ApplicationCatalog>): Promise<HealthReport> {
  let rt: Runtime;
  try {
    rt = await getRuntime();
  } catch (e) {
    return { status: 'unhealthy', checks: { settings: invalidSettings(e), storage: 'not checked' } };
  }
  // The webhook keeps queueing without Maskinporten; health still names a broken setting so someone fixes it.
  let settings = 'ok';
  try {
    rt.maskinporten();
  } catch (e) {
    settings = invalidSettings(e);
  }
  try {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    await Promise.all([
      rt.azure.blob.getContainerClient(rt.config.blobContainer).exists({ abortSignal: signal }),
      rt.azure.queue.getQueueClient(QUEUES.events).exists({ abortSignal: signal }),
    ]);
  } catch (e) {
    const reason = (e as { statusCode?: number }).statusCode ? `status ${(e as { statusCode: number }).statusCode}` : (e as Error).name;
    return { status: 'unhealthy', checks: { settings, storage: `unreachable (${reason})` } };
  }
  const healthy = settings === 'ok';
  if (!getApplications || rt.config.apps.length === 0) return { status: healthy ? 'ok' : 'unhealthy', checks: { settings, storage: 'ok' } };
  const applications = await getApplications();
  const restrictedData = await checkRestricted(rt, applications);
  const restricted = restrictedData ? { restrictedData } : {};
  if (rt.config.dataTypes.length === 0) return { status: healthy ? 'ok' : 'unhealthy', checks: { settings, storage: 'ok', ...restricted } };
  const dataTypes = await checkDataTypes(rt, applications);
  return { status: healthy && dataTypes.ok ? 'ok' : 'unhealthy', checks: { settings, storage: 'ok', dataTypes: dataTypes.text, ...restricted } };
}

/** Selected restricted data types of ALTINN_APPS, said as the processor says them (undefined: none, or not checked). */
async function checkRestricted(rt: Runtime, applications: ApplicationCatalog): Promise<string | undefined> {
  const { org, apps, dataTypes } = rt.config;
  const found = await Promise.all(
    apps.map(async (app) => {
      const restricted = await within(TIMEOUT_MS, applications.restrictedDataTypes(org, app)).catch(() => []);
      return restricted.filter((r) => dataTypes.length === 0 || dataTypes.includes(r.dataType)).map((r) => restrictedDataTypeReason(org, app, r));
    }),
  );
  const texts = found.flat();
  return texts.length > 0 ? texts.join('; ') : undefined;
}

/** Altinn out of reach is not our health problem (the processor defers): only a declared mismatch is. */
async function checkDataTypes(rt: Runtime, applications: ApplicationCatalog): Promise<{ ok: boolean; text: string }> {
  const results = await Promise.all(
    rt.config.apps.map(async (app) => {
      try {
        const unknown = await within(TIMEOUT_MS, applications.unknownDataTypes(rt.config.org, app));
        return { ok: unknown.length === 0, text: unknown.length === 0 ? '' : unknownDataTypesReason(rt.config.org, app, unknown) };
      } catch (e) {
        return { ok: true, text: `${rt.config.org}/${app} not checked (${(e as { code?: string }).code ?? (e as Error).name})` };
      }
    }),
  );
  const problems = results.filter((r) => r.text !== '');
  return { ok: results.every((r) => r.ok), text: problems.length === 0 ? 'ok' : problems.map((r) => r.text).join('; ') };
}

/** `work`, or a TimeoutError after `ms` (the work goes on and fills the cache for the next check). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long /api/health answers from its last check: it is anonymous, so its cost must not grow with its callers. */
export const HEALTH_CACHE_MS = 10_000;

/**
 * `check`, run at most once per `ttlMs`: callers within that time get the last report (with when it was
 * made), concurrent callers share the check in flight. So /api/health costs at most 2 storage transactions,
 * one key parse and (with ALTINN_APPS) one Altinn metadata request per app (two while it fails) every `ttlMs`,
 * however often it is called. A check that throws is not kept.
 */
export function cachedHealth(check: () => Promise<HealthReport>, clock: Clock, ttlMs = HEALTH_CACHE_MS): () => Promise<{ report: HealthReport; checkedAt: number }> {
  let last: { at: number; result: Promise<{ report: HealthReport; checkedAt: number }> } | undefined;
  return () => {
    const now = clock.now();
    if (last && now - last.at < ttlMs) return last.result;
    const entry = { at: now, result: check().then((report) => ({ report, checkedAt: now })) };
    entry.result.catch(() => {
      if (last === entry) last = undefined;
    });
    last = entry;
    return entry.result;
  };
}

function invalidSettings(e: unknown): string {
  return e instanceof ConfigError ? `invalid: ${[...new Set(e.problems.map((p) => p.setting))].join(', ')}` : 'invalid';
}
