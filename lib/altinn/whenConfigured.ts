import type { AltinnHttp } from './http.js';
import { ConfigError, type CoreConfig } from '../config.js';
import { ReceiverError } from '../errors.js';
import { createStorageClient, type StorageClient } from './storageClient.js';

/** How long a message waits while only an operator can help: broken Maskinporten settings, refused credentials. */
export const OPERATOR_WAIT_SECONDS = 600;

/**
 * The Altinn Storage client, built at the first call. While the Maskinporten settings (key, certificate,
 * client id) are broken every call fails with a retryable error asking for a long wait, so messages
 * are deferred (not poisoned) until the settings are fixed; the webhook meanwhile keeps queueing.
 */
export function storageClientWhenConfigured(getHttp: () => Promise<AltinnHttp>, config: Pick<CoreConfig, 'org' | 'altinn'>): StorageClient {
  const client = async (ref: { partyId: string; instanceGuid: string }) => {
    try {
      return createStorageClient({ http: await getHttp(), config });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const settings = [...new Set(e.problems.map((p) => p.setting))].join(', ');
      throw new ReceiverError(`cannot call Altinn: invalid ${settings} (see GET /api/health)`, {
        code: 'settings-invalid',
        retryable: true,
        retryAfterSeconds: OPERATOR_WAIT_SECONDS,
        instanceId: `${ref.partyId}/${ref.instanceGuid}`,
      });
    }
  };
  return {
    getInstance: async (ref) => (await client(ref)).getInstance(ref),
    openDataElement: async (ref, elementId, signal, expectedBytes) => (await client(ref)).openDataElement(ref, elementId, signal, expectedBytes),
    complete: async (ref) => (await client(ref)).complete(ref),
    setSubstatus: async (ref, substatus) => (await client(ref)).setSubstatus(ref, substatus),
  };
}
