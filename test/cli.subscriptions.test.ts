import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VALIDATION_RETRY_SECONDS } from '../cli/eventsValidation.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { jsonOf, runCli } from './support/cli.js';
import { loopbackWebhook } from './support/loopbackWebhook.js';
import { azuriteConnectionString } from './support/storage.js';

const webhook = loopbackWebhook;

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

type Created = { id: number; validated: boolean; resourceFilter: string; typeFilter: string; endPoint: string };

describe('subscriptions create', () => {
  it('subscribes the app, the validation handshake reaches the webhook, and it shows validated', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', `${ok.url}?code=${FUNCTION_KEY}`, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const created = jsonOf<Created>(run);
    expect(created.validated).toBe(true);
    expect(ok.received.map((e) => e.type)).toContain('platform.events.validatesubscription');
    const stored = sim.events.subscriptions.get(created.id);
    expect(stored?.resourceFilter).toBe('urn:altinn:resource:app_ttd_my-app');
    expect(stored?.sourceFilter).toBeNull();
    expect(stored?.typeFilter).toBe('app.instance.process.completed');
    expect(stored?.endPoint).toBe(`${ok.url}?code=${FUNCTION_KEY}`);
    expect(run.stdout + run.stderr).not.toContain(FUNCTION_KEY);
    expect(created.endPoint).toContain('code=[redacted]');
  });

  it('--type sets the typeFilter; text output names the id and that it validated', async () => {
    const run = await runCli(['subscriptions', 'create', '--app', 'my-app', '--endpoint', ok.url, '--type', 'app.instance.created'], { env });
    expect(run.code, run.stderr).toBe(0);
    const id = Number(/^subscription (\d+)/.exec(run.stdout)?.[1]);
    expect(sim.events.subscriptions.get(id)?.typeFilter).toBe('app.instance.created');
    expect(run.stdout).toContain('validated: yes');
  });

  it('--wait 0: an endpoint that does not answer 2xx is reported as not validated yet, exit 0', async () => {
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

  it('a Maskinporten client without altinn:events.subscribe still subscribes to app events, lists and deletes', async () => {
    const scopes = ['altinn:serviceowner/instances.read', 'altinn:serviceowner/instances.write'];
    const narrow = { ...(await sim.newClient({ scopes })).env, AzureWebJobsStorage: azuriteConnectionString(), MASKINPORTEN_SCOPES: scopes.join(' ') };
    const run = await runCli(['subscriptions', 'create', '--app', 'narrow-app', '--endpoint', ok.url, '--json'], { env: narrow });
    expect(run.code, run.stderr).toBe(0);
    const created = jsonOf<Created>(run);
    expect(created).toMatchObject({ validated: true, resourceFilter: 'urn:altinn:resource:app_ttd_narrow-app' });
    const list = await runCli(['subscriptions', 'list', '--json'], { env: narrow });
    expect(jsonOf<{ subscriptions: Created[] }>(list).subscriptions.map((s) => s.id)).toContain(created.id);
    expect((await runCli(['subscriptions', 'delete', String(created.id), '--yes'], { env: narrow })).code).toBe(0);
    expect(sim.events.subscriptions.has(created.id)).toBe(false);
  });

  it('creating the same subscription again returns the existing one', async () => {
    const args = ['subscriptions', 'create', '--app', 'dup-app', '--endpoint', ok.url, '--json'];
    const first = jsonOf<Created>(await runCli(args, { env }));
    const again = await runCli(args, { env });
    expect(again.code, again.stderr).toBe(0);
    expect(jsonOf<Created>(again).id).toBe(first.id);
    expect([...sim.events.subscriptions.values()].filter((s) => s.resourceFilter === 'urn:altinn:resource:app_ttd_dup-app')).toHaveLength(1);
  });
});

describe('subscriptions list and delete', () => {
  it('round-trip: listed, deleted, gone', async () => {
    const created = jsonOf<Created>(await runCli(['subscriptions', 'create', '--app', 'list-app', '--endpoint', ok.url, '--json'], { env }));
    const list = await runCli(['subscriptions', 'list', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const listed = jsonOf<{ subscriptions: Created[] }>(list).subscriptions.find((s) => s.id === created.id);
    expect(listed).toMatchObject({ validated: true, resourceFilter: 'urn:altinn:resource:app_ttd_list-app' });

    const table = await runCli(['subscriptions', 'list'], { env });
    expect(table.stdout).toMatch(/^ID +VALIDATED +TYPE +RESOURCE +ENDPOINT +CREATED/);
    expect(table.stdout).toMatch(new RegExp(`^${created.id} +yes +app\\.instance\\.process\\.completed +urn:altinn:resource:app_ttd_list-app`, 'm'));

    const piped = await runCli(['subscriptions', 'delete', String(created.id)], { env });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('add --yes');
    expect(sim.events.subscriptions.has(created.id)).toBe(true);
    const wrong = await runCli(['subscriptions', 'delete', String(created.id)], { env, tty: true, input: 'y\n' });
    expect(wrong.stdout).toContain(`Type ${created.id} to go on:`);
    expect(wrong.code).toBe(1);
    expect(sim.events.subscriptions.has(created.id)).toBe(true);

    const del = await runCli(['subscriptions', 'delete', String(created.id)], { env, tty: true, input: `${created.id}\n` });
    expect(del.code, del.stdout).toBe(0);
    expect(del.stdout).toContain(`deleted subscription ${created.id}`);
    expect(sim.events.subscriptions.has(created.id)).toBe(false);
    const after = jsonOf<{ subscriptions: Created[] }>(await runCli(['subscriptions', 'list', '--json'], { env }));
    expect(after.subscriptions.map((s) => s.id)).not.toContain(created.id);
  });

  it("deleting an unknown id: exit 1, with Altinn's problem details readable", async () => {
    const run = await runCli(['subscriptions', 'delete', '987654', '--yes'], { env });
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

describe("against Altinn's validation window (the simulator's schedule, scaled)", () => {
  let scaled: Simulator;
  let scaledEnv: Record<string, string>;
  const hooks: Awaited<ReturnType<typeof webhook>>[] = [];
  beforeAll(async () => {
    // 7 min 46 s of retries become under a second.
    scaled = await startSimulator({ eventRetryScale: 0.002 });
    scaledEnv = { ...(await scaled.newClient()).env, AzureWebJobsStorage: azuriteConnectionString() };
  });
  afterAll(async () => {
    await scaled.stop();
    await Promise.all(hooks.map((h) => h.close()));
  });
  const hook = async (status: number, first: number[] = []) => {
    const h = await webhook(status, first);
    hooks.push(h);
    return h;
  };
  const handshakes = (id: number) => scaled.events.deliveries.filter((d) => d.subscriptionId === id && d.type === 'platform.events.validatesubscription');

  it('validated after Altinn retried the handshake: exit 0', async () => {
    const flaky = await hook(200, [503, 503, 502, 500]);
    const run = await runCli(['subscriptions', 'create', '--app', 'late-app', '--endpoint', flaky.url, '--json'], { env: scaledEnv });
    expect(run.code, run.stderr).toBe(0);
    const created = jsonOf<Created>(run);
    expect(created.validated).toBe(true);
    expect(handshakes(created.id).map((d) => d.status)).toEqual([503, 503, 502, 500, 200]);
  });

  it('never validated: exit 1 with what Altinn does and what to check; Altinn gives up; list marks it', async () => {
    const down = await hook(503);
    const run = await runCli(['subscriptions', 'create', '--app', 'down-app', '--endpoint', `${down.url}?code=${FUNCTION_KEY}`, '--wait', '2'], { env: scaledEnv });
    expect(run.code).toBe(1);
    const id = Number(/subscription (\d+) is not validated/.exec(run.stderr)?.[1]);
    expect(run.stderr).toContain('retries the validation handshake for about 7 min 46 s');
    expect(run.stderr).toContain('sends it no events');
    expect(run.stderr).toContain("function's key as its code query parameter");
    expect(run.stderr).toContain(`${new URL(down.url).origin}/api/health answers 200`);
    expect(run.stderr).not.toContain(FUNCTION_KEY);

    await scaled.events.idle();
    expect(scaled.events.abandoned.has(id)).toBe(true);
    expect(handshakes(id)).toHaveLength(VALIDATION_RETRY_SECONDS.length + 1);
    expect(scaled.events.subscriptions.get(id)?.validated).toBe(false);

    const list = await runCli(['subscriptions', 'list'], { env: scaledEnv });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id} +NO \\(gets no events\\) +app\\.instance\\.process\\.completed +urn:altinn:resource:app_ttd_down-app`, 'm'));
    expect(list.stdout).toContain(`not validated: ${id}.`);
  });
});
