import type { AltinnHttp } from './http.js';
import type { Config } from '../config.js';
import { ReceiverError } from '../errors.js';
import { instanceId, type InstanceRef } from '../queue/messages.js';
import { instanceSchema, type Instance } from './instanceSchema.js';

export interface StorageClient {
  /** The instance as parsed, and the exact text Storage returned (stored as instance.json). */
  getInstance(ref: InstanceRef): Promise<{ instance: Instance; raw: string }>;
  /** The data element's response, body unread, for streaming; `expectedBytes` (its declared size) sets the body's total time limit. */
  openDataElement(ref: InstanceRef, elementId: string, signal?: AbortSignal, expectedBytes?: number): Promise<Response>;
  complete(ref: InstanceRef): Promise<void>;
  setSubstatus(ref: InstanceRef, substatus: { label: string; description?: string }): Promise<void>;
}

/**
 * Altinn Storage's instance API (`{platform}/storage/api/v1/instances/{partyId}/{guid}`), not the app's:
 * Storage streams the stored blob (altinn-storage src/Storage/Controllers/DataController.cs `Get`),
 * while the App API re-serialises form data, enforces app-defined scopes and stops answering once an
 * app is retired (see README, "Why Storage"). Every URL is built from settings plus the validated
 * message parts, never from a URL inside a document Altinn sent (`selfLinks` are not followed).
 */
export function createStorageClient(deps: { http: AltinnHttp; config: Pick<Config, 'org' | 'altinn'> }): StorageClient {
  const { http, config } = deps;
  const instanceUrl = (ref: InstanceRef) => {
    if (ref.org !== config.org) {
      throw new ReceiverError(`instance of org ${ref.org} is not ours (${config.org})`, {
        code: 'instance-foreign-org',
        retryable: false,
        instanceId: instanceId(ref),
      });
    }
    return `${config.altinn.platformUrl}/storage/api/v1/instances/${ref.partyId}/${ref.instanceGuid}`;
  };

  return {
    async getInstance(ref) {
      const id = instanceId(ref);
      const res = await http.request(instanceUrl(ref), { headers: { accept: 'application/json' }, instanceId: id });
      const raw = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new ReceiverError('Storage returned an instance that is not JSON', { code: 'altinn-instance-invalid', retryable: false, instanceId: id });
      }
      const parsed = instanceSchema.safeParse(json);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(instance)'}: ${i.message}`).join('; ');
        throw new ReceiverError(`Storage returned an invalid instance: ${why}`, { code: 'altinn-instance-invalid', retryable: false, instanceId: id });
      }
      const instance = parsed.data;
      // Storage's path has no app: the document must name ours, or the message pointed at another app's instance.
      if (instance.id !== ref.instanceGuid || instance.instanceOwner.partyId !== ref.partyId || instance.appId !== `${ref.org}/${ref.app}`) {
        throw new ReceiverError(`Storage returned a different instance (${instance.instanceOwner.partyId}/${instance.id}, ${instance.appId ?? '?'})`, {
          code: 'altinn-instance-mismatch',
          retryable: false,
          instanceId: id,
        });
      }
      return { instance, raw };
    },

    openDataElement(ref, elementId, signal, expectedBytes) {
      return http.request(`${instanceUrl(ref)}/data/${encodeURIComponent(elementId)}`, { signal, instanceId: instanceId(ref), expectedBytes });
    },

    async complete(ref) {
      const res = await http.request(`${instanceUrl(ref)}/complete`, { method: 'POST', instanceId: instanceId(ref) });
      await res.body?.cancel();
    },

    async setSubstatus(ref, substatus) {
      const res = await http.request(`${instanceUrl(ref)}/substatus`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(substatus),
        instanceId: instanceId(ref),
      });
      await res.body?.cancel();
    },
  };
}
