import { createApplicationCatalog, type ApplicationCatalog } from './altinn/applications.js';
import { createAltinnHttp, type AltinnHttp } from './altinnHttp.js';
import { createTokenProvider, loadSigningKey } from './auth/index.js';
import { systemClock } from './clock.js';
import { loadCoreConfig, loadMaskinportenConfig, type CoreConfig, type MaskinportenConfig } from './config.js';
import { invocationSink } from './invocationLog.js';
import { createLogger, type Logger } from './log.js';
import { registerSecret } from './redact.js';
import { createQueueSender, type QueueSender } from './queue.js';
import { createStorageClients, type StorageClients } from './storage.js';

/**
 * The composition root: the one place that reads process.env. Built once per process, on first use,
 * and shared by every function; a failure (bad settings) is not cached, so fixing app settings and
 * restarting is enough.
 */
export interface Runtime {
  /** What the webhook, health and the queues need; Maskinporten settings are not part of it. */
  config: CoreConfig;
  storage: StorageClients;
  queues: QueueSender;
  log: Logger;
  /** The Maskinporten settings, validated with the signing key; throws a ConfigError naming the broken setting. */
  maskinporten: () => MaskinportenConfig;
}

let pending: Promise<Runtime> | undefined;

export function getRuntime(env: Record<string, string | undefined> = process.env): Promise<Runtime> {
  pending ??= createRuntime(env).catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

/** A new runtime (getRuntime shares one per process). */
export async function createRuntime(env: Record<string, string | undefined>): Promise<Runtime> {
  // Scrubbed from every line even when the settings around them are broken.
  registerSecret(env.MASKINPORTEN_KEY?.trim());
  registerSecret(env.MASKINPORTEN_CERTIFICATE?.trim());
  const config = loadCoreConfig(env);
  if (config.storage.kind === 'connectionString') registerSecret(config.storage.connectionString);
  const storage = await createStorageClients(config.storage);
  const maskinporten = () => {
    const settings = loadMaskinportenConfig(env);
    // Read the key too: a bad MASKINPORTEN_KEY/CERTIFICATE is named by /api/health, not found at the first download.
    loadSigningKey(settings);
    return settings;
  };
  return { config, storage, queues: createQueueSender(storage.queue), log: createLogger(invocationSink), maskinporten };
}

let altinn: Promise<AltinnHttp> | undefined;

/** Authenticated Altinn requests: one token provider per process, shared by every function that calls Altinn. */
export function getAltinnHttp(env: Record<string, string | undefined> = process.env): Promise<AltinnHttp> {
  altinn ??= getRuntime(env)
    .then(({ config, log, maskinporten }) => {
      const tokens = createTokenProvider({ maskinporten: maskinporten(), platformUrl: config.altinn.platformUrl, org: config.org, clock: systemClock, log });
      return createAltinnHttp({ tokens, log });
    })
    .catch((e: unknown) => {
      altinn = undefined;
      throw e;
    });
  return altinn;
}

let applications: Promise<ApplicationCatalog> | undefined;

/** The apps' declared data types, cached per process: shared by the processor and /api/health. */
export function getApplicationCatalog(env: Record<string, string | undefined> = process.env): Promise<ApplicationCatalog> {
  applications ??= getRuntime(env)
    .then(({ config }) => createApplicationCatalog({ platformUrl: config.altinn.platformUrl, dataTypes: config.dataTypes, clock: systemClock }))
    .catch((e: unknown) => {
      applications = undefined;
      throw e;
    });
  return applications;
}
