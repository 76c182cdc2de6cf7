import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FunctionDefinition } from '../lib/functionDefinition.js';
import { ConfigError, loadConfig, SECRET_SETTINGS, SETTING_NAMES } from '../lib/config.js';
import { QUEUES } from '../lib/queue/names.js';
import { parseStorageConnection } from '../lib/azure/storageConnection.js';
import { validEnv } from './support/settings.js';
import { compileMain, hasDotnet, isExpression, only, resourcesOf } from './support/arm.js';
import { evaluate } from './support/armExpression.js';

/**
 * infra/main.bicep compiled by the real Bicep compiler (infra/tools/bicep restores it from NuGet with
 * dotnet), then checked against lib/config.ts: the deployed app must get every setting it requires.
 */

const root = join(import.meta.dirname, '..');
if (!hasDotnet) {
  console.log('infra.test.ts: dotnet is not installed, so the Bicep compiler cannot be restored: the infra/ compile checks do NOT run on this machine.');
}

const templateSchema = z.looseObject({
  parameters: z.record(z.string(), z.looseObject({ defaultValue: z.unknown().optional() })),
  variables: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.object({ value: z.string() })),
});

/** The settings a valid environment cannot do without: each one's absence alone stops lib/config. */
function requiredSettings(): string[] {
  const env = validEnv();
  loadConfig(env);
  return Object.keys(env).filter((name) => {
    try {
      loadConfig({ ...env, [name]: undefined });
      return false;
    } catch (e) {
      return e instanceof ConfigError && e.problems.some((p) => p.setting === name);
    }
  });
}

describe.runIf(hasDotnet)('infra/main.bicep compiled to ARM', () => {
  let template: unknown;
  let main: z.infer<typeof templateSchema>;
  let settings: Record<string, unknown>;

  beforeAll(async () => {
    template = await compileMain(root);
    main = templateSchema.parse(template);
    settings = z
      .record(z.string(), z.unknown())
      .parse(resourcesOf(template, 'Microsoft.Web/sites/config').find((r) => isExpression(r.name) && r.name.includes("'appsettings'"))?.properties);
  }, 240_000);

  it('sets every setting lib/config requires', () => {
    const required = requiredSettings();
    expect(required).toEqual(expect.arrayContaining(['ALTINN_ORG', 'MASKINPORTEN_CLIENT_ID', 'MASKINPORTEN_KEY', 'AzureWebJobsStorage']));
    for (const name of required.filter((n) => n !== 'AzureWebJobsStorage')) expect(Object.keys(settings), name).toContain(name);
  });

  it("gives the host identity-based storage that lib/azure/storageConnection reads the same way", () => {
    expect(settings).not.toHaveProperty('AzureWebJobsStorage');
    // Deployment-time values stand in for the ARM expressions; literals are taken as deployed.
    const standIns: Record<string, string> = {
      accountName: 'acct',
      blobServiceUri: 'https://acct.blob.core.windows.net/',
      queueServiceUri: 'https://acct.queue.core.windows.net/',
      clientId: '11111111-2222-3333-4444-555555555555',
    };
    const env = Object.fromEntries(
      Object.entries(settings)
        .filter(([k]) => k.startsWith('AzureWebJobsStorage__'))
        .map(([k, v]) => {
          const part = k.slice('AzureWebJobsStorage__'.length);
          return [k, isExpression(v) ? standIns[part] : String(v)];
        }),
    );
    expect(parseStorageConnection(env)).toEqual({
      kind: 'identity',
      accountName: 'acct',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      queueServiceUri: 'https://acct.queue.core.windows.net',
      credential: 'managedidentity',
      clientId: standIns.clientId,
    });
  });

  it('sets nothing lib/config does not know, besides the platform settings', () => {
    const platform = /^(AzureWebJobsStorage__\w+|APPLICATIONINSIGHTS_(CONNECTION|AUTHENTICATION)_STRING)$/;
    const known = new Set<string>(SETTING_NAMES);
    expect(Object.keys(settings).filter((name) => !known.has(name) && !platform.test(name))).toEqual([]);
    expect(String(settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING)).toMatch(/Authorization=AAD;ClientId=/);
  });

  it('takes every secret setting from Key Vault, never as a value', () => {
    for (const name of SECRET_SETTINGS.filter((n) => n in settings)) {
      expect(isExpression(settings[name]), name).toBe(true);
      expect(String(settings[name]), name).toContain('@Microsoft.KeyVault(SecretUri=');
    }
    expect(settings).toHaveProperty('MASKINPORTEN_KEY');
  });

  it('creates the queues of lib/queue/names and a download container lib/config accepts', () => {
    expect(main.variables.queueNames).toEqual(Object.values(QUEUES));
    const storage = resourcesOf(template, 'Microsoft.Resources/deployments').find(
      (d) => resourcesOf(d.properties?.template, 'Microsoft.Storage/storageAccounts/queueServices/queues').length > 0,
    );
    expect(storage?.properties).toMatchObject({ parameters: { queueNames: { value: "[variables('queueNames')]" } } });
    const container = z.string().parse(main.variables.downloadContainerName);
    expect(loadConfig(validEnv({ BLOB_CONTAINER: container })).blobContainer).toBe(container);
    expect(settings.BLOB_CONTAINER).toBe("[parameters('downloadContainerName')]");
  });

  it('is secure by default', () => {
    expect(only(template, 'Microsoft.Web/serverfarms')).toMatchObject({ sku: { name: 'FC1', tier: 'FlexConsumption' }, properties: { reserved: true } });
    expect(only(template, 'Microsoft.Web/sites')).toMatchObject({
      kind: 'functionapp,linux',
      identity: { type: 'UserAssigned' },
      properties: {
        httpsOnly: true,
        siteConfig: { minTlsVersion: '1.2', scmMinTlsVersion: '1.2' },
        functionAppConfig: {
          runtime: { name: 'node', version: '22' },
          deployment: { storage: { type: 'blobContainer', authentication: { type: 'UserAssignedIdentity' } } },
        },
      },
    });
    const publishing = resourcesOf(template, 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(publishing.map((p) => p.properties)).toEqual([{ allow: false }, { allow: false }]);
    expect(only(template, 'Microsoft.Storage/storageAccounts').properties).toMatchObject({
      allowSharedKeyAccess: false,
      allowBlobPublicAccess: false,
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
    });
    expect(only(template, 'Microsoft.KeyVault/vaults').properties).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
    });
    const insights = only(template, 'Microsoft.Insights/components');
    expect(insights.properties).toMatchObject({ DisableLocalAuth: true, IngestionMode: 'LogAnalytics' });
    expect(String(insights.properties?.WorkspaceResourceId)).toMatch(/Microsoft\.OperationalInsights\/workspaces/);
  });

  it('sets no site property Flex Consumption rejects (FTP is off through the publishing policies instead)', () => {
    const site = only(template, 'Microsoft.Web/sites');
    const siteConfig = z.record(z.string(), z.unknown()).parse(site.properties?.siteConfig);
    const rejected = ['ftpsState', 'alwaysOn', 'use32BitWorkerProcess', 'linuxFxVersion', 'netFrameworkVersion', 'javaVersion', 'powerShellVersion', 'preWarmedInstanceCount', 'functionAppScaleLimit', 'functionsRuntimeScaleMonitoringEnabled'];
    expect(Object.keys(siteConfig).filter((k) => rejected.includes(k))).toEqual([]);
    const flexSettings = ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_CONTENTSHARE', 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', 'WEBSITE_NODE_DEFAULT_VERSION', 'SCM_DO_BUILD_DURING_DEPLOYMENT', 'ENABLE_ORYX_BUILD'];
    expect(Object.keys(settings).filter((k) => flexSettings.includes(k))).toEqual([]);
  });

  it('offers only regions with Flex Consumption, as an azd location parameter', () => {
    const location = z
      .object({ allowedValues: z.array(z.string()), metadata: z.object({ azd: z.object({ type: z.literal('location') }) }) })
      .parse(main.parameters.location);
    expect(location.allowedValues).toEqual([...new Set(location.allowedValues)].sort());
    // Norway East and the two EU regions next door offer it; staging and canary regions are not for production.
    expect(location.allowedValues).toEqual(expect.arrayContaining(['norwayeast', 'swedencentral', 'northeurope', 'westeurope']));
    expect(location.allowedValues.filter((l) => /euap|stage|\(|norwaywest/.test(l))).toEqual([]);
  });

  it('outputs the webhook and health URLs and the key command of the functions that serve them', async () => {
    const defs: FunctionDefinition[] = [];
    for (const file of readdirSync(join(root, 'functions')).filter((f) => f.endsWith('.ts'))) {
      defs.push(((await import(pathToFileURL(join(root, 'functions', file)).href)) as { definition: FunctionDefinition }).definition);
    }
    const http = (route: string) => defs.find((d) => d.kind === 'http' && d.options.route === route);
    const webhook = http('events');
    expect(webhook?.kind === 'http' && webhook.options.authLevel).toBe('function');
    expect(main.outputs.WEBHOOK_URL?.value).toMatch(/\/api\/events'/);
    expect(main.outputs.FUNCTION_KEY_COMMAND?.value).toContain(`--function-name ${webhook?.name} --query default`);
    const health = http('health');
    expect(health?.kind === 'http' && health.options.authLevel).toBe('anonymous');
    expect(main.outputs.HEALTH_URL?.value).toMatch(/\/api\/health'/);
  });

  it("defaults every app setting a timer schedule names (%SETTING%) to lib/config's value: an empty one would stop the function loading", async () => {
    const config = loadConfig(validEnv());
    for (const [file, setting, value] of [
      ['reconciler.ts', 'RECONCILE_SCHEDULE', config.reconcile.schedule],
      ['monitor.ts', 'MONITOR_SCHEDULE', config.monitor.schedule],
      ['feed.ts', 'FEED_SCHEDULE', config.feed.schedule],
    ] as const) {
      const { definition } = (await import(pathToFileURL(join(root, 'functions', file)).href)) as { definition: FunctionDefinition };
      expect(definition.kind === 'timer' && definition.options.schedule).toBe(`%${setting}%`);
      // Missing, empty or set: only a set value replaces the default (`??` alone kept an empty string).
      const site = resourcesOf(template, 'Microsoft.Resources/deployments').find((d) => resourcesOf(d.properties?.template, 'Microsoft.Web/sites').length > 0);
      const functions = (site?.properties?.template as { functions?: unknown }).functions;
      const scheduleWith = (tuning: Record<string, string>) => evaluate(settings[setting], { parameters: { tuning }, functions });
      expect([scheduleWith({}), scheduleWith({ [setting]: '' }), scheduleWith({ [setting]: '0 0 * * * *' })]).toEqual([value, value, '0 0 * * * *']);
    }
  });

  it('deploys the alert rules with an action group that mails ALERT_EMAIL when it is set', () => {
    expect(resourcesOf(template, 'Microsoft.Insights/scheduledQueryRules')).toHaveLength(1); // one copy loop over the rules
    expect(only(template, 'Microsoft.Insights/actionGroups').properties).toMatchObject({ enabled: true });
    expect(main.parameters.alertEmail).toMatchObject({ defaultValue: '' });
    const file = readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8');
    expect(file).toContain('"alertEmail": { "value": "${ALERT_EMAIL=}" }');
  });

  it('maps every parameter of main.parameters.json, and every required one', () => {
    const file = z
      .object({ parameters: z.record(z.string(), z.object({ value: z.unknown() })) })
      .parse(JSON.parse(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')));
    const declared = Object.keys(main.parameters);
    expect(Object.keys(file.parameters).filter((p) => !declared.includes(p))).toEqual([]);
    const required = declared.filter((p) => !('defaultValue' in main.parameters[p]!));
    expect(required.filter((p) => !(p in file.parameters))).toEqual([]);
  });
});
