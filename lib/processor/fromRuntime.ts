import { createStorageClient } from '../altinn/storageClient.js';
import { createBlobStore } from '../blobStore.js';
import { systemClock } from '../clock.js';
import { getAltinnHttp, getApplicationCatalog, getRuntime } from '../runtime.js';
import { createProcessor, type Processor } from './processInstance.js';

let pending: Promise<Processor> | undefined;

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
  const [rt, http, applications] = await Promise.all([getRuntime(env), getAltinnHttp(env), getApplicationCatalog(env)]);
  const container = rt.storage.blob.getContainerClient(rt.config.blobContainer);
  await container.createIfNotExists();
  return createProcessor({
    config: rt.config,
    storage: createStorageClient({ http, config: rt.config }),
    applications,
    store: createBlobStore(container),
    queues: rt.queues,
    clock: systemClock,
    log: rt.log.child({ function: 'instanceProcessor' }),
  });
}
