import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectionString, startAzuriteService, type AzuriteProcess } from '../dev/azurite.js';
import { startSimulator, type Simulator } from '../dev/simulator/index.js';
import type { InstanceRef } from '../lib/queue/messages.js';
import { jsonOf, runCli } from './support/cli.js';
import { fastHostJson } from './support/hostJson.js';
import { parseJsonLine, startLocalHost, stopAll, type LocalHost } from './support/processes.js';
import { uniqueName } from './support/storage.js';

/**
 * The feed timer in real host processes, the reconciler off: Altinn (the simulator) drops every app-event delivery
 * to the subscribed webhook, so only the feed can find the instances. Two hosts run the timer at once on the same
 * storage; then both stop and one starts again.
 */
const APP = 'feed-e2e';
const FEED_EVERY_SECONDS = 2;

let sim: Simulator;
let queueService: AzuriteProcess;
let env: Record<string, string>;
let hosts: LocalHost[] = [];
let hostJson: string;

const startHosts = async (n: number) =>
  (hosts = await Promise.all(Array.from({ length: n }, (_, i) => startLocalHost({ env, name: `host#${i + 1}`, hostJson }))));

beforeAll(async () => {
  [sim, queueService] = await Promise.all([startSimulator({ eventRetryScale: 0.001, eventsFeedDelayMs: 0 }), startAzuriteService('queue')]);
  hostJson = await fastHostJson(3, { batchSize: 8 });
  env = {
    ...(await sim.newClient()).env,
    AzureWebJobsStorage: connectionString(inject('azurite').blobPort, queueService.port),
    BLOB_CONTAINER: uniqueName('fe2e'),
    ALTINN_APPS: APP,
    RECONCILE_SCHEDULE: '0 0 0 1 1 *',
    MONITOR_SCHEDULE: '0 0 0 1 1 *',
    FEED_SCHEDULE: `*/${FEED_EVERY_SECONDS} * * * * *`,
    FEED_MIN_AGE_SECONDS: '0',
  };
  await startHosts(2);
  const cwd = await mkdtemp(join(tmpdir(), 'feed-e2e-'));
  const sub = await runCli(['subscriptions', 'create', '--app', APP, '--endpoint', `${hosts[0]!.url}/api/events`, '--json'], { env, cwd });
  expect(sub.code, sub.stderr).toBe(0);
  expect(jsonOf(sub)).toMatchObject({ validated: true });
  // From here on Altinn loses every delivery of an app event (the validation handshake above went through).
  sim.events.dropRate = 1;
});
afterAll(async () => {
  await stopAll();
  await Promise.all([sim?.stop(), queueService?.stop()]);
});

async function completeDropped(n: number): Promise<{ ref: InstanceRef; eventId: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const doc = await sim.seedInstance({ app: APP, elements: [{ dataType: 'model', contentType: 'application/xml', size: 100 + i }] });
    const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
    out.push({ ref: { org: 'ttd', app: APP, partyId, instanceGuid }, eventId: sim.completeProcess(partyId, instanceGuid).id });
  }
  await sim.events.idle();
  for (const { eventId } of out) expect(sim.events.deliveries.filter((d) => d.eventId === eventId).map((d) => d.status)).toEqual([-1]);
  return out;
}

const id = (ref: InstanceRef) => `${ref.partyId}/${ref.instanceGuid}`;
const confirmedSomewhere = (ref: InstanceRef) =>
  Promise.any(hosts.map((h) => h.waitForJson((r) => r.msg === 'done' && r.outcome === 'confirmed' && r.instanceId === id(ref), { timeoutMs: 60_000 })));
/** Every `feed: enqueued…` line of every host that ever ran, by instance. */
const enqueuedLines = (all: LocalHost[]) => all.flatMap((h) => h.records((r) => typeof r.msg === 'string' && r.msg.startsWith('feed: enqueued')));

describe('the feed timer in the local host, reconciler off', () => {
  const everyHost: LocalHost[] = [];

  it('finds events Altinn never delivered within one feed period; two hosts enqueue each instance once', async () => {
    everyHost.push(...hosts);
    const marks = hosts.map((h) => h.lines.length);
    const found = await completeDropped(4);
    const done = await Promise.all(found.map((f) => confirmedSomewhere(f.ref)));
    expect(done.map((d) => d.reason)).toEqual(['feed', 'feed', 'feed', 'feed']);
    for (const f of found) expect(sim.counters.effectiveCompletes[f.ref.instanceGuid]).toBe(1);
    const lines = enqueuedLines(hosts);
    for (const f of found) expect(lines.filter((l) => l.instanceId === id(f.ref)).map((l) => l.eventId)).toEqual([f.eventId]);
    // Within one period: of the runs that finished after the events were published, the first one (on either host)
    // enqueued them. A run already going when they came may have finished first without them, hence at most one more.
    const runsBefore = hosts.map((h, i) => {
      const records = h.lines.slice(marks[i]).map(parseJsonLine);
      const firstEnqueue = records.findIndex((r) => typeof r?.msg === 'string' && r.msg.startsWith('feed: enqueued'));
      return records.slice(0, firstEnqueue === -1 ? records.length : firstEnqueue).filter((r) => r?.msg === 'feed run').length;
    });
    expect(Math.min(...runsBefore)).toBeLessThanOrEqual(1);
    // The run lines are there to count (host.json lets Function.feed.User through at Information).
    const runs = hosts.flatMap((h) => h.records((r) => r.msg === 'feed run'));
    expect(runs.reduce((n, r) => n + Number(r.enqueued), 0)).toBe(found.length);
  });

  it('the cursor survives a restart: the new host asks after the last event handled and enqueues only what came after', async () => {
    const before = await completeDropped(1);
    await confirmedSomewhere(before[0]!.ref);
    await stopAll();
    const later = await completeDropped(2);
    const firstRequest = sim.requests.length;
    await startHosts(1);
    everyHost.push(...hosts);
    await Promise.all(later.map((f) => confirmedSomewhere(f.ref)));
    const afterIds = sim.requests.slice(firstRequest).filter((r) => r.route === 'events.feed').map((r) => new URL(r.path, 'http://x').searchParams.get('after'));
    expect(afterIds[0]).toBe(before[0]!.eventId);
    const lines = enqueuedLines(everyHost);
    for (const f of [...before, ...later]) expect(lines.filter((l) => l.instanceId === id(f.ref))).toHaveLength(1);
  });
});
