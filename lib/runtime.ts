import { createApplicationCatalog, type ApplicationCatalog } from './altinn/applications.js';
import { storageClientWhenConfigured } from './altinn/whenConfigured.js';
import { createAltinnHttp, type AltinnHttp } from './altinn/http.js';
import { createTokenProvider, loadSigningKey } from './auth/index.js';
import type { Fetch } from './http/fetch.js';
import { createBlobStore } from './blob/store.js';
import { systemClock, type Clock } from './clock.js';
import { loadCoreConfig, loadMaskinportenConfig, type CoreConfig, type Env, type MaskinportenConfig } from './config.js';
import type { WebhookDeps } from './webhook/receiveEvent.js';
import { invocationSink } from './invocationLog.js';
import { createLogger, type Logger } from './log.js';
import { blobInstanceLocks } from './processor/lease.js';
import { createProcessor, type Processor } from './processor/processInstance.js';
import { createQueueSender, type QueueSender } from './queue/sender.js';
import type { ReconcileDeps } from './reconcile/run.js';
import type { FeedDeps } from './feed/run.js';
import { createOrgAppList } from './altinn/orgApps.js';
import { registerSecret } from './redact.js';
import { createStorageClients, type StorageClients } from './azure/storageClients.js';
import { azureCall } from './azure/call.js';

/**
 * The composition root: the one place that reads process.env and builds each function's collaborators,
 * once per runtime. The functions share one runtime per process (getRuntime); the CLI builds its own with
 * its overrides; the local host runs the functions, so it gets theirs. A failure (bad settings) is not cached,
 * so fixing app settings and restarting, or calling again, is enough.
 */
export interface Runtime {
  /** What the webhook, health and the queues need; Maskinporten settings are not part of it. */
  config: CoreConfig;
  /** Azure Storage: the blob and queue service clients (Altinn's Storage is reached through altinnHttp). */
  azure: StorageClients;
  queues: QueueSender;
  log: Logger;
  clock: Clock;
  /** The Maskinporten settings, validated with the signing key; throws a ConfigError naming the broken setting. */
  maskinporten: () => MaskinportenConfig;
  /** Authenticated Altinn requests: one token provider per runtime, shared by everything that calls Altinn. */
  altinnHttp: () => Promise<AltinnHttp>;
  /** The apps' declared data types, cached: shared by the processor and /api/health. */
  applications: ApplicationCatalog;
  /** The webhook's collaborators (no Altinn credentials needed). */
  webhook: WebhookDeps;
  /** The queue processor: one per runtime, so overlapping deliveries of an instance share one run. */
  processor: () => Promise<Processor>;
  /** The reconciler's collaborators. */
  reconciler: () => Promise<ReconcileDeps>;
  /** The Altinn Events feed timer's collaborators. */
  feed: () => Promise<FeedDeps>;
}

/** What a caller other than the functions changes: the CLI's clock, its stderr logger and its failure-recording fetch. */
export interface RuntimeOverrides {
  clock?: Clock;
  log?: Logger;
  fetch?: Fetch;
}

/** The build once, shared by every caller; a failed build is forgotten so the next call tries again. */
function once<T>(build: () => T | Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= new Promise<T>((resolve) => resolve(build())).catch((e: unknown) => {
      pending = undefined;
      throw e;
    }));
}

let shared: (() => Promise<Runtime>) | undefined;

/** The process's runtime (the functions'), built on first use from `env`. */
export function getRuntime(env: Env = process.env): Promise<Runtime> {
  shared ??= once(() => createRuntime(env));
  return shared();
}

/** A new runtime (getRuntime shares one per process). */
export async function createRuntime(env: Env, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  // Scrubbed from every line even when the settings around them are broken.
  registerSecret(env.MASKINPORTEN_KEY?.trim());
  registerSecret(env.MASKINPORTEN_CERTIFICATE?.trim());
  const config = loadCoreConfig(env);
  if (config.storage.kind === 'connectionString') registerSecret(config.storage.connectionString);
  const storage = await createStorageClients(config.storage);
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? createLogger(invocationSink);
  const queues = createQueueSender(storage.queue);
  const maskinporten = () => {
    const settings = loadMaskinportenConfig(env);
    // Read the key too: a bad MASKINPORTEN_KEY/CERTIFICATE is named by /api/health, not found at the first download.
    loadSigningKey(settings);
    return settings;
  };
  const altinnHttp = once(() => {
    const tokens = createTokenProvider({ maskinporten: maskinporten(), platformUrl: config.altinn.platformUrl, org: config.org, clock, fetch: overrides.fetch, log });
    return createAltinnHttp({ tokens, fetch: overrides.fetch, log, clock });
  });
  const applications = createApplicationCatalog({ platformUrl: config.altinn.platformUrl, dataTypes: config.dataTypes, clock });
  const processor = once(() => {
    const container = storage.blob.getContainerClient(config.blobContainer);
    // Created at the first run, inside it: a storage outage at start-up defers that message instead of
    // failing every invocation (before the processor could classify the error) into poison.
    const ensureContainer = once(() => azureCall('create container', (abortSignal) => container.createIfNotExists({ abortSignal })));
    const locks = blobInstanceLocks(container, log);
    return createProcessor({
      config,
      storage: storageClientWhenConfigured(altinnHttp, config),
      applications,
      store: createBlobStore(container),
      queues,
      locks: { acquire: (ref) => ensureContainer().then(() => locks.acquire(ref)) },
      clock,
      log: log.child({ function: 'instanceProcessor' }),
    });
  });
  const reconciler = async (): Promise<ReconcileDeps> => ({ config, http: await altinnHttp(), blob: storage.blob, queues, clock, log });
  const orgApps = createOrgAppList({ platformUrl: config.altinn.platformUrl, clock, fetch: overrides.fetch });
  const feed = async (): Promise<FeedDeps> => ({ config, http: await altinnHttp(), blob: storage.blob, queues, orgApps, clock, log: log.child({ function: 'feed' }) });
  const webhook: WebhookDeps = { config, queues, log, clock };
  return { config, azure: storage, queues, log, clock, maskinporten, altinnHttp, applications, webhook, processor, reconciler, feed };
}
