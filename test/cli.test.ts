import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/run.js';
import { loadSettings } from '../cli/settings.js';
import { parseStorageConnection } from '../lib/azure/storageConnection.js';
import { jsonOf, runCli } from './support/cli.js';
import { validEnv } from './support/settings.js';
import { azuriteConnectionString } from './support/storage.js';

describe('CLI arguments', () => {
  it.each([
    [[], 'usage: altinn-receiver <command>'],
    [['frobnicate'], 'usage: altinn-receiver <command>'],
    [['poison'], 'usage: altinn-receiver poison <list|replay|purge>'],
    [['subscriptions', 'renew'], 'usage: altinn-receiver subscriptions <create|list|delete|check>'],
    [['poison', 'replay'], 'usage: altinn-receiver poison replay (--all | --id <messageId>)'],
    [['poison', 'replay', '--all', '--id', 'abc'], 'usage: altinn-receiver poison replay'],
    [['poison', 'list', '--bogus'], 'usage: altinn-receiver poison list'],
    [['poison', 'purge'], 'usage: altinn-receiver poison purge --older-than <duration>'],
    [['poison', 'purge', '--older-than', 'soon'], 'usage: altinn-receiver poison purge'],
    [['subscriptions', 'create', '--app', 'my-app'], 'usage: altinn-receiver subscriptions create --app <app> --endpoint <url>'],
    [['subscriptions', 'create', '--endpoint', 'https://x.example/api/events?code=k', '--app'], 'usage: altinn-receiver subscriptions create'],
    [['subscriptions', 'create', '--app', 'Not_An_App', '--endpoint', 'https://x.example'], 'usage: altinn-receiver subscriptions create'],
    [['subscriptions', 'create', '--app', 'a1', '--endpoint', 'https://x.example', '--wait', 'long'], 'usage: altinn-receiver subscriptions create'],
    [['subscriptions', 'delete'], 'usage: altinn-receiver subscriptions delete <id>'],
    [['subscriptions', 'delete', 'abc'], 'usage: altinn-receiver subscriptions delete <id>'],
    [['subscriptions', 'delete', '1', '2'], 'usage: altinn-receiver subscriptions delete <id>'],
    [['reconcile', '--app', 'Bad_App'], 'usage: altinn-receiver reconcile'],
  ])('%j → exit 2 and a usage line, before reading any setting', async (args, usage) => {
    const run = await runCli(args, { env: {} });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toContain(usage);
    expect(run.stdout).toBe('');
  });

  it('names the missing argument', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app'], { env: {} });
    expect(run.stderr).toContain('--endpoint: is required');
    const purge = await runCli(['poison', 'purge'], { env: {} });
    expect(purge.stderr).toContain('--older-than: is required');
  });

  it('with --json, a usage error is a JSON object on stderr', async () => {
    const run = await runCli(['poison', 'list', '--json', '--bogus'], { env: {} });
    expect(run.code).toBe(2);
    const [first] = run.stderr.split('\n');
    const { error } = JSON.parse(first!) as { error: { exitCode: number; message: string } };
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('--bogus');
  });

  it('--help of every command: exit 0, usage, options and examples', async () => {
    const top = await runCli(['--help'], { env: {} });
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c.path.join(' '));
    expect(top.stdout).toContain('exit codes: 0 ok, 1 user error');
    for (const c of COMMANDS) {
      const run = await runCli([...c.path, '--help'], { env: {} });
      expect(run.code, c.path.join(' ')).toBe(0);
      expect(run.stdout).toContain(`usage: altinn-receiver ${c.path.join(' ')}`);
      expect(run.stdout).toMatch(/examples:\n {2}altinn-receiver /);
      expect(run.stdout).toContain('--json');
    }
  });
});

describe('CLI settings', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-settings-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('bad settings: exit 1, every bad setting the command needs named, no secret printed', async () => {
    const env = validEnv({ ALTINN_ORG: 'NOT VALID', MASKINPORTEN_CLIENT_ID: undefined, AzureWebJobsStorage: azuriteConnectionString() });
    const run = await runCli(['poison', 'list'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('ALTINN_ORG');
    // poison commands never call Altinn: Maskinporten settings are not theirs to judge.
    expect(run.stderr).not.toContain('MASKINPORTEN_CLIENT_ID');
    expect(run.stderr).not.toContain('PRIVATE KEY');
    expect(run.stderr).not.toContain('AccountKey=');
    const altinn = await runCli(['reconcile', '--dry-run'], { env: { ...env, ALTINN_ORG: 'ttd' } });
    expect(altinn.code).toBe(1);
    expect(altinn.stderr).toContain('MASKINPORTEN_CLIENT_ID');
    expect(altinn.stderr).not.toContain('PRIVATE KEY');
  });

  it('reads ./local.settings.json when ALTINN_ENV is not set, its Values only (the environment is not mixed in), and says so', async () => {
    const file = { IsEncrypted: false, Values: { ...validEnv({ AzureWebJobsStorage: azuriteConnectionString() }), ALTINN_ORG: 'NOT VALID' } };
    await writeFile(join(dir, 'local.settings.json'), JSON.stringify(file));
    const broken = await runCli(['poison', 'list', '--json'], { cwd: dir, env: { ALTINN_ORG: 'ttd' } });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`settings: ${join(dir, 'local.settings.json')} (ALTINN_ENV is not set in the environment; 1 setting(s) from the environment ignored)`);
    expect(broken.stderr).toContain('ALTINN_ORG');
    const fixed = { Values: { ...file.Values, ALTINN_ORG: 'ttd' } };
    await writeFile(join(dir, 'local.settings.json'), JSON.stringify(fixed));
    const run = await runCli(['poison', 'list', '--json'], { cwd: dir, env: {} });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf(run)).toMatchObject({ queue: 'altinn-events-poison' });
  });

  it('one source: with ALTINN_ENV the environment alone (the file is ignored, storage included); with a file, its storage alone', async () => {
    const local = await mkdtemp(join(tmpdir(), 'cli-storage-'));
    const file = { Values: { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AzureWebJobsStorage__clientId: 'local', ALTINN_ORG: 'ttd' } };
    await writeFile(join(local, 'local.settings.json'), JSON.stringify(file));
    try {
      const deployed = { ALTINN_ENV: 'production', AzureWebJobsStorage__accountName: 'stdeployed', PATH: '/bin' };
      const fromEnv = await loadSettings(local, deployed);
      expect(fromEnv.env).toEqual(deployed);
      expect(fromEnv.source).toBe(`the environment (ALTINN_ENV=production); ${join(local, 'local.settings.json')} ignored (use --settings to read it)`);
      expect(parseStorageConnection(fromEnv.env)).toMatchObject({ kind: 'identity', accountName: 'stdeployed' });
      const fromFile = await loadSettings(local, { AzureWebJobsStorage__accountName: 'stdeployed', MASKINPORTEN_KEY: 'env-key', PATH: '/bin' });
      expect(fromFile.env).toEqual({ ...file.Values, PATH: '/bin' });
      const asked = await loadSettings('/', { ...deployed, MASKINPORTEN_KEY: 'env-key' }, join(local, 'local.settings.json'));
      expect(asked.env).toEqual({ ...file.Values, PATH: '/bin' });
      expect(asked.source).toBe(`${join(local, 'local.settings.json')} (from --settings; 3 setting(s) from the environment ignored)`);
      expect(await loadSettings(local, { ALTINN_ORG: 'other' }, 'nope.json').catch((e: Error) => e.message)).toBe(`--settings ${join(local, 'nope.json')}: no such file`);
      expect((await loadSettings(dir, { ALTINN_ORG: 'x' })).source).toBe(`${join(dir, 'local.settings.json')} (ALTINN_ENV is not set in the environment; 1 setting(s) from the environment ignored)`);
      expect(await loadSettings(join(local, 'missing'), { ALTINN_ORG: 'x' })).toEqual({ env: { ALTINN_ORG: 'x' }, source: 'the environment', fileInvolved: false });
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });

  it('a local.settings.json that is not JSON is a user error naming the file', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'cli-bad-'));
    await writeFile(join(bad, 'local.settings.json'), '{ nope');
    const run = await runCli(['poison', 'list'], { cwd: bad, env: {} });
    await rm(bad, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('local.settings.json is not valid JSON');
  });
});
