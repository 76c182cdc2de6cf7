import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import azf from '@azure/functions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../dev/azurite.js';
import { definition } from '../functions/monitor.js';
import { encodeMessage } from '../lib/queue/messages.js';
import { MONITOR_MSG, runMonitor } from '../lib/ops/monitor.js';
import { startSimulator } from '../dev/simulator/index.js';
import { createLogger } from '../lib/log.js';
import { runCli } from './support/cli.js';
import { loopbackWebhook } from './support/loopbackWebhook.js';
import { CREDENTIALS_REFUSED } from '../lib/processor/processInstance.js';
import { DEFAULT_LIMITS, measureStatus, problems } from '../lib/ops/status.js';
import { QUEUES } from '../lib/queue/names.js';
import { saveRunSummary } from '../lib/reconcile/summary.js';
import { createRuntime, getRuntime, type Runtime } from '../lib/runtime.js';
import { loadConfig } from '../lib/config.js';
import { userCategory } from '../dev/host/userLog.js';
import { fakeClock } from './support/clock.js';
import { validEnv } from './support/settings.js';
import { storageClients, uniqueName } from './support/storage.js';

/**
 * The monitor function's one line per run, the thresholds it shares with `status --check`, and the alert
 * rules of infra/ that read that line. The queues have fixed names, so this file has a queue service of its own.
 */
const root = join(import.meta.dirname, '..');
let queueService: AzuriteProcess;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  queueService = await startAzuriteService('queue');
  env = validEnv({ AzureWebJobsStorage: connectionString(inject('azurite').blobPort, queueService.port), BLOB_CONTAINER: uniqueName('mon') });
  Object.assign(process.env, env);
});
afterAll(async () => {
  await queueService.stop();
});

const clients = () => storageClients(env.AzureWebJobsStorage);

/** Runs the monitor function as the host would, returning what it logged through its invocation context. */
async function monitorLines(): Promise<Record<string, unknown>[]> {
  const lines: { level: string; line: string }[] = [];
  const context = new azf.InvocationContext({ functionName: 'monitor', logHandler: (level, ...args) => void lines.push({ level, line: String(args[0]) }) });
  if (definition.kind !== 'timer') throw new Error('monitor is a timer');
  await definition.options.handler({ isPastDue: false, scheduleStatus: undefined } as unknown as azf.Timer, context);
  return lines.map((l) => ({ contextLevel: l.level, ...(JSON.parse(l.line) as Record<string, unknown>) }));
}

let logged: Record<string, unknown>;

describe('monitor', () => {
  it('runs on %MONITOR_SCHEDULE% and writes one structured line per run through its invocation context', async () => {
    expect(definition).toMatchObject({ kind: 'timer', name: 'monitor', options: { schedule: '%MONITOR_SCHEDULE%', runOnStartup: false } });
    const poison = clients().queue.getQueueClient(QUEUES.poison);
    await poison.createIfNotExists();
    await poison.sendMessage(encodeMessage({ reason: 'test', original: {}, failedAt: new Date().toISOString() }));
    const container = clients().blob.getContainerClient(String(env.BLOB_CONTAINER));
    await container.createIfNotExists();
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000).toISOString();
    await saveRunSummary(container, { finishedAt: threeHoursAgo, complete: true, durationMs: 10, pages: 1, found: 2, enqueued: 2, skipped: 0, held: 0, invalid: 0, failedApps: [] });

    const lines = await monitorLines();
    expect(lines).toHaveLength(1);
    logged = lines[0]!;
    expect(logged).toMatchObject({
      contextLevel: 'warning',
      level: 'warn',
      msg: MONITOR_MSG,
      function: 'monitor',
      healthy: true,
      settings: 'ok',
      storage: 'ok',
      pendingCount: 0,
      pendingOldestAgeSeconds: null,
      poisonCount: 1,
      readyCount: 0,
      heldCount: 0,
      heldOldestAgeSeconds: null,
      reconcileLastAt: threeHoursAgo,
      reconcileLastComplete: true,
      reconcileLastFound: 2,
      reconcileLastEnqueued: 2,
      reconcileLastCompleteAt: threeHoursAgo,
    });
    expect(Number(logged.reconcileLastCompleteAgeSeconds)).toBeGreaterThanOrEqual(3 * 3600);
    expect(logged.problems).toEqual([expect.stringContaining('1 message(s) in altinn-events-poison'), expect.stringMatching(/^last complete reconcile run was 18\d min ago/)]);
    await poison.clearMessages();
  });

  it('says when the oldest pending message is older than the limit (time from the clock it is given)', async () => {
    const events = clients().queue.getQueueClient(QUEUES.events);
    await events.createIfNotExists();
    await events.sendMessage(encodeMessage({ any: 'thing' }));
    const clock = fakeClock(Date.now());
    const young = await measureStatus(() => getRuntime(env), clock);
    expect(problems(young, DEFAULT_LIMITS).filter((p) => p.includes(QUEUES.events))).toEqual([]);
    clock.advance(31 * 60_000);
    const old = await measureStatus(() => getRuntime(env), clock);
    expect(old.queues?.[0]).toMatchObject({ queue: QUEUES.events, count: 1 });
    expect(problems(old, DEFAULT_LIMITS)).toContain('oldest message in altinn-events is 31 min old (limit 30 min)');
    await events.clearMessages();
  });

  it('logs the subscription check: drift counted and named against WEBHOOK_URL, null while WEBHOOK_URL is unset', async () => {
    expect(logged).toMatchObject({ subscriptionsChecked: false, subscriptionDrift: null, subscriptionsNotChecked: 'WEBHOOK_URL is not set' });
    const sim = await startSimulator();
    const hook = await loopbackWebhook(200);
    try {
      const simEnv = { ...env, ...(await sim.newClient()).env, ALTINN_APPS: 'mon-a,mon-b', WEBHOOK_URL: hook.url };
      const run = await runCli(['subscriptions', 'create', '--app', 'mon-a', '--endpoint', hook.url], { env: simEnv });
      expect(run.code, run.stderr).toBe(0);
      const lines: string[] = [];
      const fields = await runMonitor(() => createRuntime(simEnv), fakeClock(Date.now()), createLogger((_l, line) => lines.push(line)));
      expect(fields).toMatchObject({ subscriptionsChecked: true, subscriptionDrift: 1, subscriptionDriftKinds: ['missing'], subscriptionsNotChecked: null });
      expect(fields.problems).toContainEqual(expect.stringContaining('subscription drift (missing): no subscription sends app.instance.process.completed of mon-b'));
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', msg: MONITOR_MSG, subscriptionDrift: 1 });
    } finally {
      await Promise.all([sim.stop(), hook.close()]);
    }
  });

  it('logs healthy: false, naming the setting, when the settings are invalid', async () => {
    // What getRuntime does with such settings, without its process-wide cache.
    const badSettings = (): Promise<Runtime> =>
      Promise.resolve().then(() => {
        loadConfig({ ...env, ALTINN_ORG: '' });
        throw new Error('the settings were valid');
      });
    const report = await measureStatus(badSettings, fakeClock());
    expect(report.health).toEqual({ status: 'unhealthy', checks: { settings: 'invalid: ALTINN_ORG', storage: 'not checked' } });
    expect(problems(report, DEFAULT_LIMITS)).toEqual(['unhealthy: settings invalid: ALTINN_ORG, storage not checked']);
  });
});

const hasDotnet = spawnSync('dotnet', ['--version'], { stdio: 'ignore' }).status === 0;

describe.runIf(hasDotnet)('alert rules (infra/modules/alerts.bicep, compiled)', () => {
  it('name only fields the monitor really logs, under its category and message', async () => {
    const { stdout } = await promisify(execFile)(join(root, 'infra', 'tools', 'bicep'), ['build', 'infra/modules/alerts.bicep', '--stdout'], { cwd: root, maxBuffer: 8 * 1024 * 1024 });
    const rules = (JSON.parse(stdout) as { variables: { rules: { name: string; query: string }[] } }).variables.rules;
    expect(rules.map((r) => r.name)).toEqual(['poison-not-empty', 'pending-too-old', 'reconcile-not-complete', 'held-waiting', 'subscription-drift', 'unconfirmed-too-old', 'unhealthy', 'credentials-refused', 'function-failures', 'monitor-silent']);
    const named = new Set([...stdout.matchAll(/\bm\.(\w+)/g)].map((m) => m[1]!));
    expect([...named].sort()).toEqual(['healthy', 'heldCount', 'msg', 'oldestUnconfirmedAgeSeconds', 'pendingOldestAgeSeconds', 'poisonCount', 'reconcileLastCompleteAgeSeconds', 'subscriptionDrift', 'unconfirmedLimitSeconds']);
    expect(logged, 'the monitor test above ran').toBeDefined();
    for (const field of named) expect(Object.keys(logged), field).toContain(field);
    expect(stdout).toContain(`Category == \\"${userCategory('monitor')}\\"`);
    expect(stdout).toContain(`tostring(m.msg) == \\"${MONITOR_MSG}\\"`);
    // The processor's line for refused credentials, under its own category.
    expect(stdout).toContain(`Category == \\"${userCategory('instanceProcessor')}\\" | extend m = parse_json(message) | where tostring(m.msg) == \\"${CREDENTIALS_REFUSED}\\"`);
  }, 120_000);
});
