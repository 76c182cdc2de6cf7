/**
 * azd postprovision hook (`npm run roles:wait`). New role assignments take minutes to apply: until then
 * storing the key answers ForbiddenByRbac and the CLI 403. Waits, up to 5 minutes, until the deploying
 * user's Key Vault role (and, when the deploying user is the operator, their queue role) answer. A vault or
 * account closed to this machine's network (vnetEnabled without operatorCidrs) is said so, not waited for.
 * azd passes the environment's values and the infra outputs as environment variables.
 */
import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { resolveCommand } from './command.js';

type Answer = 'ok' | 'not-yet' | 'closed' | 'no-az';

async function az(args: string[]): Promise<Answer> {
  let cmd;
  try {
    cmd = resolveCommand('az', [...args, '--output', 'none']);
  } catch {
    return 'no-az';
  }
  try {
    await promisify(execFile)(cmd.command, cmd.args, { shell: cmd.shell, timeout: 60_000 });
    return 'ok';
  } catch (e) {
    const err = e as { code?: unknown; stderr?: string };
    if (err.code === 'ENOENT') return 'no-az';
    // Key Vault: ForbiddenByConnection/ForbiddenByFirewall; storage: AuthorizationFailure (network rules).
    return /ForbiddenByConnection|ForbiddenByFirewall|AuthorizationFailure|public network access/i.test(err.stderr ?? '') ? 'closed' : 'not-yet';
  }
}

async function rolesAnswer(env: NodeJS.ProcessEnv): Promise<Answer> {
  const vault = await az(['keyvault', 'secret', 'list', '--vault-name', env.AZURE_KEY_VAULT_NAME ?? '']);
  if (vault !== 'ok' || env.OPERATOR_PRINCIPAL_ID !== env.AZURE_PRINCIPAL_ID) return vault;
  return az(['storage', 'message', 'peek', '--queue-name', 'altinn-events-poison', '--auth-mode', 'login', '--account-name', env.AZURE_STORAGE_ACCOUNT_NAME ?? '']);
}

async function main(): Promise<void> {
  if (!process.env.AZURE_PRINCIPAL_ID) return;
  for (let i = 1; i <= 30; i++) {
    const answer = await rolesAnswer(process.env);
    if (answer === 'ok') return console.log('roles: in effect');
    if (answer === 'no-az') return console.log('roles: az is not installed, not waiting; new roles can take a few minutes to apply');
    if (answer === 'closed') {
      return console.log('roles: Key Vault and storage take no traffic from this network (vnetEnabled): store the key and run the CLI from inside the virtual network, or list your address in OPERATOR_CIDRS (docs/deploy.md)');
    }
    console.log(`roles: not in effect yet, checking again in 10 s (${i}/30)`);
    await delay(10_000);
  }
  console.error('roles: still not in effect after 5 minutes; wait a few more minutes before storing the key or using the CLI');
}

await main();
