import azf from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { startSimulator } from '../dev/simulator/index.js';
import { createApplicationCatalog } from '../lib/altinn/applications.js';
import { fakeClock } from './support/clock.js';
import { cachedHealth, checkHealth, HEALTH_CACHE_MS, type HealthReport } from '../lib/ops/health.js';
import { onRequest } from '../dev/soak/observe.js';
import { createRuntime, type Runtime } from '../lib/runtime.js';
import { connectionString, startAzuriteService } from '../dev/azurite.js';
import { azuriteConnectionString } from './support/storage.js';
import { validEnv } from './support/settings.js';
import { definition } from '../functions/health.js';

function runtimeFor(cs: string, overrides: Record<string, string | undefined> = {}): Promise<Runtime> {
  return createRuntime(validEnv({ AzureWebJobsStorage: cs, ...overrides }));
}

describe('health', () => {
  it('is ok with valid settings and storage answering (real Azurite)', async () => {
    const rt = await runtimeFor(azuriteConnectionString());
    expect(await checkHealth(() => Promise.resolve(rt))).toEqual({ status: 'ok', checks: { settings: 'ok', storage: 'ok' } });
  });

  it('names the bad settings, never their values', async () => {
    const bad = { MASKINPORTEN_KEY: 'super-secret-not-a-key', ALTINN_ORG: undefined };
    const report = await checkHealth(() => runtimeFor(azuriteConnectionString(), bad));
    expect(report.status).toBe('unhealthy');
    expect(report.checks.settings).toBe('invalid: ALTINN_ORG');
    expect(JSON.stringify(report)).not.toContain('super-secret');
  });

  it.each([
    ['a key that is no key', { MASKINPORTEN_KEY: 'super-secret-not-a-key' }, 'MASKINPORTEN_KEY'],
    ['a PEM that does not parse', { MASKINPORTEN_KEY: '-----BEGIN PRIVATE KEY-----\nc3VwZXItc2VjcmV0\n-----END PRIVATE KEY-----' }, 'MASKINPORTEN_KEY'],
    ['no client id', { MASKINPORTEN_CLIENT_ID: undefined }, 'MASKINPORTEN_CLIENT_ID'],
    ['a certificate that is none', { MASKINPORTEN_KID: undefined, MASKINPORTEN_CERTIFICATE: 'not a certificate' }, 'MASKINPORTEN_CERTIFICATE'],
  ])('with %s: storage checked and ok, the Maskinporten setting named, never its value', async (_name, bad, setting) => {
    const report = await checkHealth(() => runtimeFor(azuriteConnectionString(), bad));
    expect(report).toEqual({ status: 'unhealthy', checks: { settings: `invalid: ${setting}`, storage: 'ok' } });
    expect(JSON.stringify(report)).not.toMatch(/super-secret|c3VwZXItc2VjcmV0/);
  });

  it('reports storage unreachable when the queue service is down', async () => {
    const blob = await startAzuriteService('blob');
    const queue = await startAzuriteService('queue');
    const cs = connectionString(blob.port, queue.port);
    const rt = await runtimeFor(cs);
    expect((await checkHealth(() => Promise.resolve(rt))).status).toBe('ok');
    await queue.stop();
    const report = await checkHealth(() => Promise.resolve(rt));
    await blob.stop();
    expect(report.status).toBe('unhealthy');
    expect(report.checks.storage).toMatch(/^unreachable/);
    expect(JSON.stringify(report)).not.toContain('AccountKey');
  });
});

describe('health: ALTINN_DATA_TYPES against the apps of ALTINN_APPS (simulated Storage metadata)', () => {
  it('names a data type an app does not declare, and is unhealthy; ok once the setting is right', async () => {
    const sim = await startSimulator();
    try {
      await sim.seedInstance({ app: 'skjema', completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 10 }] });
      const report = async (dataTypes: string) => {
        const rt = await runtimeFor(azuriteConnectionString(), { ALTINN_APPS: 'skjema', ALTINN_DATA_TYPES: dataTypes });
        const catalog = createApplicationCatalog({ platformUrl: sim.platformUrl, dataTypes: rt.config.dataTypes, clock: fakeClock() });
        return checkHealth(() => Promise.resolve(rt), () => Promise.resolve(catalog));
      };
      const bad = await report('model,modell');
      expect(bad.status).toBe('unhealthy');
      expect(bad.checks.dataTypes).toMatch(/^ALTINN_DATA_TYPES names modell, which app ttd\/skjema does not declare/);
      expect(await report('model')).toEqual({ status: 'ok', checks: { settings: 'ok', storage: 'ok', dataTypes: 'ok' } });
    } finally {
      await sim.stop();
    }
  });
});

describe('health answers from a short cache (the endpoint is anonymous)', () => {
  it('one check per period however many callers, concurrent ones sharing it; a failed check is not kept', async () => {
    const clock = fakeClock();
    let checks = 0;
    let fail = false;
    const ok: HealthReport = { status: 'ok', checks: { settings: 'ok', storage: 'ok' } };
    const health = cachedHealth(async () => {
      checks++;
      await Promise.resolve();
      if (fail) throw new Error('boom');
      return ok;
    }, clock);
    await Promise.all(Array.from({ length: 20 }, () => health()));
    for (let i = 0; i < 20; i++) expect((await health()).report).toBe(ok);
    expect(checks).toBe(1);
    clock.advance(HEALTH_CACHE_MS - 1);
    expect((await health()).checkedAt).toBe(clock.now() - HEALTH_CACHE_MS + 1);
    expect(checks).toBe(1);
    clock.advance(1);
    fail = true;
    await expect(health()).rejects.toThrow('boom');
    fail = false;
    await health();
    expect(checks).toBe(3);
  });

  it("with Altinn's metadata lookup failing: no Altinn request per call, at most two per app per period (simulator, Azurite)", async () => {
    const sim = await startSimulator();
    try {
      await sim.seedInstance({ app: 'skjema', completed: true, elements: [{ dataType: 'model', contentType: 'application/xml', size: 10 }] });
      sim.faults.add({ route: 'storage.application', status: 503, times: 1_000 });
      let metadataRequests = 0;
      const stop = onRequest(sim, (r) => void (r.route === 'storage.application' && metadataRequests++));
      const clock = fakeClock();
      const rt = await runtimeFor(azuriteConnectionString(), { ALTINN_APPS: 'skjema', ALTINN_DATA_TYPES: 'model' });
      const catalog = createApplicationCatalog({ platformUrl: sim.platformUrl, dataTypes: rt.config.dataTypes, clock });
      const health = cachedHealth(() => checkHealth(() => Promise.resolve(rt), () => Promise.resolve(catalog)), clock);
      for (let i = 0; i < 30; i++) expect((await health()).report.checks.dataTypes).toMatch(/^ttd\/skjema not checked/);
      // One check asks twice while the lookup fails (restricted data, then data types: failures are not cached).
      const perCheck = metadataRequests;
      expect(perCheck).toBeGreaterThanOrEqual(1);
      expect(perCheck).toBeLessThanOrEqual(2);
      clock.advance(HEALTH_CACHE_MS);
      await Promise.all(Array.from({ length: 30 }, () => health()));
      expect(metadataRequests).toBe(2 * perCheck);
      stop();
    } finally {
      await sim.stop();
    }
  });
});

describe('health: restricted data types of ALTINN_APPS (actionRequiredToRead)', () => {
  it('reports each selected restricted data type with its app and action, without calling the app unhealthy', async () => {
    const sim = await startSimulator();
    try {
      sim.applications.declare('begrenset', { dataTypes: [{ id: 'model', form: true }, { id: 'signert', actionRequiredToRead: 'sign' }, { id: 'intern', actionRequiredToRead: 'internal' }] });
      const report = async (settings: Record<string, string>) => {
        const rt = await runtimeFor(azuriteConnectionString(), { ALTINN_APPS: 'begrenset', ...settings });
        const catalog = createApplicationCatalog({ platformUrl: sim.platformUrl, dataTypes: rt.config.dataTypes, clock: fakeClock() });
        return checkHealth(() => Promise.resolve(rt), () => Promise.resolve(catalog));
      };
      const all = await report({});
      expect(all.status).toBe('ok');
      expect(all.checks.restrictedData).toMatch(/^data type signert of app ttd\/begrenset is restricted \(actionRequiredToRead: sign\).*; data type intern of app ttd\/begrenset is restricted \(actionRequiredToRead: internal\)/);
      expect((await report({ ALTINN_DATA_TYPES: 'model,signert' })).checks).toEqual({
        settings: 'ok',
        storage: 'ok',
        dataTypes: 'ok',
        restrictedData: expect.stringMatching(/^data type signert of app ttd\/begrenset is restricted[^;]*$/) as unknown,
      });
      expect((await report({ ALTINN_DATA_TYPES: 'model' })).checks.restrictedData).toBeUndefined();
    } finally {
      await sim.stop();
    }
  });
});

describe('GET /api/health function', () => {
  it('answers 503 naming the bad setting, from its cache until the period is over, then 200 once the settings are valid', async () => {
    // Only Date is faked (the cache's clock); sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const get = () => definition.options.handler(new azf.HttpRequest({ method: 'GET', url: 'http://localhost/api/health' }), new azf.InvocationContext());
      Object.assign(process.env, validEnv({ AzureWebJobsStorage: azuriteConnectionString() }), { ALTINN_ORG: '' });
      const bad = await get();
      expect(bad).toMatchObject({ status: 503, jsonBody: { status: 'unhealthy', checks: { settings: 'invalid: ALTINN_ORG' } }, headers: { age: '0' } });
      expect(JSON.stringify(bad)).not.toMatch(/AccountKey|PRIVATE KEY/);
      process.env.ALTINN_ORG = 'ttd';
      vi.setSystemTime(Date.now() + HEALTH_CACHE_MS - 1_000);
      expect(await get()).toMatchObject({ status: 503, headers: { age: String(HEALTH_CACHE_MS / 1000 - 1) } });
      vi.setSystemTime(Date.now() + 1_000);
      expect(await get()).toMatchObject({ status: 200, jsonBody: { status: 'ok' }, headers: { age: '0' } });
    } finally {
      vi.useRealTimers();
    }
  });
});
