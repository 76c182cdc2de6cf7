import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { jsonOf, runCli } from './support/cli.js';
import { azuriteConnectionString } from './support/storage.js';

/**
 * #27.3 a stray local.settings.json cannot send the environment's credentials anywhere: its URLs point at
 * a loopback server that counts requests, the environment holds real (simulated) credentials.
 */
let sim: Simulator;
let env: Record<string, string>;
let dir: string;
let stray: Server;
const seen: string[] = [];

beforeAll(async () => {
  sim = await startSimulator();
  env = { ...(await sim.newClient()).env, AzureWebJobsStorage: azuriteConnectionString() };
  stray = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x","expires_in":60}');
  });
  await new Promise<void>((r) => stray.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(stray.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'cli-stray-'));
  const values = { ALTINN_ENV: 'custom', ALTINN_ORG: 'ttd', MASKINPORTEN_URL: url, ALTINN_PLATFORM_URL: url, ALTINN_APPS_URL: url, AzureWebJobsStorage: azuriteConnectionString() };
  await writeFile(join(dir, 'local.settings.json'), JSON.stringify({ IsEncrypted: false, Values: values }));
});
afterAll(async () => {
  await sim.stop();
  await new Promise((r) => stray.close(r));
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

describe('CLI settings source: a stray local.settings.json', () => {
  it('with ALTINN_ENV in the environment: ignored; the environment alone is used and named', async () => {
    const run = await runCli(['subscriptions', 'list', '--json'], { cwd: dir, env });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf<{ subscriptions: unknown[] }>(run).subscriptions).toBeInstanceOf(Array);
    expect(run.stderr).toContain(`settings: the environment (ALTINN_ENV=custom); ${join(dir, 'local.settings.json')} ignored`);
    expect(seen).toEqual([]);
    // No file anywhere: the environment is the one source, as in Azure, and nothing is said about it.
    const plain = await runCli(['subscriptions', 'list', '--json'], { env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('settings:');
    // Credentials in the environment, URLs only in the file (the measured leak): the URLs are missing, nothing is sent.
    const { MASKINPORTEN_URL: _m, ALTINN_PLATFORM_URL: _p, ALTINN_APPS_URL: _a, ...credentialsOnly } = env;
    const mixed = await runCli(['subscriptions', 'list'], { cwd: dir, env: credentialsOnly });
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain('ALTINN_PLATFORM_URL');
    expect(seen).toEqual([]);
  });

  it('without ALTINN_ENV, or with --settings: the file alone, so the environment\'s credentials stay unused and nothing is sent', async () => {
    const { ALTINN_ENV: _unset, ...noEnv } = env;
    for (const [args, runEnv] of [
      [['subscriptions', 'list'], noEnv],
      [['subscriptions', 'list', '--settings', 'local.settings.json'], env],
    ] as const) {
      const run = await runCli([...args], { cwd: dir, env: runEnv });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/settings: .*local\.settings\.json \(.*setting\(s\) from the environment ignored\)/);
      expect(run.stderr).toContain('MASKINPORTEN_CLIENT_ID');
    }
    expect(seen).toEqual([]);
  });
});
