import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorClient } from '../dev/simulator/index.js';
import { createAltinnHttp, type AltinnHttp } from '../lib/altinn/http.js';
import { createTokenProvider } from '../lib/auth/index.js';
import { loadConfig } from '../lib/config.js';
import { ReceiverError } from '../lib/errors.js';
import { createQueueSender } from '../lib/queue/sender.js';
import { runReconcile, type ReconcileDeps, type ReconcileOptions, type ReconcileResult } from '../lib/reconcile/run.js';
import { MIN_PAGE_SIZE } from '../lib/reconcile/windows.js';
import { fakeClock } from './support/clock.js';
import { memoryLogger } from './support/log.js';
import { withEventsQueue } from './support/queues.js';
import { azuriteConnectionString, storageClients, uniqueName } from './support/storage.js';
import { logLines, queuedMessages } from './support/webhook.js';

/**
 * The reconciler against Storage's production failures (altinn-storage#634: 400 for larger pages;
 * timeouts), Storage's paging ties (readinstancefromquery.sql) and servers that never stop paging.
 * Real Azurite, the simulator over real sockets; the clock is fake (no test waits for a backoff).
 */
const ROUTE = 'storage.query';

let sim: Simulator;
let client: SimulatorClient;
beforeAll(async () => {
  sim = await startSimulator({ org: 'ttd', seed: 28 });
  client = await sim.newClient();
});
afterAll(async () => {
  await sim.stop();
});

interface Harness {
  deps: ReconcileDeps;
  log: ReturnType<typeof memoryLogger>;
  run(o?: ReconcileOptions): Promise<ReconcileResult>;
  queries(): { size: number; lastChanged: string[]; status: number }[];
  messages(): ReturnType<typeof queuedMessages>;
}

function harness(app: string, env: Record<string, string> = {}, wrap?: (http: AltinnHttp) => Pick<AltinnHttp, 'request'>): Harness {
  const config = loadConfig({ ...client.env, AzureWebJobsStorage: azuriteConnectionString(), BLOB_CONTAINER: uniqueName('rw'), ALTINN_APPS: app, ...env });
  const clock = fakeClock();
  const log = memoryLogger();
  const tokens = createTokenProvider({ maskinporten: config.maskinporten, platformUrl: config.altinn.platformUrl, clock, log });
  const storage = storageClients();
  const queueName = uniqueName('ev');
  const http = createAltinnHttp({ tokens, log, clock });
  const deps: ReconcileDeps = {
    config,
    http: wrap ? wrap(http) : http,
    blob: storage.blob,
    queues: withEventsQueue(createQueueSender(storage.queue), queueName),
    clock,
    log,
    retryPolicy: { maxAttempts: 2, budgetMs: 10_000, baseDelayMs: 10, maxDelayMs: 10 },
  };
  const first = sim.requests.length;
  const appId = `ttd/${app}`;
  return {
    deps,
    log,
    run: (o = {}) => runReconcile(deps, o),
    queries: () =>
      sim.requests
        .slice(first)
        .filter((r) => r.route === ROUTE && new URL(r.path, sim.platformUrl).searchParams.get('appId') === appId)
        .map((r) => {
          const p = new URL(r.path, sim.platformUrl).searchParams;
          return { size: Number(p.get('size')), lastChanged: p.getAll('lastChanged'), status: r.status };
        }),
    messages: () => queuedMessages(storage.queue.getQueueClient(queueName)),
  };
}

async function seed(app: string, n: number, o: { lastChanged?: (i: number) => Date; confirmed?: (i: number) => boolean } = {}): Promise<string[]> {
  const guids: string[] = [];
  for (let i = 0; i < n; i++) {
    const confirmed = o.confirmed?.(i) ?? false;
    const doc = await sim.seedInstance({ app, completed: true, ...(confirmed ? { confirmedBy: ['ttd'] } : {}), ...(o.lastChanged ? { lastChanged: o.lastChanged(i) } : {}) });
    if (!confirmed) guids.push(doc.id.split('/')[1] ?? '');
  }
  return guids.sort();
}

const guidsOf = async (h: Harness) => (await h.messages()).map((m) => m.instanceGuid).sort();
const summary = (h: Harness) => logLines(h.log).filter((l) => String(l.msg).startsWith('reconcile run')).at(-1);

describe('Storage answers 400 for larger pages (altinn-storage#634)', () => {
  it('a query that fails at size 100 completes by shrinking; the next run starts at the size that worked', async () => {
    const wanted = await seed('shrink-a', 150);
    sim.settings.queryLimits = { maxSize: 30 };
    try {
      const h = harness('shrink-a');
      const result = await h.run();
      expect(result).toMatchObject({ status: 'complete', found: 150, enqueued: 150, shrinks: 2 });
      const q = h.queries();
      expect(q.slice(0, 3).map((x) => [x.size, x.status])).toEqual([
        [100, 400],
        [50, 400],
        [25, 200],
      ]);
      expect(q.every((x) => x.status === 400 || x.size <= 30)).toBe(true);
      expect(await guidsOf(h)).toEqual(wanted);
      expect(logLines(h.log).filter((l) => l.msg === 'reconcile: Storage could not answer; asking again for less').map((l) => l.pageSize)).toEqual([50, 25]);
      console.info(`[figures] 400 above size 30, 150 instances: ${q.length} requests (${q.filter((x) => x.status === 400).length} answered 400), ${result.status === 'skipped' ? 0 : result.pages} pages`);

      const next = harness('shrink-a', { BLOB_CONTAINER: h.deps.config.blobContainer });
      expect(await next.run({ dryRun: true })).toMatchObject({ status: 'complete', found: 150, shrinks: 0 });
      expect(next.queries().every((x) => x.status === 200 && x.size === 25)).toBe(true);
    } finally {
      sim.settings.queryLimits = {};
    }
  });

  it('a window that scans too many rows is narrowed until Storage can answer it; nothing is missed', async () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    // 300 instances over 10 days, 1 in 15 completed and unconfirmed: a page of 10 over the whole range scans ~150 rows.
    const wanted = await seed('shrink-b', 300, { lastChanged: (i) => new Date(t0 + i * 48 * 60_000), confirmed: (i) => i % 15 !== 0 });
    sim.settings.queryLimits = { maxScanned: 20 };
    try {
      const h = harness('shrink-b', { RECONCILE_PAGE_SIZE: '10' });
      const result = await h.run();
      expect(result).toMatchObject({ status: 'complete', found: 20, enqueued: 20 });
      if (result.status === 'skipped') return;
      // The page size went down to its floor first, then the window narrowed below a day.
      const shrinks = logLines(h.log).filter((l) => l.msg === 'reconcile: Storage could not answer; asking again for less');
      expect(shrinks.length).toBe(result.shrinks);
      expect(shrinks.map((l) => l.pageSize).slice(0, 3)).toEqual([5, MIN_PAGE_SIZE, MIN_PAGE_SIZE]);
      expect(Math.min(...shrinks.map((l) => Number(l.windowMs ?? Infinity)))).toBeLessThan(86_400_000);
      // Answered: windows bounded below (the first one is open above: the newest), apart from the last one, below 2015.
      const q = h.queries();
      const answered = q.slice(q.findIndex((x) => x.status === 400)).filter((x) => x.status === 200);
      expect(answered.slice(0, -1).every((x) => x.lastChanged[0]?.startsWith('gt:'))).toBe(true);
      expect(answered.slice(1).every((x) => x.lastChanged.some((v) => /^lte?:/.test(v)))).toBe(true);
      expect(await guidsOf(h)).toEqual(wanted);
      console.info(`[figures] scan limit 20 rows, 20 of 300 over 10 days: ${q.length} requests (${q.filter((x) => x.status === 400).length} answered 400), ${result.pages} pages`);
    } finally {
      sim.settings.queryLimits = {};
    }
  });

  it('gives up on a window Storage never answers, at the floor, says where it stopped, and the next run resumes there', async () => {
    const wanted = await seed('shrink-c', 12);
    sim.settings.queryLimits = { maxSize: MIN_PAGE_SIZE - 1 };
    const h = harness('shrink-c');
    let broken: ReconcileResult;
    try {
      broken = await h.run();
    } finally {
      sim.settings.queryLimits = {};
    }
    expect(broken).toMatchObject({ status: 'incomplete', found: 0 });
    if (broken.status === 'skipped') return;
    expect((broken.apps[0]?.error as ReceiverError).code).toBe('reconcile-window-failed');
    expect(broken.apps[0]).toMatchObject({ pageSize: MIN_PAGE_SIZE, windowMs: 60_000 });
    expect(broken.shrinks).toBe(6 + 17); // 100 → 2 per page, then the window: 30 days halved to 1 minute
    const q = h.queries();
    expect(q.every((x) => x.status === 400)).toBe(true);
    expect(q).toHaveLength(broken.shrinks + 1);
    expect(summary(h)).toMatchObject({ level: 'warn', complete: false, failedApps: ['shrink-c'] });
    console.info(`[figures] Storage never answers: gave up after ${q.length} requests`);

    const next = harness('shrink-c', { BLOB_CONTAINER: h.deps.config.blobContainer });
    const resumed = await next.run();
    expect(resumed).toMatchObject({ status: 'complete', found: 12, enqueued: 12 });
    if (resumed.status === 'skipped') return;
    expect(resumed.apps[0]?.resumed).toBe(true);
    expect(summary(next)).toMatchObject({ resumedApps: ['shrink-c'] });
    expect(await guidsOf(next)).toEqual(wanted);
  });

  it('a query that times out shrinks as a 400 does', async () => {
    const wanted = await seed('shrink-d', 40);
    const slowAbove = 25;
    const h = harness('shrink-d', {}, (http) => ({
      request: async (url, init) => {
        if (Number(new URL(url).searchParams.get('size')) > slowAbove) {
          throw new ReceiverError('Altinn (GET /storage/api/v1/instances): no response headers within 30000 ms', { code: 'altinn-timeout', retryable: true });
        }
        return http.request(url, init);
      },
    }));
    expect(await h.run()).toMatchObject({ status: 'complete', found: 40, enqueued: 40, shrinks: 2 });
    expect(await guidsOf(h)).toEqual(wanted);
  });
});

describe("Storage's paging ties (readinstancefromquery.sql)", () => {
  it("an instance that shares the boundary's lastChanged is not lost, where following Storage's next would lose it", async () => {
    const t0 = Date.parse('2026-02-01T00:00:00Z');
    // 5 newer, then 4 on one timestamp, then 3 older: a page of 6 ends inside the tie.
    const at = (i: number) => new Date(i < 5 ? t0 + (10 - i) * 1000 : i < 9 ? t0 : t0 - (i - 8) * 1000);
    const wanted = await seed('ties', 12, { lastChanged: at });
    const token = sim.altinnToken();
    const naive: string[] = [];
    for (let url: string | null = `${sim.platformUrl}/storage/api/v1/instances?appId=ttd/ties&process.isComplete=true&excludeConfirmedBy=ttd&size=6`; url; ) {
      const page = (await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json()) as { next: string | null; instances: { id: string }[] };
      naive.push(...page.instances.map((i) => i.id.split('/')[1] ?? ''));
      url = page.next;
    }
    expect(new Set(naive).size).toBe(9); // 3 of the 4 tied instances skipped

    const h = harness('ties', { RECONCILE_PAGE_SIZE: '6' });
    expect(await h.run()).toMatchObject({ status: 'complete', found: 12, enqueued: 12 });
    expect(await guidsOf(h)).toEqual(wanted);
  });
});

describe('bounded work per run (#27.6)', () => {
  it('stops at its page cap, says so, and the next runs resume until every instance is enqueued once', async () => {
    const wanted = await seed('capped', 60);
    const h = harness('capped', { RECONCILE_PAGE_SIZE: '10', RECONCILE_MAX_PAGES: '3' });
    const first = await h.run();
    expect(first).toMatchObject({ status: 'capped', pages: 3, found: 28, enqueued: 28 });
    if (first.status === 'skipped') return;
    expect(first.apps[0]).toMatchObject({ stoppedBy: 'page-cap', complete: false });
    expect(summary(h)).toMatchObject({ msg: 'reconcile run capped: the next run resumes where it stopped', capped: true, complete: false, failedApps: [] });
    const runs: ReconcileResult[] = [first];
    while (runs.at(-1)?.status === 'capped' && runs.length < 10) runs.push(await h.run());
    expect(runs.at(-1)?.status).toBe('complete');
    expect(runs.slice(1).every((r) => r.status === 'skipped' || r.apps[0]?.resumed)).toBe(true);
    const messages = await guidsOf(h);
    expect(messages).toEqual(wanted); // each once
    console.info(`[figures] 60 instances, 10 per page, cap 3 pages: ${runs.length} runs`);
  });

  it('stops at the time cap too', async () => {
    await seed('timecap', 30);
    const h = harness('timecap', { RECONCILE_PAGE_SIZE: '10', RECONCILE_MAX_SECONDS: '10' });
    const clock = h.deps.clock as ReturnType<typeof fakeClock>;
    let calls = 0;
    const inner = h.deps.http;
    // The second page takes 11 s (on the fake clock).
    h.deps.http = {
      request: async (url, init) => {
        const res = await inner.request(url, init);
        if (++calls === 2) clock.advance(11_000);
        return res;
      },
    };
    expect(await h.run()).toMatchObject({ status: 'capped', pages: 2 });
  });
});

describe('a server that never stops paging', () => {
  let server: Server;
  let requests = 0;
  let mode: 'full' | 'empty' = 'full';
  beforeAll(async () => {
    let n = 0;
    server = createServer((req, res) => {
      requests++;
      const size = Number(new URL(req.url ?? '', 'http://x').searchParams.get('size'));
      const instances =
        mode === 'empty'
          ? []
          : Array.from({ length: size }, () => {
              n++;
              const guid = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
              return { id: `1/${guid}`, appId: 'ttd/endless', instanceOwner: { partyId: '1' }, lastChanged: new Date(Date.parse('2026-01-01T00:00:00Z') - n * 1000).toISOString() };
            });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ count: instances.length, next: `http://x/storage/api/v1/instances?continuationToken=${n}-${requests}`, instances }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const endless = () => {
    const platform = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const h = harness('endless', { ALTINN_PLATFORM_URL: platform, RECONCILE_PAGE_SIZE: '5', RECONCILE_MAX_PAGES: '7' });
    h.deps.http = createAltinnHttp({ tokens: { getToken: () => Promise.resolve('t'), invalidate: () => undefined }, log: h.log, clock: h.deps.clock });
    return h;
  };

  it('full pages with a new token each time: the query stops at its page cap', async () => {
    mode = 'full';
    requests = 0;
    expect(await endless().run({ dryRun: true })).toMatchObject({ status: 'capped', pages: 7, found: 35 });
    expect(requests).toBe(7);
  });

  it('empty pages with a new token each time: one request, the token is never followed', async () => {
    mode = 'empty';
    requests = 0;
    expect(await endless().run({ dryRun: true })).toMatchObject({ status: 'complete', pages: 1, found: 0 });
    expect(requests).toBe(1);
  });
});
