import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../dev/azurite.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { encodeMessage } from '../lib/queue/messages.js';
import { QUEUES } from '../lib/queue/names.js';
import { jsonOf, runCli } from './support/cli.js';
import { startLocalHost, stopAll, type LocalHost } from './support/processes.js';
import { storageClients } from './support/storage.js';

/**
 * The operator's view end to end: the real local host runs every function (the processor takes
 * altinn-events), the simulator plays Altinn, and the CLI moves work onto the queue. The queues have
 * fixed names, so this file has an Azurite of its own.
 */
let sim: Simulator;
let azurite: Azurite;
let host: LocalHost;
let env: Record<string, string>;

beforeAll(async () => {
  [sim, azurite] = await Promise.all([startSimulator(), startAzurite()]);
  env = {
    ...(await sim.newClient()).env,
    AzureWebJobsStorage: azurite.connectionString,
    BLOB_CONTAINER: 'received',
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    FEED_SCHEDULE: '0 0 0 1 1 *',
  };
  host = await startLocalHost({ env });
});
afterAll(async () => {
  await stopAll();
  await Promise.all([sim.stop(), azurite.stop()]);
});

/** Resolves once the processor has logged that it stored and confirmed the instance. */
const confirmed = (instanceGuid: string) =>
  host.waitForJson(
    (r) => r.msg === 'done' && r.outcome === 'confirmed' && typeof r.instanceId === 'string' && r.instanceId.endsWith(instanceGuid),
    { timeoutMs: 60_000 },
  );

async function seedCompleted(app: string, n: number) {
  const docs = [];
  for (let i = 0; i < n; i++) {
    docs.push(await sim.seedInstance({ app, elements: [{ dataType: 'model', contentType: 'application/xml', size: 2048 }], completed: true }));
  }
  return docs.map((d) => {
    const [partyId, instanceGuid] = d.id.split('/') as [string, string];
    return { org: 'ttd', app, partyId, instanceGuid };
  });
}

const manifestExists = (r: { app: string; partyId: string; instanceGuid: string }) =>
  storageClients(azurite.connectionString).blob.getContainerClient('received').getBlockBlobClient(`ttd/${r.app}/${r.partyId}/${r.instanceGuid}/manifest.json`).exists();

describe('CLI against the running app', () => {
  it('poison replay moves N messages back and the processor stores and confirms each instance', async () => {
    const refs = await seedCompleted('replay-app', 3);
    const poison = storageClients(azurite.connectionString).queue.getQueueClient(QUEUES.poison);
    await poison.createIfNotExists();
    for (const r of refs) await poison.sendMessage(encodeMessage({ ...r, reason: 'event', enqueuedAt: new Date().toISOString() }));

    const run = await runCli(['poison', 'replay', '--all', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf<{ replayed: unknown[] }>(run).replayed).toHaveLength(3);
    await Promise.all(refs.map((r) => confirmed(r.instanceGuid)));
    for (const r of refs) {
      expect(sim.counters.effectiveCompletes[r.instanceGuid]).toBe(1);
      expect(await manifestExists(r)).toBe(true);
    }
    expect((await poison.peekMessages()).peekedMessageItems).toHaveLength(0);
  });

  it('reconcile --dry-run enqueues nothing; reconcile then gets every missed instance processed', async () => {
    const refs = await seedCompleted('reconcile-app', 2);
    const dry = await runCli(['reconcile', '--app', 'reconcile-app', '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(jsonOf(dry)).toMatchObject({ status: 'complete', dryRun: true, found: 2, enqueued: 2 });

    // On a terminal the run shows live progress (redrawn in place); piped, it does not (below).
    const tty = await runCli(['reconcile', '--app', 'reconcile-app', '--dry-run'], { env, tty: true });
    expect(tty.code, tty.stdout).toBe(0);
    expect(tty.stdout).toContain('\r\x1b[2K[');
    expect(tty.stdout).toMatch(/\[[#-]{20}\] reconcile-app page 1: found 2, enqueued 2/);
    expect(tty.stdout).toContain('(dry run: nothing enqueued)');

    const run = await runCli(['reconcile', '--app', 'reconcile-app'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^reconcile complete in [\d.]+ s: found 2, enqueued 2, skipped 0, held 0, invalid 0/);
    expect(run.stdout).toMatch(/^reconcile-app +1 +2 +2 +0 +0 +0 +ok$/m);
    expect(run.stderr).not.toContain('\r');
    await Promise.all(refs.map((r) => confirmed(r.instanceGuid)));
    for (const r of refs) expect(sim.counters.effectiveCompletes[r.instanceGuid]).toBe(1);
  });

  it('reconcile when Altinn refuses the query: exit 3, with the summary', async () => {
    sim.faults.add({ route: 'storage.query', status: 403, times: 1 });
    const run = await runCli(['reconcile', '--app', 'failing-app'], { env });
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^reconcile incomplete/);
    expect(run.stdout).toContain('403');
    expect(run.stderr).toContain('reconcile stopped part-way');
  });
});
