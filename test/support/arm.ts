import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { z } from 'zod';

/** infra/main.bicep compiled by the real Bicep compiler (infra/tools/bicep restores it from NuGet with dotnet), and reading it. */

export const hasDotnet = spawnSync('dotnet', ['--version'], { stdio: 'ignore' }).status === 0;

export async function compileMain(root: string): Promise<unknown> {
  const { stdout, stderr } = await promisify(execFile)(join(root, 'infra', 'tools', 'bicep'), ['build', 'infra/main.bicep', '--stdout'], {
    cwd: root,
    maxBuffer: 32 * 1024 * 1024,
  });
  expect(stderr).not.toMatch(/: (Warning|Error) /);
  return JSON.parse(stdout) as unknown;
}

const resourceSchema = z.looseObject({
  type: z.string(),
  name: z.string(),
  existing: z.boolean().optional(),
  condition: z.unknown().optional(),
  scope: z.string().optional(),
  copy: z.looseObject({ count: z.unknown() }).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});
export type Resource = z.infer<typeof resourceSchema>;

/** Every resource of `type` the template deploys, in it or any nested (module) template; `existing` references aside. */
export function resourcesOf(node: unknown, type: string, found: Resource[] = []): Resource[] {
  if (Array.isArray(node)) for (const item of node) resourcesOf(item, type, found);
  else if (node && typeof node === 'object') {
    const r = resourceSchema.safeParse(node);
    if (r.success && r.data.type === type && !r.data.existing) found.push(r.data);
    for (const value of Object.values(node)) resourcesOf(value, type, found);
  }
  return found;
}

export function only(node: unknown, type: string): Resource {
  const found = resourcesOf(node, type);
  expect(found.map((r) => r.type)).toEqual([type]);
  return found[0]!;
}

export const isExpression = (v: unknown) => typeof v === 'string' && v.startsWith('[') && !v.startsWith('[[');

// Built-in role definition ids, the same in every tenant (learn.microsoft.com: Azure built-in roles).
export const ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

export const deploymentSchema = z.looseObject({
  condition: z.unknown().optional(),
  properties: z.object({
    parameters: z.record(z.string(), z.unknown()),
    template: z.looseObject({
      parameters: z.record(z.string(), z.looseObject({ defaultValue: z.unknown().optional() })).default({}),
      variables: z.record(z.string(), z.unknown()).default({}),
      resources: z.unknown(),
    }),
  }),
});
export type Deployment = z.infer<typeof deploymentSchema>;

/** The module (nested deployment) that deploys a resource of `type`. */
export function moduleWith(template: unknown, type: string): Deployment {
  return deploymentSchema.parse(resourcesOf(template, 'Microsoft.Resources/deployments').find((d) => resourcesOf(d.properties?.template, type).length > 0));
}

export interface Grant {
  /** "app" (the function app's identity) or the parameter the principal id comes from. */
  principal: string;
  role: string;
  /** Resource type of the scope; "resource group" when the assignment has none. */
  scopeType: string;
  scope: string;
  /** The assignment's condition and copy count, as the template states them. */
  condition?: unknown;
  count?: unknown;
}

/** Every role assignment the template makes, in any module. */
export function grants(template: unknown): Grant[] {
  return resourcesOf(template, 'Microsoft.Resources/deployments').flatMap((d) => {
    const module = deploymentSchema.parse(d);
    const variables = module.properties.template.variables;
    const own = Object.values(z.record(z.string(), z.unknown()).parse(module.properties.template.resources)).filter(
      (r) => resourceSchema.safeParse(r).success && (r as Resource).type === 'Microsoft.Authorization/roleAssignments',
    ) as Resource[];
    return own.flatMap((r) => {
      const props = z.object({ roleDefinitionId: z.string(), principalId: z.string() }).parse(r.properties);
      const ids = [...props.roleDefinitionId.matchAll(/variables\('(\w+)'\)/g)].map((m) => String(variables[m[1]!]));
      const principal = /reference\('identity'\)|userAssignedIdentities/.test(props.principalId) ? 'app' : (/parameters\('(\w+)'\)/.exec(props.principalId)?.[1] ?? props.principalId);
      const scopeType = /resourceId\('([^']+)'/.exec(r.scope ?? '')?.[1] ?? 'resource group';
      return ids.map((id) => ({ principal, role: ROLES[id] ?? id, scopeType, scope: r.scope ?? '', condition: r.condition, count: r.copy?.count }));
    });
  });
}
