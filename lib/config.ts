import { z } from 'zod';
import { isLoopbackHost } from './http/net.js';
import { APP, EVENT_TYPE, ISO_DURATION, ORG } from './patterns.js';
import { parseStorageConnection, type StorageConnection } from './azure/storageConnection.js';

/**
 * Every setting of docs/configuration.md, validated once at start-up. Nothing else in the code reads
 * process.env: callers get the typed `Config` below.
 */

const PRESETS = {
  tt02: {
    maskinportenUrl: 'https://test.maskinporten.no',
    platformUrl: 'https://platform.tt02.altinn.no',
    appsUrl: 'https://{org}.apps.tt02.altinn.no',
  },
  production: {
    maskinportenUrl: 'https://maskinporten.no',
    platformUrl: 'https://platform.altinn.no',
    appsUrl: 'https://{org}.apps.altinn.no',
  },
} as const;

const DEFAULT_SCOPES = 'altinn:serviceowner/instances.read altinn:serviceowner/instances.write';
export const DEFAULT_EVENT_TYPES = 'app.instance.process.completed';

/** Settings whose values must never be echoed, not even partly. */
export const SECRET_SETTINGS = ['MASKINPORTEN_KEY', 'MASKINPORTEN_CERTIFICATE', 'AzureWebJobsStorage'] as const;

const DATA_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CONTAINER = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** NCRONTAB: six fields (seconds first), as the Functions timer trigger takes them. */
const NCRONTAB = /^\S+ \S+ \S+ \S+ \S+ \S+$/;

/** An unset setting and an empty one mean the same: the default. */
const optional = <T extends z.ZodType>(s: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), s.optional());

const required = (name: string) => z.string({ error: `${name} is required` }).trim().min(1, `${name} is required`);

/** Comma list; every entry must match `re`. Empty means "none given". */
function commaList(what: string, re: RegExp) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return [];
      const items = v.split(',').map((s) => s.trim());
      const bad = items.filter((s) => !re.test(s));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `every entry must be a ${what} (comma-separated, no empty entries); bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}`,
        });
        return z.NEVER;
      }
      return [...new Set(items)];
    });
}

/** An absolute http(s) base URL: https, or http for a loopback host; no query, fragment or credentials. */
function baseUrl(allowTemplate: boolean) {
  return z.string().transform((raw, ctx) => {
    const probe = allowTemplate ? raw.replaceAll('{org}', 'org') : raw;
    let u: URL;
    try {
      u = new URL(probe);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      return z.NEVER;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      ctx.addIssue({ code: 'custom', message: 'must use https' });
      return z.NEVER;
    }
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
      ctx.addIssue({ code: 'custom', message: 'must use https (plain http is accepted only for loopback hosts)' });
      return z.NEVER;
    }
    if (u.username || u.password || u.search || u.hash) {
      ctx.addIssue({ code: 'custom', message: 'must not contain credentials, a query or a fragment' });
      return z.NEVER;
    }
    if (allowTemplate && u.pathname !== '/') {
      ctx.addIssue({ code: 'custom', message: 'must be an origin without a path, e.g. https://{org}.apps.tt02.altinn.no' });
      return z.NEVER;
    }
    return raw.replace(/\/+$/, '');
  });
}

const intInRange = (min: number, max: number, dflt: number) =>
  optional(z.string())
    .transform((v, ctx) => {
      if (v === undefined) return dflt;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return Number(v);
    });

const bool = (dflt: boolean) =>
  optional(z.string()).transform((v, ctx) => {
    if (v === undefined) return dflt;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const keyShape = z
  .string({ error: 'MASKINPORTEN_KEY is required' })
  .trim()
  .min(1, 'MASKINPORTEN_KEY is required')
  .refine(
    (v) => /^-----BEGIN (RSA )?PRIVATE KEY-----/.test(v) || (v.startsWith('{') && v.includes('"kty"')),
    'must be a PEM private key (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") or a JWK (JSON)',
  );

const altinnEnv = optional(z.enum(['tt02', 'production', 'custom'], { error: 'must be tt02, production or custom' })).transform((v) => v ?? 'tt02');

/** What the webhook, health, queues and storage need: no secret of Altinn's. */
const coreSchema = z.object({
  ALTINN_ENV: altinnEnv,
  ALTINN_ORG: required('ALTINN_ORG').regex(ORG, 'must be an Altinn org code: lower-case letters and digits, e.g. ttd'),
  ALTINN_APPS: commaList('lower-case app name', APP),
  ALTINN_EVENT_TYPES: commaList('event type such as app.instance.process.completed', EVENT_TYPE),
  ALTINN_DATA_TYPES: commaList('data type id', DATA_TYPE),
  ALTINN_SUBSTATUS_LABEL: optional(z.string().max(256, 'must be at most 256 characters')),
  ALTINN_PLATFORM_URL: optional(baseUrl(false)),
  ALTINN_APPS_URL: optional(baseUrl(true)),
  BLOB_CONTAINER: optional(z.string().regex(CONTAINER, 'must be a valid blob container name (3-63 lower-case letters, digits, single hyphens)')),
  DOWNLOAD_CONCURRENCY: intInRange(1, 64, 4),
  CONFIRM_ON_INFECTED: bool(false),
  DEFER_HORIZON_HOURS: intInRange(1, 720, 48),
  DEFER_BASE_SECONDS: intInRange(1, 900, 30),
  SETTLE_SECONDS: intInRange(0, 3600, 60),
  HEAL_WINDOW_MINUTES: intInRange(0, 2880, 180),
  RECONCILE_SCHEDULE: optional(z.string().regex(NCRONTAB, 'must be an NCRONTAB expression with six fields, e.g. "0 */15 * * * *"')),
  RECONCILE_SINCE: optional(z.string().regex(ISO_DURATION, 'must be an ISO 8601 duration, e.g. P30D')),
  RECONCILE_PAGE_SIZE: intInRange(2, 1000, 100),
  RECONCILE_WINDOW: optional(z.string().regex(ISO_DURATION, 'must be an ISO 8601 duration, e.g. P1D')),
  RECONCILE_MAX_PAGES: intInRange(1, 100_000, 500),
  RECONCILE_MAX_SECONDS: intInRange(10, 3600, 240),
  MONITOR_SCHEDULE: optional(z.string().regex(NCRONTAB, 'must be an NCRONTAB expression with six fields, e.g. "0 */5 * * * *"')),
  WEBHOOK_URL: optional(baseUrl(false)),
  UNCONFIRMED_LIMIT_MINUTES: intInRange(1, 10_080, 60),
  FEED_ENABLED: bool(true),
  FEED_SCHEDULE: optional(z.string().regex(NCRONTAB, 'must be an NCRONTAB expression with six fields, e.g. "0 */5 * * * *"')),
  // Altinn Events deletes events 90 days after they were registered (altinn-events Migration/v0.21/03-setup-cron-job.sql).
  FEED_LOOKBACK_HOURS: intInRange(1, 90 * 24, 48),
  FEED_PAGE_SIZE: intInRange(1, 1000, 100),
  FEED_MIN_AGE_SECONDS: intInRange(0, 3600, 300),
});

/** What only calls to Altinn need (the processor, the reconciler, the CLI's Altinn commands). */
const maskinportenSchema = z.object({
  ALTINN_ENV: altinnEnv,
  MASKINPORTEN_CLIENT_ID: required('MASKINPORTEN_CLIENT_ID').regex(/^[\w.:-]{1,200}$/, 'must be a Maskinporten client id'),
  MASKINPORTEN_SCOPES: optional(z.string().regex(/^[\w.:/-]+( [\w.:/-]+)*$/, 'must be space-separated scopes')),
  MASKINPORTEN_KEY: keyShape,
  MASKINPORTEN_KID: optional(z.string().max(200, 'must be at most 200 characters')),
  MASKINPORTEN_CERTIFICATE: optional(
    z.string().refine((v) => v.includes('-----BEGIN CERTIFICATE-----'), 'must be a PEM certificate chain'),
  ),
  MASKINPORTEN_CONSUMER_ORG: optional(z.string().regex(/^\d{9}$/, 'must be a 9-digit organisation number')),
  MASKINPORTEN_ALG: optional(z.enum(['RS256', 'RS384', 'RS512'], { error: 'must be RS256, RS384 or RS512' })),
  MASKINPORTEN_URL: optional(baseUrl(false)),
  TOKEN_REFRESH_MARGIN_SECONDS: intInRange(0, 3600, 60),
});

/** Every setting name the schema reads (the storage connection aside: see azure/storageConnection.ts). */
export const SETTING_NAMES = [...new Set([...Object.keys(coreSchema.shape), ...Object.keys(maskinportenSchema.shape)])] as (
  | keyof typeof coreSchema.shape
  | keyof typeof maskinportenSchema.shape
)[];

/** One bad setting: its name and what is wrong (never its value). */
export interface SettingProblem {
  setting: string;
  message: string;
}

type Problems = (setting: string, message: string) => void;

function buildCore(raw: z.output<typeof coreSchema>, storage: StorageConnection, problem: Problems) {
  const preset = raw.ALTINN_ENV === 'custom' ? undefined : PRESETS[raw.ALTINN_ENV];
  const platformUrl = raw.ALTINN_PLATFORM_URL ?? preset?.platformUrl;
  const appsUrl = raw.ALTINN_APPS_URL ?? preset?.appsUrl;
  if (!platformUrl) problem('ALTINN_PLATFORM_URL', 'is required when ALTINN_ENV=custom');
  if (!appsUrl) problem('ALTINN_APPS_URL', 'is required when ALTINN_ENV=custom');
  const appsOrigin = appsUrl?.replaceAll('{org}', raw.ALTINN_ORG) ?? '';
  return {
    /** ALTINN_ENV: which preset supplies the Altinn and Maskinporten URLs. */
    env: raw.ALTINN_ENV,
    /** ALTINN_ORG: our Altinn org code; events, instances and tokens of any other org are refused. */
    org: raw.ALTINN_ORG,
    /** ALTINN_APPS: the apps processed (empty: every app of the org). */
    apps: raw.ALTINN_APPS,
    /** ALTINN_EVENT_TYPES: the event types that start a download. */
    eventTypes: raw.ALTINN_EVENT_TYPES.length > 0 ? raw.ALTINN_EVENT_TYPES : [DEFAULT_EVENT_TYPES],
    /** ALTINN_DATA_TYPES: the data types downloaded (empty: all). */
    dataTypes: raw.ALTINN_DATA_TYPES,
    /** ALTINN_SUBSTATUS_LABEL: set on the instance after it is confirmed (unset: no substatus). */
    substatusLabel: raw.ALTINN_SUBSTATUS_LABEL,
    altinn: {
      /** ALTINN_PLATFORM_URL or the preset's: authentication, Storage, Events. */
      platformUrl: platformUrl ?? '',
      /** ALTINN_APPS_URL or the preset's, with `{org}` still in it. */
      appsUrlTemplate: appsUrl ?? '',
      /** Origin (scheme://host[:port]) of this org's apps, e.g. https://ttd.apps.tt02.altinn.no. */
      appsOrigin: appsOrigin ? new URL(appsOrigin).origin : '',
    },
    /** AzureWebJobsStorage: the Azure Storage account of the blobs and queues. */
    storage,
    /** BLOB_CONTAINER: where instances are written. */
    blobContainer: raw.BLOB_CONTAINER ?? 'altinn-instances',
    /** DOWNLOAD_CONCURRENCY: data elements of one instance downloaded at once. */
    downloadConcurrency: raw.DOWNLOAD_CONCURRENCY,
    /** CONFIRM_ON_INFECTED: confirm an instance even when an element is Infected (never downloaded). */
    confirmOnInfected: raw.CONFIRM_ON_INFECTED,
    /** DEFER_HORIZON_HOURS: how long a message is deferred through transient trouble before it is poisoned. */
    deferHorizonHours: raw.DEFER_HORIZON_HOURS,
    /** DEFER_BASE_SECONDS: the first deferral's delay without a Retry-After; doubled per deferral. */
    deferBaseSeconds: raw.DEFER_BASE_SECONDS,
    /** SETTLE_SECONDS: an instance is read for confirmation no earlier than this after its process ended (the app's end-of-process handlers may still add data). */
    settleSeconds: raw.SETTLE_SECONDS,
    /** HEAL_WINDOW_MINUTES: how long Storage's 403/404 on an instance or element is deferred (it may heal) before the message is poisoned; 0 poisons at once. */
    healWindowMinutes: raw.HEAL_WINDOW_MINUTES,
    /**
     * RECONCILE_SCHEDULE (NCRONTAB), RECONCILE_SINCE (ISO 8601 duration; unset: no lower bound), the
     * query's page size, its first window span (ISO 8601 duration; unset: the whole range) and the
     * per-app caps of one run (pages, seconds).
     */
    reconcile: {
      schedule: raw.RECONCILE_SCHEDULE ?? '0 */15 * * * *',
      since: raw.RECONCILE_SINCE,
      pageSize: raw.RECONCILE_PAGE_SIZE,
      window: raw.RECONCILE_WINDOW,
      maxPages: raw.RECONCILE_MAX_PAGES,
      maxSeconds: raw.RECONCILE_MAX_SECONDS,
    },
    /**
     * MONITOR_SCHEDULE (NCRONTAB); WEBHOOK_URL: the webhook's public URL without the key, which the subscriptions
     * should point at (unset: not checked); UNCONFIRMED_LIMIT_MINUTES: the oldest completed-but-unconfirmed
     * instance allowed before `status --check` and the alert complain.
     */
    monitor: { schedule: raw.MONITOR_SCHEDULE ?? '0 */5 * * * *', webhookUrl: raw.WEBHOOK_URL, unconfirmedLimitSeconds: raw.UNCONFIRMED_LIMIT_MINUTES * 60 },
    /**
     * The Altinn Events feed timer: FEED_ENABLED, FEED_SCHEDULE (NCRONTAB), FEED_LOOKBACK_HOURS (where a first run
     * starts), FEED_PAGE_SIZE (events per request), FEED_MIN_AGE_SECONDS (events younger than this wait for the next run).
     */
    feed: {
      enabled: raw.FEED_ENABLED,
      schedule: raw.FEED_SCHEDULE ?? '0 */5 * * * *',
      lookbackHours: raw.FEED_LOOKBACK_HOURS,
      pageSize: raw.FEED_PAGE_SIZE,
      minAgeSeconds: raw.FEED_MIN_AGE_SECONDS,
    },
  };
}

function buildMaskinporten(raw: z.output<typeof maskinportenSchema>, problem: Problems) {
  const url = raw.MASKINPORTEN_URL ?? (raw.ALTINN_ENV === 'custom' ? undefined : PRESETS[raw.ALTINN_ENV].maskinportenUrl);
  if (!url) problem('MASKINPORTEN_URL', 'is required when ALTINN_ENV=custom');
  if (!raw.MASKINPORTEN_KID && !raw.MASKINPORTEN_CERTIFICATE) {
    problem('MASKINPORTEN_KID', 'set MASKINPORTEN_KID or MASKINPORTEN_CERTIFICATE');
  }
  if (raw.MASKINPORTEN_KID && raw.MASKINPORTEN_CERTIFICATE) {
    problem('MASKINPORTEN_KID', 'set only one of MASKINPORTEN_KID and MASKINPORTEN_CERTIFICATE');
  }
  return {
    /** MASKINPORTEN_URL or the preset's: the token endpoint's origin. */
    url: url ?? '',
    /** MASKINPORTEN_CLIENT_ID: the integration's client id (the grant's issuer). */
    clientId: raw.MASKINPORTEN_CLIENT_ID,
    /** MASKINPORTEN_SCOPES: the scopes asked for (default: instances read and write). */
    scopes: (raw.MASKINPORTEN_SCOPES ?? DEFAULT_SCOPES).split(' '),
    /** MASKINPORTEN_KEY: the signing key, PEM or JWK (a secret: never logged). */
    key: raw.MASKINPORTEN_KEY,
    /** MASKINPORTEN_KID: the key id registered with Maskinporten (or a certificate instead). */
    kid: raw.MASKINPORTEN_KID,
    /** MASKINPORTEN_CERTIFICATE: the business certificate chain sent as x5c (or a kid instead). */
    certificate: raw.MASKINPORTEN_CERTIFICATE,
    /** MASKINPORTEN_CONSUMER_ORG: the org number acted for as a supplier (`consumer_org` claim). */
    consumerOrg: raw.MASKINPORTEN_CONSUMER_ORG,
    /** MASKINPORTEN_ALG: the grant's signing algorithm. */
    alg: raw.MASKINPORTEN_ALG ?? 'RS256',
    /** TOKEN_REFRESH_MARGIN_SECONDS: the Altinn token is renewed this long before it expires. */
    refreshMarginSeconds: raw.TOKEN_REFRESH_MARGIN_SECONDS,
  };
}

/**
 * Settings without Altinn credentials: enough to validate and queue events, report health and run the queues.
 * Derived from the schema's output (each field documented where buildCore sets it), so no type is written twice.
 */
export type CoreConfig = ReturnType<typeof buildCore>;
/** What calls to Altinn need: the Maskinporten client (fields documented in buildMaskinporten). */
export type MaskinportenConfig = ReturnType<typeof buildMaskinporten>;
export type Config = CoreConfig & { maskinporten: MaskinportenConfig };
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: SettingProblem[]) {
    super(`Invalid settings (${problems.length}):\n` + problems.map((p) => `  - ${p.setting}: ${p.message}`).join('\n'));
  }
}

function parseInto<S extends z.ZodType>(schema: S, env: Env, problem: Problems): z.output<S> | undefined {
  const parsed = schema.safeParse(env);
  if (!parsed.success) for (const issue of parsed.error.issues) problem(String(issue.path[0] ?? '?'), issue.message);
  return parsed.success ? parsed.data : undefined;
}

function loadCore(env: Env, problem: Problems): CoreConfig | undefined {
  const raw = parseInto(coreSchema, env, problem);
  let storage: StorageConnection | undefined;
  try {
    storage = parseStorageConnection(env);
  } catch (e) {
    problem('AzureWebJobsStorage', (e as Error).message);
  }
  return raw && storage ? buildCore(raw, storage, problem) : undefined;
}

function loadMaskinporten(env: Env, problem: Problems): MaskinportenConfig | undefined {
  const raw = parseInto(maskinportenSchema, env, problem);
  return raw ? buildMaskinporten(raw, problem) : undefined;
}

/** Run `load`, collecting problems (each once); throw one ConfigError naming every bad setting (never a value). */
function validated<T>(env: Env, load: (problem: Problems) => T | undefined): T {
  const problems: SettingProblem[] = [];
  const problem = (setting: string, message: string) => {
    if (!problems.some((p) => p.setting === setting && p.message === message)) problems.push({ setting, message });
  };
  const value = load(problem);
  if (value !== undefined && problems.length === 0) return value;
  throw new ConfigError(scrub(problems, env));
}

/** Every setting (the CLI, tests): one ConfigError naming every bad setting. */
export function loadConfig(env: Env): Config {
  return validated(env, (problem) => {
    const core = loadCore(env, problem);
    const maskinporten = loadMaskinporten(env, problem);
    return core && maskinporten ? { ...core, maskinporten } : undefined;
  });
}

/** The settings the webhook and the queues need: a broken Maskinporten setting does not stop them. */
export function loadCoreConfig(env: Env): CoreConfig {
  return validated(env, (problem) => loadCore(env, problem));
}

/** The Maskinporten settings alone, checked when something first calls Altinn. */
export function loadMaskinportenConfig(env: Env): MaskinportenConfig {
  return validated(env, (problem) => loadMaskinporten(env, problem));
}

/** Defence in depth: no message may contain a secret setting's value, even if a future rule quotes input. */
function scrub(problems: SettingProblem[], env: Env): SettingProblem[] {
  const secrets = SECRET_SETTINGS.map((k) => env[k]).filter((v): v is string => !!v && v.length >= 8);
  return problems.map((p) => ({
    setting: p.setting,
    message: secrets.reduce((m, s) => m.split(s).join('[secret]'), p.message),
  }));
}

/** Base URL of one app, e.g. https://ttd.apps.tt02.altinn.no/ttd/my-app. Built only from settings. */
export function appBaseUrl(config: Pick<Config, 'org' | 'altinn'>, app: string): string {
  return `${config.altinn.appsOrigin}/${config.org}/${app}`;
}
