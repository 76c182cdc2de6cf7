import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';
import { createAltinnHttp } from '../lib/altinn/http.js';
import { createOrgAppList } from '../lib/altinn/orgApps.js';
import { createTokenProvider } from '../lib/auth/index.js';
import { loadConfig } from '../lib/config.js';
import { runFeed, type FeedDeps, type FeedResult } from '../lib/feed/run.js';
import { readCursors } from '../lib/feed/cursor.js';
import { manifestPath } from '../lib/processor/manifest.js';
import { createQueueSender } from '../lib/queue/sender.js';
import type { InstanceRef } from '../lib/queue/messages.js';
import type { RetryPolicy } from '../lib/retry.js';
import type { Clock } from '../lib/clock.js';
import { memoryLogger } from './support/log.js';
import { withEventsQueue } from './support/queues.js';
import { azuriteConnectionString, storageClients, uniqueName } from './support/storage.js';
import { logLines, queuedMessages } from './support/webhook.js';

/**
 * The feed (lib/feed) against the simulator's Altinn Events app feed and Azurite, over real sockets. No webhook
 * subscription exists, so no event is ever delivered: whatever is enqueued, the feed found. The reconciler is
 * not involved anywhere.
 */
const FAST_RETRY: RetryPolicy = { maxAttempts: 3, budgetMs: 60_000, baseDelayMs: 10, maxDelayMs: 100 };
const FEED_ROUTE = 'events.feed';

let sim: Simulator;
let client: SimulatorClient;

beforeAll(async () => {
  sim = await startSimulator({ eventsFeedDelayMs: 0 });
  client = await sim.newClient();
});
afterAll(() => sim.stop());

/** The real time plus what the test skipped ahead; sleeping (a retry's backoff) skips too, so nothing waits. */
function wallClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: (ms) => Promise.resolve(void (offset += ms)),
    advance: (ms) => void (offset += ms),
  };
}

/** A feed "host": its own runtime objects (config, token, clients) over the shared container and queue. */
function feedHost(shared: { container: string; queue: string }, env: Record<string, string> = {}) {
  const config = loadConfig({ ...client.env, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: shared.container, FEED_MIN_AGE_SECONDS: '0', ...env });
  const clock = wallClock();
  const log = memoryLogger();
  const tokens = createTokenProvider({ maskinporten: config.maskinporten, platformUrl: config.altinn.platformUrl, clock, log });
  const storage = storageClients();
  const deps: FeedDeps = {
    config,
    http: createAltinnHttp({ tokens, log, clock }),
    blob: storage.blob,
    queues: withEventsQueue(createQueueSender(storage.queue), shared.queue),
    orgApps: createOrgAppList({ platformUrl: config.altinn.platformUrl, clock }),
    clock,
    log,
    retryPolicy: FAST_RETRY,
  };
  return { deps, clock, log, run: () => runFeed(deps), queue: storage.queue.getQueueClient(shared.queue), container: storage.blob.getContainerClient(shared.container) };
}

const fresh = () => ({ container: uniqueName('feed'), queue: uniqueName('fq') });
const refOf = (doc: { id: string }, app: string): InstanceRef => {
  const [partyId, instanceGuid] = doc.id.split('/') as [string, string];
  return { org: 'ttd', app, partyId, instanceGuid };
};

/** Completed instances of `app`, whose events nobody receives. */
async function completed(app: string, n: number): Promise<{ ref: InstanceRef; eventId: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const ref = refOf(await sim.seedInstance({ app, elements: [{ dataType: 'model', contentType: 'application/xml', size: 10 }] }), app);
    out.push({ ref, eventId: sim.completeProcess(ref.partyId, ref.instanceGuid).id });
  }
  return out;
}

/** The feed requests the simulator saw since `from`: their query strings. */
const feedQueries = (from: number) => sim.requests.slice(from).filter((r) => r.route === FEED_ROUTE).map((r) => new URL(r.path, 'http://x').searchParams);
const counts = (r: FeedResult) => (r.status === 'skipped' ? r : { status: r.status, requests: r.requests, enqueued: r.enqueued, stored: r.stored, cursorWrites: r.cursorWrites, waiting: r.waiting });

describe('the Altinn Events feed', () => {
  it('enqueues (reason feed) every completed instance whose event was never delivered; an idle run after it: one request, no write', async () => {
    const shared = fresh();
    const host = feedHost(shared, { ALTINN_APPS: 'feed-a' });
    const found = await completed('feed-a', 3);
    const before = sim.requests.length;
    const t0 = host.clock.now();
    expect(counts(await host.run())).toEqual({ status: 'complete', requests: 1, enqueued: 3, stored: 0, cursorWrites: 1, waiting: 0 });
    const t1 = host.clock.now();
    const messages = await queuedMessages(host.queue);
    expect(messages.map((m) => [m.instanceGuid, m.eventId, m.reason, m.eventType]).sort()).toEqual(
      found.map((f) => [f.ref.instanceGuid, f.eventId, 'feed', 'app.instance.process.completed']).sort(),
    );
    // The first run starts FEED_LOOKBACK_HOURS back (48 h), later ones after the cursor: the last event handled.
    const [first] = feedQueries(before);
    expect([first?.get('after'), first?.getAll('type'), first?.get('size')]).toEqual([null, ['app.instance.process.completed'], '100']);
    const from = Date.parse(first?.get('from') ?? '');
    expect(from >= t0 - 48 * 3_600_000 && from <= t1 - 48 * 3_600_000).toBe(true);
    expect((await readCursors(host.container)).doc.apps['feed-a']).toMatchObject({ after: found[2]!.eventId });

    const idle = sim.requests.length;
    expect(counts(await host.run())).toEqual({ status: 'complete', requests: 1, enqueued: 0, stored: 0, cursorWrites: 0, waiting: 0 });
    expect(feedQueries(idle).map((q) => q.get('after'))).toEqual([found[2]!.eventId]);
    expect(sim.requests.slice(idle).map((r) => r.route)).toEqual([FEED_ROUTE]);
    expect(logLines(host.log).filter((l) => l.msg === 'feed run').at(-1)).toMatchObject({ apps: 1, requests: 1, enqueued: 0, cursorWrites: 0 });
  });

  it('skips instances already stored and confirmed (a manifest with readyAt), and pages with the last event id', async () => {
    const shared = fresh();
    const host = feedHost(shared, { ALTINN_APPS: 'feed-b', FEED_PAGE_SIZE: '2' });
    const found = await completed('feed-b', 5);
    await host.container.createIfNotExists();
    const stored = found[1]!.ref;
    const manifest = JSON.stringify({ version: 1, ...stored, instanceLastChanged: null, downloadedAt: new Date().toISOString(), elements: [], readyAt: new Date().toISOString() });
    await host.container.getBlockBlobClient(manifestPath(stored)).upload(manifest, manifest.length);
    const before = sim.requests.length;
    // Pages of 2, 2 and 1: a short page is the end for this run.
    expect(counts(await host.run())).toEqual({ status: 'complete', requests: 3, enqueued: 4, stored: 1, cursorWrites: 3, waiting: 0 });
    expect(feedQueries(before).map((q) => q.get('after'))).toEqual([null, found[1]!.eventId, found[3]!.eventId]);
    expect((await queuedMessages(host.queue)).map((m) => m.instanceGuid).sort()).toEqual(found.filter((f) => f !== found[1]).map((f) => f.ref.instanceGuid).sort());
  });

  it('leaves events younger than FEED_MIN_AGE_SECONDS (and all after them) for a later run', async () => {
    const shared = fresh();
    const host = feedHost(shared, { ALTINN_APPS: 'feed-c', FEED_MIN_AGE_SECONDS: '600' });
    const found = await completed('feed-c', 2);
    expect(counts(await host.run())).toEqual({ status: 'complete', requests: 1, enqueued: 0, stored: 0, cursorWrites: 0, waiting: 2 });
    expect(await queuedMessages(host.queue)).toEqual([]);
    host.clock.advance(601_000);
    expect(counts(await host.run())).toMatchObject({ enqueued: 2, cursorWrites: 1, waiting: 0 });
    expect((await readCursors(host.container)).doc.apps['feed-c']?.after).toBe(found[1]!.eventId);
  });

  it('the cursor survives a restart: a new runtime on the same storage enqueues only what came after', async () => {
    const shared = fresh();
    const first = feedHost(shared, { ALTINN_APPS: 'feed-d' });
    const old = await completed('feed-d', 2);
    expect(counts(await first.run())).toMatchObject({ enqueued: 2 });
    const later = await completed('feed-d', 1);
    const restarted = feedHost(shared, { ALTINN_APPS: 'feed-d' });
    const before = sim.requests.length;
    expect(counts(await restarted.run())).toMatchObject({ status: 'complete', requests: 1, enqueued: 1 });
    expect(feedQueries(before).map((q) => q.get('after'))).toEqual([old[1]!.eventId]);
    expect((await queuedMessages(restarted.queue)).map((m) => m.instanceGuid).sort()).toEqual([...old, ...later].map((f) => f.ref.instanceGuid).sort());
  });

  it('two hosts running at once on the same storage enqueue each instance once', async () => {
    const shared = fresh();
    const hosts = [feedHost(shared, { ALTINN_APPS: 'feed-e', FEED_PAGE_SIZE: '3' }), feedHost(shared, { ALTINN_APPS: 'feed-e', FEED_PAGE_SIZE: '3' })];
    const found = await completed('feed-e', 10);
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(hosts.map((h) => h.run()));
      // Either both ran one after the other (the second found nothing new), or one was turned away by the lease.
      expect(results.every((r) => r.status === 'complete' || (r.status === 'skipped' && r.reason === 'already-running'))).toBe(true);
    }
    const guids = (await queuedMessages(hosts[0]!.queue)).map((m) => m.instanceGuid).sort();
    expect(guids).toEqual(found.map((f) => f.ref.instanceGuid).sort());
  });

  it('with ALTINN_APPS empty, reads the feed of every app Storage lists for the org', async () => {
    const shared = fresh();
    const host = feedHost(shared);
    const found = [...(await completed('feed-f1', 1)), ...(await completed('feed-f2', 1))];
    const before = sim.requests.length;
    const result = await host.run();
    expect(result.status).toBe('complete');
    const asked = sim.requests.slice(before).filter((r) => r.route === FEED_ROUTE).map((r) => new URL(r.path, 'http://x').pathname);
    expect(asked).toEqual(expect.arrayContaining(['/events/api/v1/app/ttd/feed-f1', '/events/api/v1/app/ttd/feed-f2']));
    expect((await queuedMessages(host.queue)).map((m) => m.instanceGuid)).toEqual(expect.arrayContaining(found.map((f) => f.ref.instanceGuid)));
  });

  it('an app whose feed keeps failing stops that app only; its cursor stays and the run says so', async () => {
    const shared = fresh();
    const host = feedHost(shared, { ALTINN_APPS: 'feed-g1,feed-g2' });
    await completed('feed-g1', 1);
    const ok = await completed('feed-g2', 1);
    const rule = sim.faults.add({ route: FEED_ROUTE, status: 503, times: 3 });
    const result = await host.run();
    sim.faults.remove(rule);
    expect(result.status).toBe('incomplete');
    expect(result.status !== 'skipped' && result.apps.map((a) => [a.app, a.complete])).toEqual([['feed-g1', false], ['feed-g2', true]]);
    expect((await queuedMessages(host.queue)).map((m) => m.instanceGuid)).toEqual([ok[0]!.ref.instanceGuid]);
    expect((await readCursors(host.container)).doc.apps['feed-g1']).toBeUndefined();
    expect(logLines(host.log).some((l) => l.msg === 'feed run incomplete')).toBe(true);
  });

  it('FEED_ENABLED=false: no request at all', async () => {
    const host = feedHost(fresh(), { ALTINN_APPS: 'feed-h', FEED_ENABLED: 'false' });
    const before = sim.requests.length;
    expect(await host.run()).toEqual({ status: 'skipped', reason: 'disabled' });
    expect(sim.requests.length).toBe(before);
  });
});
