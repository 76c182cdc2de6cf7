import { createStorageClient, type StorageClient } from '../altinn/storageClient.js';
import type { AltinnHttp } from '../altinnHttp.js';
import { createBlobStore } from '../blobStore.js';
import { systemClock } from '../clock.js';
import { ConfigError, type CoreConfig } from '../config.js';
import { ReceiverError } from '../errors.js';
import { getAltinnHttp, getApplicationCatalog, getRuntime } from '../runtime.js';
import { blobInstanceLocks } from './lease.js';
import { createProcessor, type Processor } from './processInstance.js';

let pending: Promise<Processor> | undefined;

/** How long a message waits while the Maskinporten settings are broken (an operator has to fix them). */
const SETTINGS_RETRY_AFTER_SECONDS = 600;

/**
 * The process-wide processor, built on first use from the runtime (settings, storage, queues, Altinn
 * auth). One instance per process, so overlapping deliveries of an instance share one run.
 */
export function getProcessor(env?: Record<string, string | undefined>): Promise<Processor> {
  pending ??= build(env).catch((e: unknown) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

async function build(env: Record<string, string | undefined> | undefined): Promise<Processor> {
  const [rt, applications] = await Promise.all([getRuntime(env), getApplicationCatalog(env)]);
  const container = rt.storage.blob.getContainerClient(rt.config.blobContainer);
  await container.createIfNotExists();
  return createProcessor({
    config: rt.config,
    storage: storageClientWhenUsable(() => getAltinnHttp(env), rt.config),
    applications,
    store: createBlobStore(container),
    queues: rt.queues,
    locks: blobInstanceLocks(container, rt.log),
    clock: systemClock,
    log: rt.log.child({ function: 'instanceProcessor' }),
  });
}

/**
 * The Altinn Storage client, built at the first call. While the Maskinporten settings (key, certificate,
 * client id) are broken every call fails with a retryable error asking for a long wait, so messages
 * are deferred (not poisoned) until the settings are fixed; the webhook meanwhile keeps queueing.
 */
function storageClientWhenUsable(getHttp: () => Promise<AltinnHttp>, config: Pick<CoreConfig, 'org' | 'altinn'>): StorageClient {
  const client = async (ref: { partyId: string; instanceGuid: string }) => {
    try {
      return createStorageClient({ http: await getHttp(), config });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const settings = [...new Set(e.problems.map((p) => p.setting))].join(', ');
      throw new ReceiverError(`cannot call Altinn: invalid ${settings} (see GET /api/health)`, {
        code: 'settings-invalid',
        retryable: true,
        retryAfterSeconds: SETTINGS_RETRY_AFTER_SECONDS,
        instanceId: `${ref.partyId}/${ref.instanceGuid}`,
      });
    }
  };
  return {
    getInstance: async (ref) => (await client(ref)).getInstance(ref),
    openDataElement: async (ref, elementId, signal) => (await client(ref)).openDataElement(ref, elementId, signal),
    complete: async (ref) => (await client(ref)).complete(ref),
    setSubstatus: async (ref, substatus) => (await client(ref)).setSubstatus(ref, substatus),
  };
}
