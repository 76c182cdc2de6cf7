import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import type { SubscriptionCheck } from '../lib/ops/subscriptions.js';
import { jsonOf, runCli } from './support/cli.js';
import { loopbackWebhook } from './support/loopbackWebhook.js';
import { azuriteConnectionString } from './support/storage.js';

/**
 * `subscriptions check` against the simulator's Events API over real sockets: each kind of drift is named and
 * exits 4; a matching set exits 0. Every case has its own webhook path and app names, so the cases (which all
 * see the org's whole subscription list) do not see each other's subscriptions as theirs.
 */
let sim: Simulator;
let env: Record<string, string>;
let ok: Awaited<ReturnType<typeof loopbackWebhook>>;
let failing: Awaited<ReturnType<typeof loopbackWebhook>>;

beforeAll(async () => {
  sim = await startSimulator({ eventRetryScale: 0.001 });
  env = { ...(await sim.newClient()).env, AzureWebJobsStorage: azuriteConnectionString() };
  [ok, failing] = await Promise.all([loopbackWebhook(200), loopbackWebhook(503)]);
});
afterAll(async () => {
  await sim.stop();
  await Promise.all([ok.close(), failing.close()]);
});

/** The ok webhook under its own path prefix (the webhook answers every path). */
const endpointOf = (name: string, base = ok.url) => base.replace('/api/events', `/${name}/api/events`);

const create = async (app: string, endpoint: string, extra: string[] = []) => {
  const run = await runCli(['subscriptions', 'create', '--app', app, '--endpoint', endpoint, ...extra], { env });
  expect(run.code, run.stderr).toBe(0);
};

/** A subscription posted to the Events API directly, in a form our `create` never sends. */
async function post(body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${sim.platformUrl}/events/api/v1/subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sim.altinnToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  await sim.events.idle();
  return ((await res.json()) as { id: number }).id;
}

const check = (endpoint: string, apps: string) => runCli(['subscriptions', 'check', '--endpoint', endpoint, '--json'], { env: { ...env, ALTINN_APPS: apps } });

describe('subscriptions check', () => {
  it('all as expected: exit 0, each (app, type) with its subscription, no drift', async () => {
    const endpoint = endpointOf('well');
    await create('well-a', endpoint);
    await create('well-b', endpoint);
    const run = await check(`${endpoint}?code=not-compared`, 'well-a,well-b');
    expect(run.code, run.stderr).toBe(0);
    const result = jsonOf<SubscriptionCheck>(run);
    expect(result.drift).toEqual([]);
    expect(result.expected.map((e) => [e.app, e.type, e.ids.length])).toEqual([
      ['well-a', 'app.instance.process.completed', 1],
      ['well-b', 'app.instance.process.completed', 1],
    ]);
    const text = await runCli(['subscriptions', 'check', '--endpoint', endpoint], { env: { ...env, ALTINN_APPS: 'well-a,well-b' } });
    expect(text.stdout).toContain('drift: none');
  });

  it('missing: an app of ALTINN_APPS without a subscription', async () => {
    const endpoint = endpointOf('miss');
    await create('miss-a', endpoint);
    const run = await check(endpoint, 'miss-a,miss-b');
    expect(run.code).toBe(4);
    expect(jsonOf<SubscriptionCheck>(run).drift).toEqual([expect.objectContaining({ kind: 'missing', app: 'miss-b', type: 'app.instance.process.completed' })]);
    expect(run.stderr).toContain('subscriptions drifted: missing');
  });

  it('empty-filter: a subscription without a type filter gets every event type', async () => {
    const endpoint = endpointOf('empty');
    const id = await post({ endPoint: endpoint, resourceFilter: 'urn:altinn:resource:app_ttd_empty-app' });
    const run = await check(endpoint, 'empty-app');
    expect(run.code).toBe(4);
    const kinds = jsonOf<SubscriptionCheck>(run).drift.map((d) => [d.kind, d.id]);
    expect(kinds).toContainEqual(['empty-filter', id]);
  });

  it('prefix-overlap: a sourceFilter that is a prefix of another app of ours (altinn-studio#8312)', async () => {
    const endpoint = endpointOf('prefix');
    const id = await post({ endPoint: endpoint, sourceFilter: `${sim.appsUrl}/ttd/skjema`, typeFilter: 'app.instance.process.completed' });
    await create('skjema-v2', endpoint);
    const run = await check(endpoint, 'skjema,skjema-v2');
    expect(run.code).toBe(4);
    const drift = jsonOf<SubscriptionCheck>(run).drift;
    expect(drift).toEqual([expect.objectContaining({ kind: 'prefix-overlap', id, app: 'skjema' })]);
    expect(drift[0]?.message).toContain('skjema-v2');
  });

  it('not-validated: Altinn never reached the endpoint', async () => {
    const endpoint = endpointOf('unvalidated', failing.url);
    await create('unval-app', endpoint, ['--wait', '0']);
    await sim.events.idle();
    const run = await check(endpoint, 'unval-app');
    expect(run.code).toBe(4);
    expect(jsonOf<SubscriptionCheck>(run).drift.map((d) => d.kind)).toEqual(['not-validated']);
  });

  it('stale-endpoint: an app of ours also subscribed to an old deployment of the receiver', async () => {
    const endpoint = endpointOf('moved');
    await create('moved-app', endpoint);
    await create('moved-app', endpointOf('old-deployment'));
    const run = await check(endpoint, 'moved-app');
    expect(run.code).toBe(4);
    const drift = jsonOf<SubscriptionCheck>(run).drift;
    expect(drift).toEqual([expect.objectContaining({ kind: 'stale-endpoint', app: 'moved-app' })]);
    expect(drift[0]?.message).toContain('/old-deployment/api/events');
  });

  it('without --endpoint or WEBHOOK_URL: exit 1, saying what to set', async () => {
    const run = await runCli(['subscriptions', 'check'], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('set WEBHOOK_URL or pass --endpoint');
  });
});

describe('subscriptions create and delete', () => {
  it("say that Altinn caches subscription matches for up to an hour, and what covers the gap", async () => {
    const created = await runCli(['subscriptions', 'create', '--app', 'cache-app', '--endpoint', endpointOf('cache')], { env });
    expect(created.stdout).toContain('caches which subscriptions match an event for up to an hour');
    const id = /^subscription (\d+)/.exec(created.stdout)?.[1] ?? '';
    // `--yes` arrives with the confirmation prompt (#27.4); before that, delete takes no flag (usage error, exit 2).
    const deleted = await runCli(['subscriptions', 'delete', id, '--yes'], { env }).then((r) => (r.code === 2 ? runCli(['subscriptions', 'delete', id], { env }) : r));
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain('The feed and the reconciler find what is completed meanwhile');
  });
});
