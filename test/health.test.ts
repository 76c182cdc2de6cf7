import { describe, expect, it } from 'vitest';
import { checkHealth } from '../lib/health.js';
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

describe('GET /api/health function', () => {
  it('answers 503 naming the bad setting, then 200 once the settings are valid', async () => {
    Object.assign(process.env, validEnv({ AzureWebJobsStorage: azuriteConnectionString() }), { ALTINN_ORG: '' });
    const bad = await definition.options.handler();
    expect(bad).toMatchObject({ status: 503, jsonBody: { status: 'unhealthy', checks: { settings: 'invalid: ALTINN_ORG' } } });
    expect(JSON.stringify(bad)).not.toMatch(/AccountKey|PRIVATE KEY/);
    process.env.ALTINN_ORG = 'ttd';
    expect(await definition.options.handler()).toMatchObject({ status: 200, jsonBody: { status: 'ok' } });
  });
});
