import { createAppClient } from '../altinn/appClient.js';
import { createBlobStore } from '../blobStore.js';
import { systemClock } from '../clock.js';
import { getAltinnHttp, getRuntime } from '../runtime.js';
import { blobInstanceLocks } from './lease.js';
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
  const [rt, http] = await Promise.all([getRuntime(env), getAltinnHttp(env)]);
  const container = rt.storage.blob.getContainerClient(rt.config.blobContainer);
  await container.createIfNotExists();
  return createProcessor({
    config: rt.config,
    app: createAppClient({ http, config: rt.config }),
    store: createBlobStore(container),
    queues: rt.queues,
    locks: blobInstanceLocks(container, rt.log),
    clock: systemClock,
    log: rt.log.child({ function: 'instanceProcessor' }),
  });
}
