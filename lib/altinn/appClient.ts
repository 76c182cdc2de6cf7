import type { AltinnHttp } from '../altinnHttp.js';
import { appBaseUrl, type Config } from '../config.js';
import { ReceiverError } from '../errors.js';
import { instanceId, type InstanceRef } from '../messages.js';
import { instanceSchema, type Instance } from './instanceSchema.js';

export interface AppClient {
  /** The instance as parsed, and the exact text the App API returned (stored as instance.json). */
  getInstance(ref: InstanceRef): Promise<{ instance: Instance; raw: string }>;
  /** The data element's response, body unread, for streaming. */
  openDataElement(ref: InstanceRef, elementId: string, signal?: AbortSignal): Promise<Response>;
  complete(ref: InstanceRef): Promise<void>;
  setSubstatus(ref: InstanceRef, substatus: { label: string; description?: string }): Promise<void>;
}

/**
 * The App API of one org. Every URL is built from settings plus the validated message parts, never
 * from a URL inside a document Altinn sent (`selfLinks` are not followed).
 */
export function createAppClient(deps: { http: AltinnHttp; config: Pick<Config, 'org' | 'altinn'> }): AppClient {
  const { http, config } = deps;
  const instanceUrl = (ref: InstanceRef) => {
    if (ref.org !== config.org) {
      throw new ReceiverError(`instance of org ${ref.org} is not ours (${config.org})`, {
        code: 'instance-foreign-org',
        retryable: false,
        instanceId: instanceId(ref),
      });
    }
    return `${appBaseUrl(config, ref.app)}/instances/${ref.partyId}/${ref.instanceGuid}`;
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
        throw new ReceiverError('App API returned an instance that is not JSON', { code: 'altinn-instance-invalid', retryable: false, instanceId: id });
      }
      const parsed = instanceSchema.safeParse(json);
      if (!parsed.success) {
        const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(instance)'}: ${i.message}`).join('; ');
        throw new ReceiverError(`App API returned an invalid instance: ${why}`, { code: 'altinn-instance-invalid', retryable: false, instanceId: id });
      }
      const instance = parsed.data;
      const sameApp = !instance.appId || instance.appId === `${ref.org}/${ref.app}`;
      if (instance.id !== ref.instanceGuid || instance.instanceOwner.partyId !== ref.partyId || !sameApp) {
        throw new ReceiverError(`App API returned a different instance (${instance.instanceOwner.partyId}/${instance.id}, ${instance.appId ?? '?'})`, {
          code: 'altinn-instance-mismatch',
          retryable: false,
          instanceId: id,
        });
      }
      return { instance, raw };
    },

    openDataElement(ref, elementId, signal) {
      return http.request(`${instanceUrl(ref)}/data/${encodeURIComponent(elementId)}`, { signal, instanceId: instanceId(ref) });
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
