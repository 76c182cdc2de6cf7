import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadCoreConfig, loadMaskinportenConfig, appBaseUrl, type Env } from '../lib/config.js';
import { testPrivateKey, validEnv } from './support/settings.js';

function problemsOf(env: Env): { setting: string; message: string }[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function settingsIn(env: Env): string[] {
  return problemsOf(env).map((p) => p.setting);
}

describe('defaults', () => {
  const c = loadConfig(validEnv());
  it('uses the tt02 preset', () => {
    expect(c.env).toBe('tt02');
    expect(c.maskinporten.url).toBe('https://test.maskinporten.no');
    expect(c.altinn.platformUrl).toBe('https://platform.tt02.altinn.no');
    expect(c.altinn.appsUrlTemplate).toBe('https://{org}.apps.tt02.altinn.no');
    expect(c.altinn.appsOrigin).toBe('https://ttd.apps.tt02.altinn.no');
  });
  it('fills every optional setting', () => {
    expect(c.apps).toEqual([]);
    expect(c.eventTypes).toEqual(['app.instance.process.completed']);
    expect(c.maskinporten.scopes).toEqual(['altinn:serviceowner/instances.read', 'altinn:serviceowner/instances.write']);
    expect(c.maskinporten.alg).toBe('RS256');
    expect(c.maskinporten.consumerOrg).toBeUndefined();
    expect(c.maskinporten.refreshMarginSeconds).toBe(60);
    expect(c.blobContainer).toBe('altinn-instances');
    expect(c.dataTypes).toEqual([]);
    expect(c.downloadConcurrency).toBe(4);
    expect(c.confirmOnInfected).toBe(false);
    expect(c.substatusLabel).toBeUndefined();
    expect(c.reconcile).toEqual({ schedule: '0 */15 * * * *', since: undefined, pageSize: 100, window: undefined, maxPages: 500, maxSeconds: 240 });
    expect(c.storage.kind).toBe('connectionString');
  });
  it('treats empty strings as unset', () => {
    const e = loadConfig(validEnv({ ALTINN_APPS: '', ALTINN_EVENT_TYPES: ' ', BLOB_CONTAINER: '', ALTINN_ENV: '' }));
    expect(e.apps).toEqual([]);
    expect(e.eventTypes).toEqual(['app.instance.process.completed']);
    expect(e.blobContainer).toBe('altinn-instances');
    expect(e.env).toBe('tt02');
  });
  it('builds app URLs from settings only', () => {
    expect(appBaseUrl(c, 'my-app')).toBe('https://ttd.apps.tt02.altinn.no/ttd/my-app');
  });
});

describe('presets and overrides', () => {
  it('production preset', () => {
    const c = loadConfig(validEnv({ ALTINN_ENV: 'production', ALTINN_ORG: 'skd' }));
    expect(c.maskinporten.url).toBe('https://maskinporten.no');
    expect(c.altinn.platformUrl).toBe('https://platform.altinn.no');
    expect(c.altinn.appsOrigin).toBe('https://skd.apps.altinn.no');
  });
  it('custom requires all three URLs, naming each', () => {
    expect(settingsIn(validEnv({ ALTINN_ENV: 'custom' })).sort()).toEqual(['ALTINN_APPS_URL', 'ALTINN_PLATFORM_URL', 'MASKINPORTEN_URL']);
  });
  it('the core settings (webhook, health, queues) load without any Maskinporten setting; those are checked on their own', () => {
    const env = validEnv({ MASKINPORTEN_KEY: undefined, MASKINPORTEN_CLIENT_ID: undefined, MASKINPORTEN_KID: undefined });
    expect(loadCoreConfig(env).org).toBe('ttd');
    expect(() => loadMaskinportenConfig(env)).toThrow(ConfigError);
    expect(settingsIn(env)).toEqual(['MASKINPORTEN_CLIENT_ID', 'MASKINPORTEN_KEY']);
    expect(loadMaskinportenConfig(validEnv()).url).toBe('https://test.maskinporten.no');
  });
  it('feed settings: defaults, and the 90-day bound of Altinn Events\' retention for the lookback', () => {
    expect(loadConfig(validEnv()).feed).toEqual({ enabled: true, schedule: '0 */5 * * * *', lookbackHours: 48, pageSize: 100, minAgeSeconds: 300 });
    const c = loadConfig(validEnv({ FEED_ENABLED: 'false', FEED_LOOKBACK_HOURS: '2160', FEED_PAGE_SIZE: '1000', FEED_MIN_AGE_SECONDS: '0' }));
    expect(c.feed).toMatchObject({ enabled: false, lookbackHours: 2160, pageSize: 1000, minAgeSeconds: 0 });
  });
  it('custom with loopback http URLs', () => {
    const c = loadConfig(
      validEnv({
        ALTINN_ENV: 'custom',
        MASKINPORTEN_URL: 'http://127.0.0.1:5000/',
        ALTINN_PLATFORM_URL: 'http://localhost:5001',
        ALTINN_APPS_URL: 'http://127.0.0.1:5002',
      }),
    );
    expect(c.maskinporten.url).toBe('http://127.0.0.1:5000');
    expect(c.altinn.platformUrl).toBe('http://localhost:5001');
    expect(c.altinn.appsOrigin).toBe('http://127.0.0.1:5002');
  });
  it('an explicit URL overrides a preset', () => {
    const c = loadConfig(validEnv({ ALTINN_PLATFORM_URL: 'https://platform.example.no', ALTINN_APPS_URL: 'https://{org}.apps.example.no' }));
    expect(c.altinn.platformUrl).toBe('https://platform.example.no');
    expect(c.altinn.appsOrigin).toBe('https://ttd.apps.example.no');
    expect(c.maskinporten.url).toBe('https://test.maskinporten.no');
  });
  it('parses lists, numbers and flags', () => {
    const c = loadConfig(
      validEnv({
        ALTINN_APPS: 'app-a, app-b,app-a',
        ALTINN_EVENT_TYPES: 'app.instance.process.completed,app.instance.created',
        ALTINN_DATA_TYPES: 'model,ref-data-as-pdf',
        MASKINPORTEN_SCOPES: 'altinn:serviceowner/instances.read',
        MASKINPORTEN_CONSUMER_ORG: '991825827',
        MASKINPORTEN_ALG: 'RS512',
        DOWNLOAD_CONCURRENCY: '8',
        CONFIRM_ON_INFECTED: 'true',
        TOKEN_REFRESH_MARGIN_SECONDS: '120',
        RECONCILE_SCHEDULE: '0 */5 * * * *',
        RECONCILE_SINCE: 'P30D',
        RECONCILE_PAGE_SIZE: '25',
        RECONCILE_WINDOW: 'P1D',
        RECONCILE_MAX_PAGES: '50',
        RECONCILE_MAX_SECONDS: '120',
        BLOB_CONTAINER: 'submissions',
        ALTINN_SUBSTATUS_LABEL: 'Mottatt',
      }),
    );
    expect(c.apps).toEqual(['app-a', 'app-b']);
    expect(c.eventTypes).toEqual(['app.instance.process.completed', 'app.instance.created']);
    expect(c.dataTypes).toEqual(['model', 'ref-data-as-pdf']);
    expect(c.maskinporten.scopes).toEqual(['altinn:serviceowner/instances.read']);
    expect(c.maskinporten.consumerOrg).toBe('991825827');
    expect(c.maskinporten.alg).toBe('RS512');
    expect(c.downloadConcurrency).toBe(8);
    expect(c.confirmOnInfected).toBe(true);
    expect(c.maskinporten.refreshMarginSeconds).toBe(120);
    expect(c.reconcile).toEqual({ schedule: '0 */5 * * * *', since: 'P30D', pageSize: 25, window: 'P1D', maxPages: 50, maxSeconds: 120 });
    expect(c.blobContainer).toBe('submissions');
    expect(c.substatusLabel).toBe('Mottatt');
  });
  it('accepts a certificate instead of a kid', () => {
    const c = loadConfig(
      validEnv({ MASKINPORTEN_KID: undefined, MASKINPORTEN_CERTIFICATE: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }),
    );
    expect(c.maskinporten.kid).toBeUndefined();
    expect(c.maskinporten.certificate).toContain('BEGIN CERTIFICATE');
  });
  it('accepts a JWK key', () => {
    const c = loadConfig(validEnv({ MASKINPORTEN_KEY: '{"kty":"RSA","n":"abc","e":"AQAB","d":"xyz"}' }));
    expect(c.maskinporten.key).toContain('"kty"');
  });
});

describe('rejections', () => {
  it('names every missing required setting at once', () => {
    const problems = problemsOf({});
    expect(problems.map((p) => p.setting).sort()).toEqual(
      ['ALTINN_ORG', 'AzureWebJobsStorage', 'MASKINPORTEN_CLIENT_ID', 'MASKINPORTEN_KEY'].sort(),
    );
    for (const p of problems) expect(p.message.length).toBeGreaterThan(5);
  });
  it.each([
    ['ALTINN_ENV', 'staging'],
    ['ALTINN_ORG', 'TTD'],
    ['ALTINN_ORG', 't'],
    ['ALTINN_APPS', 'ok-app,Bad App'],
    ['ALTINN_APPS', 'a,,b'],
    ['ALTINN_EVENT_TYPES', 'app.instance.process.completed,,x'],
    ['ALTINN_EVENT_TYPES', 'app instance'],
    ['ALTINN_EVENT_TYPES', 'app.instance.*'],
    ['ALTINN_DATA_TYPES', 'model,../etc'],
    ['MASKINPORTEN_URL', 'not a url'],
    ['MASKINPORTEN_URL', 'http://test.maskinporten.no'],
    ['MASKINPORTEN_URL', 'ftp://test.maskinporten.no'],
    ['MASKINPORTEN_URL', 'https://user:pw@test.maskinporten.no'],
    ['ALTINN_PLATFORM_URL', 'http://10.0.0.5:5000'],
    ['ALTINN_PLATFORM_URL', 'https://platform.altinn.no/?x=1'],
    ['ALTINN_APPS_URL', 'https://{org}.apps.example.no/apps'],
    ['ALTINN_APPS_URL', 'http://{org}.apps.example.no'],
    ['MASKINPORTEN_SCOPES', 'a  b'],
    ['MASKINPORTEN_CONSUMER_ORG', '12345'],
    ['MASKINPORTEN_ALG', 'HS256'],
    ['MASKINPORTEN_KEY', 'not-a-key'],
    ['MASKINPORTEN_CERTIFICATE', 'garbage'],
    ['DOWNLOAD_CONCURRENCY', '0'],
    ['DOWNLOAD_CONCURRENCY', 'four'],
    ['TOKEN_REFRESH_MARGIN_SECONDS', '-1'],
    ['CONFIRM_ON_INFECTED', 'maybe'],
    ['BLOB_CONTAINER', 'Bad_Container'],
    ['RECONCILE_SCHEDULE', '*/15 * * * *'],
    ['RECONCILE_SINCE', '30 days'],
    ['FEED_ENABLED', 'sometimes'],
    ['FEED_SCHEDULE', '*/5 * * * *'],
    // Altinn Events keeps events 90 days: a first run cannot start further back.
    ['FEED_LOOKBACK_HOURS', String(90 * 24 + 1)],
    ['FEED_PAGE_SIZE', '0'],
    ['FEED_PAGE_SIZE', '1001'],
    ['FEED_MIN_AGE_SECONDS', '3601'],
    ['AzureWebJobsStorage', 'garbage'],
  ])('%s=%j is rejected by name', (setting, value) => {
    const problems = problemsOf(validEnv({ [setting]: value }));
    expect(problems.map((p) => p.setting)).toContain(setting);
  });
  it('needs a kid or a certificate, not both', () => {
    expect(settingsIn(validEnv({ MASKINPORTEN_KID: undefined }))).toEqual(['MASKINPORTEN_KID']);
    expect(
      problemsOf(validEnv({ MASKINPORTEN_CERTIFICATE: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }))[0]?.message,
    ).toMatch(/only one/);
  });
  it('never echoes a secret value, even when it is the bad one', () => {
    const key = testPrivateKey();
    const cert = `-----BEGIN CERT-----${key}`;
    const storage = 'DefaultEndpointsProtocol=https;AccountName=x;AcountKey=c2VjcmV0LXN0b3JhZ2Uta2V5';
    const envs = [
      validEnv({ MASKINPORTEN_KEY: key.replace('BEGIN PRIVATE KEY', 'BEGIN PUBLIC KEY') }),
      validEnv({ MASKINPORTEN_KEY: 'sk_live_super_secret_value_123456', MASKINPORTEN_KID: undefined, MASKINPORTEN_CERTIFICATE: cert }),
      validEnv({ AzureWebJobsStorage: storage, ALTINN_ORG: undefined }),
    ];
    for (const env of envs) {
      const err = (() => {
        try {
          loadConfig(env);
        } catch (e) {
          return e as Error;
        }
        throw new Error('expected failure');
      })();
      const text = `${err.message}\n${JSON.stringify(err)}\n${String(err.stack)}`;
      for (const secret of [env.MASKINPORTEN_KEY, env.MASKINPORTEN_CERTIFICATE, env.AzureWebJobsStorage]) {
        if (!secret || secret === 'UseDevelopmentStorage=true') continue;
        expect(text).not.toContain(secret);
        // Not even a recognisable part of it.
        expect(text).not.toContain(secret.slice(30, 60));
      }
      expect(text).not.toContain('c2VjcmV0LXN0b3JhZ2Uta2V5');
    }
  });
});

describe('storage connection', () => {
  it('reads an account name from a connection string', () => {
    const c = loadConfig(validEnv({ AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net' }));
    expect(c.storage).toMatchObject({ kind: 'connectionString', accountName: 'acct' });
  });
  it('takes identity-based settings by account name', () => {
    const c = loadConfig(
      validEnv({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: 'acct', AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: 'cid' }),
    );
    expect(c.storage).toEqual({
      kind: 'identity',
      accountName: 'acct',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      queueServiceUri: 'https://acct.queue.core.windows.net',
      credential: 'managedidentity',
      clientId: 'cid',
    });
  });
  it('takes identity-based settings by service URIs', () => {
    const c = loadConfig(
      validEnv({
        AzureWebJobsStorage: undefined,
        AzureWebJobsStorage__blobServiceUri: 'https://acct.blob.core.windows.net/',
        AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
      }),
    );
    expect(c.storage).toMatchObject({ kind: 'identity', accountName: 'acct', credential: 'default', clientId: undefined });
  });
  it('rejects half an identity configuration and bad URIs', () => {
    expect(settingsIn(validEnv({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__blobServiceUri: 'https://a.blob.core.windows.net' }))).toEqual([
      'AzureWebJobsStorage',
    ]);
    expect(
      settingsIn(validEnv({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: 'a', AzureWebJobsStorage__blobServiceUri: 'http://a.blob' })),
    ).toEqual(['AzureWebJobsStorage']);
    expect(
      settingsIn(validEnv({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: 'a', AzureWebJobsStorage__credential: 'password' })),
    ).toEqual(['AzureWebJobsStorage']);
  });
});
