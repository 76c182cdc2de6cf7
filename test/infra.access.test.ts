import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { QUEUES } from '../lib/queue/names.js';
import { evaluate } from './support/armExpression.js';
import { compileMain, grants, hasDotnet, moduleWith, only, type Deployment, type Grant } from './support/arm.js';

/**
 * Who may do what, and who may reach it, in infra/main.bicep compiled to ARM: least-privilege roles
 * (no principal but the app's identity can write the deployment container; the operator never at account
 * scope) and closed by default (Altinn's addresses only, private endpoints, no public network access).
 * ARM expressions the checks depend on are evaluated (test/support/armExpression.ts) with the defaults.
 */

const root = join(import.meta.dirname, '..');
const mainSchema = z.looseObject({
  parameters: z.record(z.string(), z.looseObject({ defaultValue: z.unknown().optional() })),
  variables: z.record(z.string(), z.unknown()),
  resources: z.record(z.string(), z.looseObject({ condition: z.unknown().optional(), properties: z.looseObject({ parameters: z.record(z.string(), z.unknown()).optional() }).optional() })),
});

// Write-capable roles on blob data; a scope that holds the deployment container: the account, its blob service, the container, the resource group.
const BLOB_WRITERS = ['Storage Blob Data Owner', 'Storage Blob Data Contributor'];
const HOLDS_DEPLOYMENT_CONTAINER = ['Microsoft.Storage/storageAccounts', 'Microsoft.Storage/storageAccounts/blobServices', 'resource group'];

/** The main template's parameter defaults, with stand-ins for required ones and `overrides`. */
function mainParameters(main: z.infer<typeof mainSchema>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const values = Object.fromEntries(Object.entries(main.parameters).map(([k, p]) => [k, p.defaultValue ?? `<${k}>`]));
  return { ...values, ...overrides };
}

/** A module's parameter values as main passes them, evaluated with main's parameters. */
function moduleParameters(module: Deployment, parameters: Record<string, unknown>, variables: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(module.properties.parameters).flatMap(([k, v]) => {
      try {
        return [[k, (evaluate(v, { parameters, variables }) as { value: unknown }).value]];
      } catch {
        return []; // an expression the evaluator does not model (names, references): not needed here
      }
    }),
  );
}

describe.runIf(hasDotnet)('infra access (compiled ARM)', () => {
  let template: unknown;
  let main: z.infer<typeof mainSchema>;
  let all: Grant[];

  beforeAll(async () => {
    template = await compileMain(root);
    main = mainSchema.parse(template);
    all = grants(template);
  }, 240_000);

  it("lets no principal but the app's identity write the deployment container", () => {
    const writers = all.filter((g) => BLOB_WRITERS.includes(g.role) && (HOLDS_DEPLOYMENT_CONTAINER.includes(g.scopeType) || g.scope.includes("'deploymentContainerName'")));
    expect(writers.map((g) => `${g.principal} ${g.role} on ${g.scopeType}`)).toEqual(['app Storage Blob Data Owner on Microsoft.Storage/storageAccounts']);
    // The container the operator gets is the download container, never the deployment one.
    expect(main.variables.downloadContainerName).not.toBe(main.variables.deploymentContainerName);
    const roles = moduleWith(template, 'Microsoft.Authorization/roleAssignments');
    expect(roles.properties.parameters.downloadContainerName).toEqual({ value: "[variables('downloadContainerName')]" });
    expect(all.every((g) => g.scopeType !== 'resource group')).toBe(true);
  });

  it('gives the operator Blob Data Contributor on the download container and Queue Data Contributor on each receiver queue, never account scope', () => {
    const operator = all.filter((g) => g.principal === 'operatorPrincipalId');
    expect(operator.map((g) => `${g.role} on ${g.scopeType}`).sort()).toEqual([
      'Storage Blob Data Contributor on Microsoft.Storage/storageAccounts/blobServices/containers',
      'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts/queueServices/queues',
    ]);
    expect(operator.filter((g) => HOLDS_DEPLOYMENT_CONTAINER.includes(g.scopeType))).toEqual([]);
    const [container, queues] = [operator.find((g) => g.role.includes('Blob'))!, operator.find((g) => g.role.includes('Queue'))!];
    expect(container.scope).toContain("parameters('downloadContainerName')");
    expect(queues.scope).toContain("parameters('queueNames')");
    // One assignment per queue of lib/queue/names, and none at all without an operator.
    const count = (operatorPrincipalId: string) => evaluate(queues.count, { parameters: { operatorPrincipalId, queueNames: Object.values(QUEUES) } });
    expect([count('00000000-0000-0000-0000-000000000001'), count('')]).toEqual([Object.values(QUEUES).length, 0]);
    expect(evaluate(container.condition, { parameters: { operatorPrincipalId: '' } })).toBe(false);
    expect(moduleWith(template, 'Microsoft.Authorization/roleAssignments').properties.parameters.queueNames).toEqual({ value: "[variables('queueNames')]" });
  });

  it('keeps the app to storage, its vault secrets (read) and telemetry; the deployer to storing secrets', () => {
    expect(all.filter((g) => g.principal === 'app').map((g) => `${g.role} on ${g.scopeType}`).sort()).toEqual([
      'Key Vault Secrets User on Microsoft.KeyVault/vaults',
      'Monitoring Metrics Publisher on Microsoft.Insights/components',
      'Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
      'Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
      'Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
    ]);
    expect(all.filter((g) => g.principal === 'deployerPrincipalId').map((g) => `${g.role} on ${g.scopeType}`)).toEqual(['Key Vault Secrets Officer on Microsoft.KeyVault/vaults']);
    expect(new Set(all.map((g) => g.principal))).toEqual(new Set(['app', 'operatorPrincipalId', 'deployerPrincipalId']));
  });

  it("admits only Altinn Events' published address for the environment (plus allowedCidrs) by default", () => {
    expect(main.parameters.restrictToAltinn?.defaultValue).toBe(true);
    expect(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')).toContain('"restrictToAltinn": { "value": "${RESTRICT_TO_ALTINN=true}" }');
    const app = moduleWith(template, 'Microsoft.Web/sites');
    // Altinn/altinn-studio-docs content/events/subscribe-to-events/_index.nb.md, "IP for utgående trafikk".
    expect(app.properties.template.variables.altinnOutboundIps).toEqual({ tt02: '20.100.24.41/32', production: '20.100.46.139/32' });
    const site = only(app.properties.template, 'Microsoft.Web/sites');
    const siteConfig = z.record(z.string(), z.unknown()).parse(site.properties?.siteConfig);
    const variables = app.properties.template.variables;
    for (const altinnEnv of ['tt02', 'production'] as const) {
      const parameters = { ...moduleParameters(app, mainParameters(main, { altinnEnv }), main.variables), allowAvailabilityTests: false };
      expect(evaluate(siteConfig.ipSecurityRestrictionsDefaultAction, { parameters })).toBe('Deny');
      expect(String(siteConfig.ipSecurityRestrictions)).toContain("variables('accessRules')");
      expect(parameters).toMatchObject({ restrictToAltinn: true, altinnEnv, allowedCidrs: [] });
      expect(String(variables.accessRules)).toContain("variables('altinnOutboundIps')[parameters('altinnEnv')]");
    }
    expect(app.properties.parameters.allowedCidrs).toEqual({ value: "[parameters('allowedCidrs')]" });
    expect(readFileSync(join(root, 'infra', 'main.parameters.json'), 'utf8')).toContain('"allowedCidrs": { "value": "${ALLOWED_CIDRS=[]}" }');
  });

  it('vnetEnabled (on by default): private endpoints for blob, queue, table and the vault, each in its private DNS zone, and the app in a delegated subnet', () => {
    expect(main.parameters.vnetEnabled?.defaultValue).toBe(true);
    expect(main.resources.network?.condition).toBe("[parameters('vnetEnabled')]");
    const network = moduleWith(template, 'Microsoft.Network/privateEndpoints');
    const endpoints = z.array(z.object({ group: z.string(), zone: z.string(), target: z.string() })).parse(network.properties.template.variables.endpoints);
    expect(endpoints.map((e) => e.group)).toEqual(['blob', 'queue', 'table', 'vault']);
    expect(endpoints.map((e) => /'Microsoft\.(Storage\/storageAccounts|KeyVault\/vaults)'/.exec(e.target)?.[1])).toEqual(['Storage/storageAccounts', 'Storage/storageAccounts', 'Storage/storageAccounts', 'KeyVault/vaults']);
    const pe = only(network.properties.template, 'Microsoft.Network/privateEndpoints');
    expect(JSON.stringify(pe.properties)).toContain(`"groupIds":["[variables('endpoints')[copyIndex()].group]"]`);
    expect(pe.copy?.count).toBe("[length(variables('endpoints'))]");
    expect(only(network.properties.template, 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups')).toBeDefined();
    expect(only(network.properties.template, 'Microsoft.Network/privateDnsZones/virtualNetworkLinks')).toBeDefined();
    const vnet = only(network.properties.template, 'Microsoft.Network/virtualNetworks');
    expect(JSON.stringify(vnet.properties)).toContain('"serviceName":"Microsoft.App/environments"');
    const app = main.resources.functionApp?.properties?.parameters?.virtualNetworkSubnetId;
    expect(String(app)).toContain("reference('network').outputs.appSubnetId.value");
    expect(evaluate(app, { parameters: { vnetEnabled: false } })).toEqual({ value: '' });
  });

  it('turns public network access off on storage and Key Vault by default; operatorCidrs opens it to those ranges only; without a VNet it stays open', () => {
    for (const [type, module] of [['Microsoft.Storage/storageAccounts', moduleWith(template, 'Microsoft.Storage/storageAccounts')], ['Microsoft.KeyVault/vaults', moduleWith(template, 'Microsoft.KeyVault/vaults')]] as const) {
      const resource = only(module.properties.template, type);
      const network = (overrides: Record<string, unknown>) => {
        const parameters = moduleParameters(module, mainParameters(main, overrides), main.variables);
        const scope = { parameters, variables: { ipRules: ['<rules>'] } };
        return [evaluate(resource.properties?.publicNetworkAccess, scope), (evaluate(resource.properties?.networkAcls, scope) as { defaultAction: string }).defaultAction];
      };
      expect(network({}), type).toEqual(['Disabled', 'Deny']);
      expect(network({ operatorCidrs: ['203.0.113.0/24'] }), type).toEqual(['Enabled', 'Deny']);
      expect(network({ vnetEnabled: false }), type).toEqual(['Enabled', 'Allow']);
    }
    expect(main.parameters.operatorCidrs?.defaultValue).toEqual([]);
  });

  it('keeps every version of a stored submission (blob versioning), previous versions for 30 days', () => {
    const storage = moduleWith(template, 'Microsoft.Storage/storageAccounts');
    expect(only(storage.properties.template, 'Microsoft.Storage/storageAccounts/blobServices').properties).toMatchObject({ isVersioningEnabled: true });
    const policy = only(storage.properties.template, 'Microsoft.Storage/storageAccounts/managementPolicies');
    expect(JSON.stringify(policy.properties)).toContain("\"version\":{\"delete\":{\"daysAfterCreationGreaterThan\":\"[parameters('versionRetentionDays')]\"}}");
    expect(storage.properties.parameters.versionRetentionDays).toEqual({ value: 30 });
  });
});
