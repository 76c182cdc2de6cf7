import { createApplicationCatalog, type ApplicationCatalog } from './altinn/applications.js';
import { createAltinnHttp, type AltinnHttp } from './altinnHttp.js';
import { createTokenProvider, loadSigningKey } from './auth/index.js';
import { systemClock } from './clock.js';
import { loadConfig, type Config } from './config.js';
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
  config: Config;
  storage: StorageClients;
  queues: QueueSender;
  log: Logger;
}

let pending: Promise<Runtime> | undefined;

export function getRuntime(env: Record<string, string | undefined> = process.env): Promise<Runtime> {
  pending ??= build(env).catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function build(env: Record<string, string | undefined>): Promise<Runtime> {
  const config = loadConfig(env);
  registerSecret(config.maskinporten.key);
  // Read the key now: a bad MASKINPORTEN_KEY/CERTIFICATE then fails start-up and /api/health, not the first download.
  loadSigningKey(config.maskinporten);
  if (config.storage.kind === 'connectionString') registerSecret(config.storage.connectionString);
  const storage = await createStorageClients(config.storage);
  return { config, storage, queues: createQueueSender(storage.queue), log: createLogger(invocationSink) };
}

let altinn: Promise<AltinnHttp> | undefined;

/** Authenticated Altinn requests: one token provider per process, shared by every function that calls Altinn. */
export function getAltinnHttp(env: Record<string, string | undefined> = process.env): Promise<AltinnHttp> {
  altinn ??= getRuntime(env)
    .then(({ config, log }) => {
      const tokens = createTokenProvider({ maskinporten: config.maskinporten, platformUrl: config.altinn.platformUrl, org: config.org, clock: systemClock, log });
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
