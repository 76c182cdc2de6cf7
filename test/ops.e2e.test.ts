import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../dev/azurite.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import { decodeMessage, encodeMessage, heldMessageSchema, readyMessageSchema, type InstanceRef } from '../lib/queue/messages.js';
import { manifestSchema } from '../lib/processor/manifest.js';
import { QUEUES } from '../lib/queue/names.js';
import { jsonOf, runCli, type CliRun } from './support/cli.js';
import { startLocalHost, stopAll, type LocalHost } from './support/processes.js';
import { storageClients } from './support/storage.js';

/**
 * The operator's view of trouble, end to end: `status` (and `--check`) on an empty system, a backlog, a
 * poisoned message and a held instance; a held instance released with `held release`. The CLI runs as
 * `npx altinn-receiver` does, the simulator plays Altinn, the local host runs the functions once the
 * backlog has been looked at. The queues have fixed names, so this file has an Azurite of its own.
 */
let sim: Simulator;
let azurite: Azurite;
let env: Record<string, string>;
let host: LocalHost | undefined;

const CONTAINER = 'received';

beforeAll(async () => {
  [sim, azurite] = await Promise.all([startSimulator(), startAzurite()]);
  env = {
    ...(await sim.newClient()).env,
    AzureWebJobsStorage: azurite.connectionString,
    BLOB_CONTAINER: CONTAINER,
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    FEED_SCHEDULE: '0 0 0 1 1 *',
  };
});
afterAll(async () => {
  await stopAll();
  await Promise.all([sim.stop(), azurite.stop()]);
});

const clients = () => storageClients(azurite.connectionString);
const blob = (path: string) => clients().blob.getContainerClient(CONTAINER).getBlockBlobClient(path);

interface Status {
  health: { status: string };
  queues: { queue: string; count: number; oldestAt?: string }[];
  held: { count: number; instances: { instanceGuid: string; infected: { id: string }[] }[] };
  reconcile: { last?: { complete: boolean; found: number; held: number }; lastComplete?: unknown };
  problems: string[];
}
const status = async (...args: string[]) => {
  const run = await runCli(['status', '--json', ...args], { env });
  return { run, out: jsonOf<Status>(run) };
};
const count = (s: Status, queue: string) => s.queues.find((q) => q.queue === queue)?.count;

async function seed(app: string, infected = false): Promise<InstanceRef> {
  const elements = [{ dataType: 'model', contentType: 'application/xml', size: 2048 }];
  if (infected) elements.push({ dataType: 'vedlegg', contentType: 'application/pdf', size: 4096, fileScanResult: 'Infected' } as (typeof elements)[number]);
  const doc = await sim.seedInstance({ app, elements, completed: true });
  const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
  return { org: 'ttd', app, partyId, instanceGuid };
}
const eventFor = (r: InstanceRef) => encodeMessage({ ...r, reason: 'event', enqueuedAt: new Date().toISOString() });

const expectExit = (run: CliRun, code: number) => expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(code);

describe('status and held, end to end', () => {
  it('status on an empty system: healthy, empty queues; --check fails only until a complete reconcile run is recorded', async () => {
    const { run, out } = await status();
    expectExit(run, 0);
    expect(out.health.status).toBe('ok');
    expect(out.queues.map((q) => [q.queue, q.count])).toEqual([
      [QUEUES.events, 0],
      [QUEUES.poison, 0],
      [QUEUES.ready, 0],
      [QUEUES.held, 0],
    ]);
    expect(out.held.count).toBe(0);
    expect(out.problems).toEqual(['no complete reconcile run recorded (see: reconcile)']);

    const check = await runCli(['status', '--check'], { env });
    expectExit(check, 4);
    expect(check.stdout).toContain('problems:\n  - no complete reconcile run recorded');
    expect(check.stderr).toContain('status check failed: no complete reconcile run recorded');

    expectExit(await runCli(['reconcile'], { env }), 0);
    const after = await runCli(['status', '--check'], { env });
    expectExit(after, 0);
    expect(after.stdout).toMatch(/last complete reconcile run: \d{4}-/);
    expect(after.stdout).toContain('problems: none');
  }, 120_000);

  it('a backlog, a poisoned message and a held instance, each as status shows it; then held release', async () => {
    // A complete reconcile run recorded (nothing to find yet), so only what follows can fail --check.
    expectExit(await runCli(['reconcile'], { env }), 0);
    // Backlog: three instances waiting on altinn-events, one of them with an infected attachment. No host yet.
    const plain = [await seed('ops-app'), await seed('ops-app')];
    const infected = await seed('ops-app', true);
    const events = clients().queue.getQueueClient(QUEUES.events);
    await events.createIfNotExists();
    for (const r of [...plain, infected]) await events.sendMessage(eventFor(r));
    const backlog = await status('--check');
    expectExit(backlog.run, 0); // young messages cross no threshold
    expect(count(backlog.out, QUEUES.events)).toBe(3);
    expect(Date.parse(backlog.out.queues[0]!.oldestAt!)).not.toBeNaN();
    const table = await runCli(['status'], { env });
    expect(table.stdout).toMatch(/altinn-events +3 +\d{4}-\d\d-\d\dT/);

    // A poisoned message: --check fails and says where to look.
    const poison = clients().queue.getQueueClient(QUEUES.poison);
    await poison.createIfNotExists();
    await poison.sendMessage(encodeMessage({ reason: 'altinn-http-404: instance gone', original: { org: 'ttd' }, failedAt: new Date().toISOString() }));
    const poisoned = await status('--check');
    expectExit(poisoned.run, 4);
    expect(poisoned.out.problems).toEqual(['1 message(s) in altinn-events-poison (see: poison list)']);
    expect(poisoned.run.stderr).toContain('status check failed: 1 message(s) in altinn-events-poison');
    await poison.clearMessages();

    // The host works the backlog: two confirmed, the infected one held.
    host = await startLocalHost({ env });
    const held = await host.waitForJson((r) => r.msg === 'held message sent' && String(r.instanceId).endsWith(infected.instanceGuid), { timeoutMs: 60_000 });
    expect(held).toMatchObject({ category: 'Function.instanceProcessor.User', stage: 'held' });
    for (const r of plain) await host.waitForJson((l) => l.msg === 'done' && l.outcome === 'confirmed' && String(l.instanceId).endsWith(r.instanceGuid), { timeoutMs: 60_000 });
    expect(sim.counters.effectiveCompletes[infected.instanceGuid]).toBeUndefined();

    const heldQueue = await clients().queue.getQueueClient(QUEUES.held).peekMessages({ numberOfMessages: 32 });
    expect(heldQueue.peekedMessageItems).toHaveLength(1);
    const heldMessage = decodeMessage(heldMessageSchema, heldQueue.peekedMessageItems[0]!.messageText);
    expect(heldMessage.ok && heldMessage.value).toMatchObject({
      ...infected,
      reason: 'infected',
      manifestStatus: 'held',
      manifest: `ttd/ops-app/${infected.partyId}/${infected.instanceGuid}/manifest.json`,
      infected: [{ dataType: 'vedlegg' }],
    });

    const withHeld = await status('--check');
    expectExit(withHeld.run, 4);
    expect(withHeld.out.held.count).toBe(1);
    expect(withHeld.out.held.instances[0]?.instanceGuid).toBe(infected.instanceGuid);
    expect(withHeld.out.problems).toEqual(['1 held instance(s) waiting for an operator (see: held list)']);

    // The reconciler finds it (completed, not confirmed) but leaves it to the operator.
    const reconcile = await runCli(['reconcile', '--json'], { env });
    expectExit(reconcile, 0);
    expect(jsonOf(reconcile)).toMatchObject({ status: 'complete', found: 1, enqueued: 0, held: 1 });
    expect((await status()).out.reconcile.last).toMatchObject({ complete: true, found: 1, held: 1 });

    const list = await runCli(['held', 'list'], { env });
    expectExit(list, 0);
    expect(list.stdout).toContain(`${infected.partyId}/${infected.instanceGuid}  ops-app`);
    const id = `${infected.partyId}/${infected.instanceGuid}`;
    const dry = await runCli(['held', 'release', id, '--dry-run', '--json'], { env });
    expectExit(dry, 0);
    expect(jsonOf(dry)).toMatchObject({ dryRun: true, ready: { infected: heldMessage.ok ? heldMessage.value.infected.map((e) => e.id) : [] } });
    expect(sim.counters.effectiveCompletes[infected.instanceGuid]).toBeUndefined();

    const release = await runCli(['held', 'release', id, '--confirm'], { env });
    expectExit(release, 0);
    expect(release.stdout).toContain(`released ops-app ${id}: confirmed to Altinn`);
    expect(sim.counters.effectiveCompletes[infected.instanceGuid]).toBe(1);
    const ready = (await clients().queue.getQueueClient(QUEUES.ready).peekMessages({ numberOfMessages: 32 })).peekedMessageItems
      .map((m) => decodeMessage(readyMessageSchema, m.messageText))
      .flatMap((d) => (d.ok && d.value.instanceGuid === infected.instanceGuid ? [d.value] : []));
    expect(ready).toHaveLength(1);
    expect(ready[0]?.infected).toHaveLength(1);
    const manifest = manifestSchema.parse(JSON.parse((await blob(`ttd/ops-app/${id}/manifest.json`).downloadToBuffer()).toString()));
    expect(Date.parse(manifest.heldAt ?? '')).not.toBeNaN();
    expect(manifest).toMatchObject({ releasedAt: ready[0]?.confirmedAt, readyAt: ready[0]?.confirmedAt });

    const released = await status();
    expect(released.out.held.count).toBe(0);
    const again = await runCli(['held', 'release', id, '--confirm'], { env });
    expectExit(again, 1);
    expect(again.stderr).toContain('is not held');
    // About 20 CLI runs (each a fresh Node process) and a host start: minutes on a loaded 2-core machine.
  }, 300_000);
});

describe('bad arguments to the new commands: usage line, exit 2', () => {
  const GUID = '0b1e2d3c-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
  it.each([
    [['status', '--bogus'], 'usage: altinn-receiver status '],
    [['status', '--max-pending-age', 'soon'], 'usage: altinn-receiver status '],
    [['status', 'extra'], 'usage: altinn-receiver status '],
    [['held'], 'usage: altinn-receiver held <list|release>'],
    [['held', 'list', 'extra'], 'usage: altinn-receiver held list'],
    [['held', 'release', '--confirm'], 'usage: altinn-receiver held release'],
    [['held', 'release', `1/not-a-guid`, '--confirm'], 'usage: altinn-receiver held release'],
    [['held', 'release', `1/${GUID}`], 'usage: altinn-receiver held release'],
    [['held', 'release', `1/${GUID}`, '--confirm', '--dry-run'], 'usage: altinn-receiver held release'],
  ])('%j', async (args, usage) => {
    const run = await runCli(args, { env });
    expectExit(run, 2);
    expect(run.stderr).toContain(usage);
  });
});
