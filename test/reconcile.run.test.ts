import type { QueueClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';
import { appResource } from '../cli/eventsValidation.js';
import { createAltinnHttp } from '../lib/altinn/http.js';
import { createApplicationCatalog } from '../lib/altinn/applications.js';
import { createStorageClient } from '../lib/altinn/storageClient.js';
import { createTokenProvider } from '../lib/auth/index.js';
import { blobInstanceLocks } from '../lib/processor/lease.js';
import { createBlobStore } from '../lib/blob/store.js';
import { loadConfig } from '../lib/config.js';
import { memoryLogger } from './support/log.js';
import { encodeMessage, type EventsMessage } from '../lib/queue/messages.js';
import { mapLimit } from '../lib/pool.js';
import { createProcessor } from '../lib/processor/processInstance.js';
import { createQueueSender } from '../lib/queue/sender.js';
import { runReconcile, type ReconcileDeps, type ReconcileOptions, type ReconcileProgress } from '../lib/reconcile/run.js';
import { acquireRunLock } from '../lib/reconcile/state.js';
import type { RetryPolicy } from '../lib/retry.js';
import { fakeClock } from './support/clock.js';
import { azuriteConnectionString, storageClients, uniqueName } from './support/storage.js';
import { withEventsQueue } from './support/queues.js';
import { logLines, queuedMessages } from './support/webhook.js';

/**
 * 1,000 instances in the simulator; 130 of them completed and not confirmed by us, in the three apps
 * we handle (10 of them confirmed by another stakeholder only, which does not count for us).
 */
const APPS = ['app-a', 'app-b', 'app-c'];
const UNCONFIRMED: Record<string, number> = { 'app-a': 60, 'app-b': 45, 'app-c': 25 };
// → 4 + 3 + 2 = 9 pages: app-a's 60 fill its third page, and Storage gives a `next` after a full page (a fourth, empty one).
const PAGE_SIZE = 20;
const QUERY_ROUTE = 'storage.query';
const FAST_RETRY: RetryPolicy = { maxAttempts: 4, budgetMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000 };

async function seedThousand(sim: Simulator): Promise<Map<string, string>> {
  const wanted = new Map<string, string>(); // instanceGuid → app
  const elements = [{ dataType: 'model', contentType: 'application/xml', size: 64 }];
  for (const app of APPS) {
    for (let i = 0; i < (UNCONFIRMED[app] ?? 0); i++) {
      const doc = await sim.seedInstance({ app, elements, completed: true, ...(app === 'app-a' && i < 10 ? { confirmedBy: ['skd'] } : {}) });
      wanted.set(doc.id.split('/')[1] ?? '', app);
    }
  }
  const others = [
    ...Array.from({ length: 300 }, (_, i) => ({ app: APPS[i % 3] ?? '', completed: true, confirmedBy: ['ttd'] })),
    ...Array.from({ length: 400 }, (_, i) => ({ app: APPS[i % 3] ?? '', completed: false })),
    ...Array.from({ length: 170 }, (_, i) => ({ app: i % 2 ? 'other-x' : 'other-y', completed: true })),
  ];
  for (const o of others) await sim.seedInstance({ ...o, elements });
  expect(wanted.size + others.length).toBe(1000);
  return wanted;
}

interface Harness {
  sim: Simulator;
  config: ReturnType<typeof loadConfig>;
  http: ReturnType<typeof createAltinnHttp>;
  deps: ReconcileDeps;
  queue: QueueClient;
  log: ReturnType<typeof memoryLogger>;
  sleeps: number[];
  run(options?: ReconcileOptions): ReturnType<typeof runReconcile>;
  /** Every query request the simulator saw, in order. */
  queries(): { path: string; status: number; hasAuth: boolean }[];
}

let shared: Simulator;
let wanted: Map<string, string>;
let h: Harness;

/** Fresh container, queue, log and clock over a shared simulator: runs of different tests never see each other's marks or messages. */
/** One Maskinporten client per simulator (key generation is the slow part). */
const clients = new WeakMap<Simulator, Promise<SimulatorClient>>();

async function harness(sim: Simulator, env: Record<string, string> = {}): Promise<Harness> {
  let client = clients.get(sim);
  if (!client) clients.set(sim, (client = sim.newClient()));
  const clientEnv = (await client).env;
  const firstRequest = sim.requests.length;
  const config = loadConfig({ ...clientEnv, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: uniqueName('rc'), ALTINN_APPS: APPS.join(','), ...env });
  const clock = fakeClock();
  const sleeps: number[] = [];
  const recordingClock = { now: () => clock.now(), sleep: (ms: number) => (sleeps.push(ms), clock.sleep(ms)) };
  const log = memoryLogger();
  const tokens = createTokenProvider({ maskinporten: config.maskinporten, platformUrl: config.altinn.platformUrl, clock, log });
  const storage = storageClients();
  const queueName = uniqueName('ev');
  const http = createAltinnHttp({ tokens, log, clock });
  const deps: ReconcileDeps = {
    config,
    http,
    blob: storage.blob,
    queues: withEventsQueue(createQueueSender(storage.queue), queueName),
    clock: recordingClock,
    log,
    retryPolicy: FAST_RETRY,
  };
  return {
    sim,
    config,
    http,
    deps,
    queue: storage.queue.getQueueClient(queueName),
    log,
    sleeps,
    run: (options = {}) => runReconcile(deps, { pageSize: PAGE_SIZE, ...options }),
    queries: () => sim.requests.slice(firstRequest).filter((r) => r.route === QUERY_ROUTE).map((r) => ({ path: r.path, status: r.status, hasAuth: r.hasAuth })),
  };
}

/** The processor (lib/processor) downloads and confirms each message, as the queue trigger would. */
async function processAll(h: Harness, messages: EventsMessage[]): Promise<void> {
  const { config, http } = h;
  const { blob, queues, clock, log } = h.deps;
  const processor = createProcessor({
    config,
    storage: createStorageClient({ http, config }),
    applications: createApplicationCatalog({ platformUrl: config.altinn.platformUrl, dataTypes: config.dataTypes, clock }),
    store: createBlobStore(blob.getContainerClient(config.blobContainer)),
    queues,
    locks: blobInstanceLocks(blob.getContainerClient(config.blobContainer), log),
    clock,
    log,
  });
  const outcomes = await mapLimit(messages, 8, (m) => processor.handle(encodeMessage(m)));
  expect(outcomes.filter((o) => o.kind !== 'confirmed')).toEqual([]);
}

const guidsOf = (messages: EventsMessage[]) => messages.map((m) => m.instanceGuid).sort();
const expectedGuids = () => [...wanted.keys()].sort();
const summaries = (of: Harness = h) => logLines(of.log).filter((l) => l.msg === 'reconcile run' || l.msg === 'reconcile run incomplete');

beforeAll(async () => {
  shared = await startSimulator();
  wanted = await seedThousand(shared);
});
afterAll(async () => {
  await shared.stop();
});
beforeEach(async () => {
  h = await harness(shared);
});
afterEach(() => {
  shared.faults.clear();
});

describe('reconcile against the simulator (real Azurite)', () => {
  it('retries a page that fails with 503, then 429 (honouring Retry-After), and misses nothing', async () => {
    h.sim.faults.add({ role: 'platform', route: QUERY_ROUTE, status: [200, 200, 503, 429], retryAfter: 7 });
    await expect(h.run({ apps: ['app-a', 'other-x'] })).rejects.toThrow(/not in ALTINN_APPS.*other-x/);
    const result = await h.run({ apps: ['app-a'] });
    expect(result).toMatchObject({ status: 'complete', found: 60, enqueued: 60, pages: 4 });
    expect(h.queries().map((q) => q.status)).toEqual([200, 200, 503, 429, 200, 200]);
    expect(h.sleeps.some((ms) => ms >= 7000)).toBe(true);
    expect(guidsOf(await queuedMessages(h.queue))).toEqual([...wanted].filter(([, app]) => app === 'app-a').map(([g]) => g).sort());
    expect(logLines(h.log).filter((l) => l.msg === 'storage query page failed, retrying').map((l) => l.attempt)).toEqual([1, 2]);
  });

  it('a run that cannot finish enqueues what it found and says how far it got; the next run adds the rest, nothing twice', async () => {
    h.sim.faults.add({ role: 'platform', route: QUERY_ROUTE, status: [200, 200, 503, 503, 503, 503] });
    const broken = await h.run();
    // app-a: 20 on its first page, then 19 more (each next page asks again for the boundary instance).
    expect(broken).toMatchObject({ status: 'incomplete', found: 109, enqueued: 109 });
    if (broken.status === 'skipped') return;
    expect(broken.apps.map((a) => [a.app, a.complete, a.pages])).toEqual([
      ['app-a', false, 2],
      ['app-b', true, 3],
      ['app-c', true, 2],
    ]);
    const stopped = logLines(h.log).find((l) => String(l.msg).startsWith('reconcile stopped part-way'));
    expect(stopped).toMatchObject({ level: 'error', app: 'app-a', pagesReached: 2, found: 39, enqueued: 39 });
    expect(summaries()[0]).toMatchObject({ level: 'warn', complete: false, failedApps: ['app-a'], enqueued: 109 });
    const pending = summaries()[0]?.pending as { app: string; stoppedBy: string; resumeAt: string }[];
    expect(pending.map((p) => [p.app, p.stoppedBy])).toEqual([['app-a', 'error']]);
    expect(pending[0]?.resumeAt).toMatch(/^\d{4}-/);

    // app-a resumes below its last page (the boundary instance again: skipped); app-b and app-c start a new pass.
    const rest = await h.run();
    expect(rest).toMatchObject({ status: 'complete', found: 92, enqueued: 21, skipped: 71 });
    if (rest.status === 'skipped') return;
    expect(rest.apps.map((a) => [a.app, a.resumed])).toEqual([
      ['app-a', true],
      ['app-b', false],
      ['app-c', false],
    ]);
    const messages = await queuedMessages(h.queue);
    expect(messages).toHaveLength(130);
    expect(guidsOf(messages)).toEqual(expectedGuids());
  });

  it('a dry run counts but enqueues and marks nothing', async () => {
    const dry = await h.run({ dryRun: true });
    expect(dry).toMatchObject({ status: 'complete', dryRun: true, found: 130, enqueued: 130 });
    expect(await queuedMessages(h.queue)).toEqual([]);
    const real = await h.run();
    expect(real).toMatchObject({ found: 130, enqueued: 130, skipped: 0 });
  });

  it('skips a run that overlaps another: in this process, or holding the lease elsewhere', async () => {
    const [a, b] = await Promise.all([h.run(), h.run()]);
    expect([a.status, b.status].sort()).toEqual(['complete', 'skipped']);

    const container = h.deps.blob.getContainerClient(h.deps.config.blobContainer);
    const held = await acquireRunLock(container, h.log);
    const before = h.queries().length;
    expect(await h.run()).toEqual({ status: 'skipped', reason: 'already-running' });
    expect(h.queries()).toHaveLength(before);
    await held?.release();
    expect((await h.run()).status).toBe('complete');
  });

  it('queries org-wide when ALTINN_APPS is empty, and honours RECONCILE_SINCE', async () => {
    const wide = await harness(shared, { ALTINN_APPS: '', RECONCILE_SINCE: 'P30D' });
    const old = new Date(Date.now() - 40 * 86_400_000);
    for (let i = 0; i < 5; i++) await shared.seedInstance({ app: 'other-x', completed: true, lastChanged: old });
    const result = await wide.run({ pageSize: 100, dryRun: true });
    expect(result).toMatchObject({ status: 'complete', found: 300, enqueued: 300, pages: 4 });
    const first = new URL(wide.queries()[0]?.path ?? '', shared.platformUrl).searchParams;
    expect(first.has('appId')).toBe(false);
    expect(first.get('lastChanged')).toMatch(/^gt:\d{4}-\d\d-\d\dT/);
    // Without the lower bound the old ones are found too.
    expect(await (await harness(shared, { ALTINN_APPS: '' })).run({ pageSize: 100, dryRun: true })).toMatchObject({ found: 305 });
  });

  // 1,000 instances seeded, 130 downloaded and confirmed by the processor: more than the default minute on a busy machine.
  it('enqueues exactly the 130 completed-and-unconfirmed instances; once the processor confirms them, the next run finds none', { timeout: 240_000 }, async () => {
    // Its own simulator: this test confirms instances, which the other tests must still find.
    const sim = await startSimulator();
    try {
      await confirmCycle(await harness(sim), await seedThousand(sim));
    } finally {
      await sim.stop();
    }
  });
});

/** Reconcile, process what was enqueued, reconcile again. */
async function confirmCycle(h: Harness, wanted: Map<string, string>): Promise<void> {
  const progress: ReconcileProgress[] = [];
  const first = await h.run({ onProgress: (p) => progress.push(p) });
  expect(first).toMatchObject({ status: 'complete', found: 130, enqueued: 130, skipped: 0, invalid: 0, pages: 9 });
  if (first.status === 'skipped') return;
  expect(first.apps.map((a) => [a.app, a.found, a.pages])).toEqual([
    ['app-a', 60, 4],
    ['app-b', 45, 3],
    ['app-c', 25, 2],
  ]);
  expect(progress.map((p) => `${p.app}#${p.page}`)).toEqual(['app-a#1', 'app-a#2', 'app-a#3', 'app-a#4', 'app-b#1', 'app-b#2', 'app-b#3', 'app-c#1', 'app-c#2']);
  expect(progress.at(-1)?.totals).toMatchObject({ pages: 9, found: 130, enqueued: 130 });

  const messages = await queuedMessages(h.queue);
  expect(guidsOf(messages)).toEqual([...wanted.keys()].sort());
  for (const m of messages) expect(m).toMatchObject({ org: 'ttd', app: wanted.get(m.instanceGuid), reason: 'reconcile' });

  // Every page request: authenticated, with the filters, built from settings (the continuation in our own URL).
  const queries = h.queries();
  expect(queries).toHaveLength(9);
  for (const q of queries) {
    expect(q.hasAuth).toBe(true);
    const p = new URL(q.path, h.sim.platformUrl).searchParams;
    expect(p.get('org')).toBe('ttd');
    expect(p.get('process.isComplete')).toBe('true');
    expect(p.get('excludeConfirmedBy')).toBe('ttd');
    expect(p.get('size')).toBe(String(PAGE_SIZE));
  }
  // Pages after the first ask below the oldest instance of the page before; Storage's token is never sent.
  const lastChanged = queries.map((q) => new URL(q.path, h.sim.platformUrl).searchParams);
  expect(lastChanged.filter((p) => p.getAll('lastChanged').some((v) => v.startsWith('lte:')))).toHaveLength(6);
  expect(lastChanged.filter((p) => p.has('continuationToken'))).toHaveLength(0);

  const [summary] = summaries(h);
  expect(summary).toMatchObject({ level: 'info', pages: 9, found: 130, enqueued: 130, skipped: 0, complete: true });
  expect(typeof summary?.durationMs).toBe('number');

  // A run while those messages are still waiting adds nothing.
  const again = await h.run();
  expect(again).toMatchObject({ status: 'complete', found: 130, enqueued: 0, skipped: 130 });

  await processAll(h, messages);
  const after = await h.run();
  expect(after).toMatchObject({ status: 'complete', found: 0, enqueued: 0, pages: 3 });
  expect(await queuedMessages(h.queue)).toEqual([]);
}

describe('events Altinn never delivered', () => {
  it('instances whose completion events were dropped on purpose are downloaded and confirmed after one reconcile run', async () => {
    const sim = await startSimulator();
    try {
      const t = await harness(sim);
      // A validated subscription per app; the simulator drops every delivery to them, so the webhook never hears.
      APPS.forEach((app, i) =>
        sim.events.subscriptions.set(99 + i, {
          id: 99 + i,
          endPoint: 'http://127.0.0.1:9/api/events',
          sourceFilter: null,
          resourceFilter: appResource('ttd', app),
          subjectFilter: null,
          alternativeSubjectFilter: null,
          typeFilter: null,
          consumer: '/org/ttd',
          createdBy: '/org/ttd',
          created: new Date().toISOString(),
          validated: true,
        }),
      );
      sim.events.dropNext(12);
      const docs = await Promise.all(
        Array.from({ length: 12 }, (_, i) => sim.seedInstance({ app: APPS[i % 3] ?? '', elements: [{ dataType: 'model', contentType: 'application/xml', size: 512, withContentHash: true }] })),
      );
      const events = docs.map((d) => sim.completeProcess(d.id.split('/')[0] ?? '', d.id.split('/')[1] ?? ''));
      await sim.events.idle();
      const eventIds = new Set(events.map((e) => e.id));
      const tried = sim.events.deliveries.filter((d) => eventIds.has(d.eventId));
      expect(tried.map((d) => d.status)).toEqual(Array<number>(12).fill(-1));

      const result = await t.run();
      expect(result).toMatchObject({ status: 'complete', found: 12, enqueued: 12 });
      await processAll(t, await queuedMessages(t.queue));

      const container = t.deps.blob.getContainerClient(t.config.blobContainer);
      for (const d of docs) {
        const [partyId, guid] = d.id.split('/') as [string, string];
        expect(sim.counters.effectiveCompletes[guid]).toBe(1);
        expect(await container.getBlobClient(`ttd/${d.appId.split('/')[1]}/${partyId}/${guid}/manifest.json`).exists()).toBe(true);
      }
      expect(await t.run()).toMatchObject({ status: 'complete', found: 0, enqueued: 0 });
    } finally {
      await sim.stop();
    }
  });
});
