import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SeededInstance, type Simulator } from '../dev/simulator/index.js';
import { createAltinnHttp } from '../lib/altinn/http.js';
import { createStorageClient } from '../lib/altinn/storageClient.js';
import { loadConfig } from '../lib/config.js';
import { ReceiverError } from '../lib/errors.js';
import { fakeClock } from './support/clock.js';
import { memoryLogger } from './support/log.js';

/**
 * Storage as a service owner meets it, where it differs from the App API and from what one would guess
 * (dev/simulator/README.md, fidelity table): who decides, how instances are looked up, how data is sent.
 */
let sim: Simulator;
let doc: SeededInstance;
beforeAll(async () => {
  sim = await startSimulator({ org: 'ttd', seed: 5 });
  doc = await sim.seedInstance({ app: 'pol', completed: true, elements: [{ dataType: 'vedlegg', contentType: 'application/pdf', size: 70_000 }] });
});
afterAll(async () => {
  await sim.stop();
});

const storage = (path: string) => `${sim.platformUrl}/storage/api/v1/instances${path}`;
const call = (url: string, token: string, method = 'GET') => fetch(url, { method, headers: { authorization: `Bearer ${token}` } });
const guid = () => doc.id.split('/')[1] ?? '';

describe('Storage checks scopes only on the query', () => {
  it('reads, completes and sets the substatus for a token of the org without instances scopes; the query needs instances.read', async () => {
    const token = sim.altinnToken({ scope: 'altinn:events.subscribe' });
    expect((await call(storage(`/${doc.id}`), token)).status).toBe(200);
    expect((await call(storage(`/${doc.id}/data/${doc.data[0]!.id}`), token)).status).toBe(200);
    const sub = await fetch(storage(`/${doc.id}/substatus`), { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ label: 'mottatt' }) });
    expect(sub.status).toBe(200);
    expect((await call(storage('?appId=ttd/pol'), token)).status).toBe(403);
    expect((await call(storage('?appId=ttd/pol'), sim.altinnToken({ scope: 'altinn:serviceowner/instances.read' }))).status).toBe(200);
    // Another org's token is refused by the app's policy, whatever its scopes.
    expect((await call(storage(`/${doc.id}`), sim.altinnToken({ org: 'skd' }))).status).toBe(403);
  });
});

describe('complete is decided by the app policy', () => {
  it('answers 403 to complete when the policy does not grant the org "complete", while reads go on; granted again, 200', async () => {
    const other = await sim.seedInstance({ app: 'nocomplete', completed: true });
    const token = sim.altinnToken();
    sim.policies.deny('nocomplete', 'complete');
    try {
      expect((await call(storage(`/${other.id}/complete`), token, 'POST')).status).toBe(403);
      expect((await call(storage(`/${other.id}`), token)).status).toBe(200);
      expect(sim.instance(other.id.split('/')[1] ?? '').completeConfirmations).toBeUndefined();
    } finally {
      sim.policies.allow('nocomplete', 'complete');
    }
    expect((await call(storage(`/${other.id}/complete`), token, 'POST')).status).toBe(200);
  });
});

describe('Storage looks an instance up by its GUID alone', () => {
  it('serves the instance under any party id in the path; our client refuses a document of another party', async () => {
    const token = sim.altinnToken();
    const wrong = await call(storage(`/999/${guid()}`), token);
    expect(wrong.status).toBe(200);
    expect(((await wrong.json()) as { id: string }).id).toBe(doc.id);
    expect((await call(storage('/1/00000000-0000-4000-8000-000000000000'), token)).status).toBe(404);

    const log = memoryLogger();
    const clock = fakeClock();
    const http = createAltinnHttp({ tokens: { getToken: () => Promise.resolve(token), invalidate: () => undefined }, log, clock });
    const config = loadConfig({ ...(await sim.newClient()).env, AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    const client = createStorageClient({ http, config });
    const error = await client.getInstance({ org: 'ttd', app: 'pol', partyId: '999', instanceGuid: guid() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReceiverError);
    expect((error as ReceiverError).code).toBe('altinn-instance-mismatch');
  });
});

describe('Storage streams data without Content-Length', () => {
  it('sends the element chunked; a truncated body is an error, not a short element', async () => {
    const token = sim.altinnToken();
    const url = storage(`/${doc.id}/data/${doc.data[0]!.id}`);
    const res = await call(url, token);
    expect(res.headers.get('content-length')).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(70_000);
    sim.faults.add({ route: 'storage.data', truncateAfterBytes: 1000 });
    const cut = await call(url, token);
    await expect(cut.arrayBuffer()).rejects.toThrow();
  });
});
