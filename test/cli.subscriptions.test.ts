import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { jsonOf, runCli } from './support/cli.js';
import { azuriteConnectionString } from './support/storage.js';

/** A loopback webhook: answers every POST with `status`, keeps the CloudEvents it got. */
async function webhook(status: number) {
  const received: { type?: string; url: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ ...(JSON.parse(body) as { type?: string }), url: req.url ?? '' });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const FUNCTION_KEY = 'k3y-that-must-never-be-printed';

let sim: Simulator;
let env: Record<string, string>;
let ok: Awaited<ReturnType<typeof webhook>>;
let failing: Awaited<ReturnType<typeof webhook>>;

beforeAll(async () => {
  sim = await startSimulator();
  env = { ...(await sim.newClient()).env, AzureWebJobsStorage: azuriteConnectionString() };
  [ok, failing] = await Promise.all([webhook(200), webhook(503)]);
});
afterAll(async () => {
  await sim.stop();
  await Promise.all([ok.close(), failing.close()]);
});

type Created = { id: number; validated: boolean; sourceFilter: string; typeFilter: string; endPoint: string };

describe('subscriptions create', () => {
  it('subscribes the app, the validation handshake reaches the webhook, and it shows validated', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', `${ok.url}?code=${FUNCTION_KEY}`, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const created = jsonOf<Created>(run);
    expect(created.validated).toBe(true);
    expect(ok.received.map((e) => e.type)).toContain('platform.events.validatesubscription');
    const stored = sim.events.subscriptions.get(created.id);
    expect(stored?.sourceFilter).toBe(`${sim.appsUrl}/ttd/my-app`);
    expect(stored?.typeFilter).toBe('app.instance.process.completed');
    expect(stored?.endPoint).toBe(`${ok.url}?code=${FUNCTION_KEY}`);
    expect(run.stdout + run.stderr).not.toContain(FUNCTION_KEY);
    expect(created.endPoint).toContain('code=[redacted]');
  });

  it('--type sets the typeFilter; text output names the id and that it validated', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', ok.url, '--type', 'app.instance.created'], { env });
    expect(run.code, run.stderr).toBe(0);
    const id = Number(/created subscription (\d+)/.exec(run.stdout)?.[1]);
    expect(sim.events.subscriptions.get(id)?.typeFilter).toBe('app.instance.created');
    expect(run.stdout).toContain('validated: yes');
  });

  it('an endpoint that does not answer 200 is reported as not validated', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', failing.url, '--wait', '0', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf<Created>(run).validated).toBe(false);
  });

  it.each<[string, { endpoint: string; env?: Record<string, string> }, string]>([
    ['a non-https endpoint', { endpoint: 'http://receiver.example/api/events?code=k' }, 'must use https'],
    ['plain http to loopback outside ALTINN_ENV=custom', { endpoint: 'http://127.0.0.1:1/api/events', env: { ALTINN_ENV: 'tt02' } }, 'must use https'],
    ['a non-loopback endpoint without a function key', { endpoint: 'https://receiver.example/api/events' }, 'function key'],
    ['an app outside ALTINN_APPS', { endpoint: 'https://receiver.example/api/events?code=k', env: { ALTINN_APPS: 'other-app' } }, 'not in ALTINN_APPS'],
  ])('refuses %s: exit 1, nothing created', async (_what, c, message) => {
    const before = sim.events.subscriptions.size;
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', c.endpoint], { env: { ...env, ...c.env } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(message);
    expect(sim.events.subscriptions.size).toBe(before);
  });

  it('a Maskinporten client without altinn:events.subscribe: exit 3, the token error shown', async () => {
    const narrow = { ...(await sim.newClient({ scopes: ['altinn:serviceowner/instances.read'] })).env, AzureWebJobsStorage: azuriteConnectionString() };
    narrow.MASKINPORTEN_SCOPES = 'altinn:serviceowner/instances.read';
    const run = await runCli(['subscriptions', 'list'], { env: narrow });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/scope/i);
    expect(run.stderr).not.toContain('PRIVATE KEY');
  });
});

describe('subscriptions list and delete', () => {
  it('round-trip: listed, deleted, gone', async () => {
    const created = jsonOf<Created>(await runCli(['subscriptions', 'create', '--app', 'list-app', '--endpoint', ok.url, '--json'], { env }));
    const list = await runCli(['subscriptions', 'list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const listed = jsonOf<{ subscriptions: Created[] }>(list).subscriptions.find((s) => s.id === created.id);
    expect(listed).toMatchObject({ validated: true, sourceFilter: `${sim.appsUrl}/ttd/list-app` });

    const table = await runCli(['subscriptions', 'list'], { env });
    expect(table.stdout).toMatch(/^ID +VALIDATED +TYPE +SOURCE +ENDPOINT +CREATED/);
    expect(table.stdout).toMatch(new RegExp(`^${created.id} +yes +app\\.instance\\.process\\.completed +${sim.appsUrl}/ttd/list-app`, 'm'));

    const del = await runCli(['subscriptions', 'delete', String(created.id)], { env });
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain(`deleted subscription ${created.id}`);
    expect(sim.events.subscriptions.has(created.id)).toBe(false);
    const after = jsonOf<{ subscriptions: Created[] }>(await runCli(['subscriptions', 'list', '--json'], { env }));
    expect(after.subscriptions.map((s) => s.id)).not.toContain(created.id);
  });

  it("deleting an unknown id: exit 1, with Altinn's problem details readable", async () => {
    const run = await runCli(['subscriptions', 'delete', '987654'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no subscription 987654');
    expect(run.stderr).toContain('Altinn answered 404');
    expect(run.stderr).toContain('\n  subscription not found');
  });

  it('Altinn failing: exit 3, problem details in --json errors', async () => {
    sim.faults.add({ route: 'events.list', status: 503, times: 1 });
    const run = await runCli(['subscriptions', 'list', '--json'], { env });
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    const { error } = JSON.parse(run.stderr.trim().split('\n').at(-1)!) as { error: { exitCode: number; status: number; problem?: { detail?: string } } };
    expect(error).toMatchObject({ exitCode: 3, status: 503 });
    expect(error.problem?.detail).toBe('injected fault');
  });
});
