import type { QueueServiceClient } from '@azure/storage-queue';
import { createStorageClients } from '../../lib/azure/storageClients.js';
import { parseStorageConnection } from '../../lib/azure/storageConnection.js';
import type { Env } from './settings.js';

/**
 * Queue service clients by connection setting name, as a trigger's `connection` names it
 * (empty = AzureWebJobsStorage). Both forms the host accepts work: `<name>` as a connection string,
 * or identity-based `<name>__accountName`, `<name>__queueServiceUri`, ….
 */
export function queueServices(env: Env): (connection: string) => Promise<QueueServiceClient> {
  const cache = new Map<string, Promise<QueueServiceClient>>();
  return (connection) => {
    const name = connection || 'AzureWebJobsStorage';
    let client = cache.get(name);
    if (!client) {
      const view: Env = {};
      for (const [k, v] of Object.entries(env)) {
        if (k === name || k.startsWith(`${name}__`)) view[`AzureWebJobsStorage${k.slice(name.length)}`] = v;
      }
      client = (async () => {
        try {
          return (await createStorageClients(parseStorageConnection(view))).queue;
        } catch (e) {
          throw new Error(`storage connection "${name}" ${(e as Error).message}`, { cause: e });
        }
      })();
      cache.set(name, client);
    }
    return client;
  };
}
