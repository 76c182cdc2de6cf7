import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startAzuriteService, type AzuriteProcess } from '../azurite.js';
import { ROOT, startNode } from '../host/childProcess.js';
import { QUEUES } from '../../lib/queue/names.js';
import { MINIMAL_QUEUE } from './functions/minimalIntake.js';
import { runUntilDecided, runWorker, type Bench, type BenchContext, type WorkerResult } from './harness.js';
import { startHostLoggingToFile } from './hostToFile.js';
import { cpuSeconds } from './procCpu.js';
import { judge, percentile, summarize, type Goal } from './stats.js';

/** An app event as Altinn Events delivers it (members and their order as Altinn writes them), with our simulator's origin. */
function events(n: number, appsUrl: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const guid = randomUUID();
    const partyId = String(50_000_000 + (i % 5_000));
    return JSON.stringify({
      id: randomUUID(),
      source: `${appsUrl}/ttd/become-application-owner/instances/${partyId}/${guid}`,
      specversion: '1.0',
      type: 'app.instance.process.completed',
      resource: 'urn:altinn:resource:app_ttd_become-application-owner',
      resourceinstance: `${partyId}/${guid}`,
      subject: `/party/${partyId}`,
      time: new Date().toISOString(),
    });
  });
}

/**
 * ours: our webhook in the local host; minimal: an enqueue-only function in the same local host (the
 * baseline of the goals); plain: a bare Node server enqueueing the same way (minimal / plain is the local
 * host's own cost, a figure for the dev host only: in Azure the host is Microsoft's).
 */
type Variant = 'ours' | 'minimal' | 'plain';
const VARIANTS = ['ours', 'minimal', 'plain'] as const;
const CONCURRENCY = 32;
const CHUNKS = 4;
const PLAIN_QUEUE = 'bench-intake-plain';

/** Where a variant takes events, the queue it puts them on and the process that serves it (for its CPU time). */
interface Target {
  url: string;
  queue: QueueClient;
  pid: number | undefined;
}
type Shot = WorkerResult & { errors: number; cpuSeconds: number | undefined };

export const intake: Bench = {
  name: 'intake',
  title: 'intake: POST /api/events (ours) vs a minimal enqueue-only function, both in the local host',
  async run(ctx, options) {
    // 2,000 by default (--events 10000 for the size); the queue service is emptied before each run (emptyQueueService).
    const count = options.events ?? (options.quick ? 100 : 2_000);
    const warmup = options.quick ? 20 : 1_000;
    // Each run is CHUNKS shots per variant, interleaved in rotating order (ours, minimal, plain; minimal, plain, ours; …) so no
    // process is measured twice in a row: measured whole and alternated per run, the runs split by order (minimal / ours
    // CPU 0.77–0.85 when ours went last, 0.95–1.01 when it went first, its caches hot from the run before).
    const chunks = options.quick ? 1 : CHUNKS;
    const dir = mkdtempSync(join(tmpdir(), 'bench-intake-'));
    const { stop, targets } = await startTargets(ctx, dir);
    const shoot = (v: Variant, n: number) => shootEvents(ctx, targets[v], v, n, dir);
    let queueService: AzuriteProcess | undefined;
    const perShot = Math.ceil(count / chunks);
    const figures = await (async () => {
      try {
        for (const v of VARIANTS) await shoot(v, warmup);
        return await runUntilDecided(
          options,
          async (run) => {
            queueService = await emptyQueueService(ctx, targets, queueService);
            return runFigures(await interleaved(run, chunks, (v) => shoot(v, perShot)), chunks * perShot);
          },
          intakeGoals,
        );
      } finally {
        await stop();
        await queueService?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return {
      params: { events: count, concurrency: CONCURRENCY, warmup, chunks },
      metrics: intakeMetrics(figures),
      goals: intakeGoals(figures),
      runs: figures,
      notes: [
        'baseline of the goals: the minimal function (dev/bench/functions/minimalIntake.ts) in the same local host; "minimal / plain" is the local host\'s own cost against a bare Node server, not a product figure',
        'CPU per event: user + system time of the serving process over the run (/proc), divided by the events it answered 200',
      ],
    };
  },
};

type Figures = ReturnType<typeof runFigures>;

function intakeGoals(figures: Figures[]): Goal[] {
  const goals = [
    judge('throughput >= 0.90 x minimal function', figures.map((f) => f.ratio), { atLeast: 0.9 }),
    judge('p99 <= 1.2 x minimal function p99', figures.map((f) => f.ours.p99Ms / f.minimal.p99Ms), { atMost: 1.2 }),
  ];
  const cpu = figures.flatMap((f) => (f.cpuRatio === undefined ? [] : [f.cpuRatio]));
  // The same throughput goal read on CPU time: throughput per core is the inverse of CPU per event.
  if (cpu.length > 0) goals.push(judge('CPU per event: minimal / ours >= 0.90 (throughput per core)', cpu, { atLeast: 0.9 }, '', 'CPU time (/proc)'));
  return goals;
}

/** The local host twice (our webhook; the minimal function), logging to `dir`, and the plain server. */
async function startTargets({ azurite, env }: BenchContext, dir: string) {
  // host.json as the project has it, plus the minimal function's log category at the level ours has.
  const hostJson = JSON.parse(readFileSync(join(ROOT, 'host.json'), 'utf8')) as { logging: { logLevel: Record<string, string> } };
  hostJson.logging.logLevel['Function.minimalIntake.User'] = hostJson.logging.logLevel['Function.eventsReceiver.User'] ?? 'Information';
  writeFileSync(join(dir, 'host.json'), JSON.stringify(hostJson));
  const start = (functions: string, name: string) => startHostLoggingToFile({ env, functions, logFile: join(dir, `${name}.log`), hostJson: join(dir, 'host.json') });
  const ours = await start('dist/functions/eventsReceiver.js', 'ours');
  const minimal = await start('dist/dev/bench/functions/minimalIntake.js', 'minimal');
  const plain = startNode('bench-intake-plain', 'dist/dev/bench/workers/intakeBaseline.js', [JSON.stringify({ queue: PLAIN_QUEUE })], {
    env: { PATH: process.env.PATH, ...env },
  });
  const stop = () => Promise.all([ours.stop(), minimal.stop(), plain.kill()]);
  const listening = await plain.waitForJson((r) => r.msg === 'baseline listening').catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  const queue = (name: string) => new QueueClient(azurite.connectionString, name);
  const targets: Record<Variant, Target> = {
    ours: { url: `${ours.url}/api/events?code=bench`, queue: queue(QUEUES.events), pid: ours.pid },
    minimal: { url: `${minimal.url}/api/minimal?code=bench`, queue: queue(MINIMAL_QUEUE), pid: minimal.pid },
    plain: { url: `http://127.0.0.1:${listening.port as number}/`, queue: queue(PLAIN_QUEUE), pid: plain.child.pid },
  };
  return { stop, targets };
}

/** `n` fresh events posted to `target` by the load worker; every 200 must have been enqueued. Empties the queue after. */
async function shootEvents({ sim, env }: BenchContext, target: Target, v: Variant, n: number, dir: string): Promise<Shot> {
  const bodiesFile = join(dir, 'bodies.json');
  writeFileSync(bodiesFile, JSON.stringify(events(n, sim.appsUrl)));
  const cpuBefore = cpuSeconds(target.pid);
  const r = await runWorker('load', { url: target.url, bodiesFile, concurrency: CONCURRENCY, contentType: 'application/cloudevents+json' }, { ...env });
  const cpuAfter = cpuSeconds(target.pid);
  const statuses = (r as WorkerResult & { statuses: Record<string, number> }).statuses;
  const ok = statuses['200'] ?? 0;
  const enqueued = (await target.queue.getProperties()).approximateMessagesCount ?? 0;
  // A 503 (queue too slow) is a correct answer (Altinn retries it), so it is counted, not fatal; a lost 200 is.
  if (enqueued < ok) throw new Error(`intake ${v}: ${ok} answered 200 but only ${enqueued} enqueued`);
  await target.queue.clearMessages();
  return { ...r, errors: n - ok, cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
}

/**
 * Azurite's queue service started afresh on its port, its three queues created again, before each run: its in-memory
 * store sweeps every extent ever written once a minute, which after a few runs' messages held it at 100 % CPU for
 * minutes (the #29 quiet run that did not finish), and the hosts' sends with it.
 */
async function emptyQueueService({ azurite }: BenchContext, targets: Record<Variant, Target>, current: AzuriteProcess | undefined): Promise<AzuriteProcess> {
  await (current ?? azurite.services.queue).stop();
  const fresh = await startAzuriteService('queue', azurite.queuePort);
  for (const v of VARIANTS) await targets[v].queue.create();
  return fresh;
}

/** `chunks` shots of each variant, the order rotated by one after each round and each run; their figures added up per variant. */
async function interleaved(run: number, chunks: number, shoot: (v: Variant) => Promise<Shot>): Promise<Record<Variant, Shot>> {
  const shots: Record<Variant, Shot[]> = { ours: [], minimal: [], plain: [] };
  for (let c = 0; c < chunks; c++) {
    const k = run * chunks + c;
    for (let i = 0; i < VARIANTS.length; i++) {
      const v = VARIANTS[(i + k) % VARIANTS.length]!;
      shots[v].push(await shoot(v));
    }
  }
  const sum = (xs: Shot[]): Shot => ({
    ...xs[0]!,
    elapsedMs: xs.reduce((n, x) => n + x.elapsedMs, 0),
    durationsMs: xs.flatMap((x) => x.durationsMs),
    errors: xs.reduce((n, x) => n + x.errors, 0),
    cpuSeconds: xs.some((x) => x.cpuSeconds === undefined) ? undefined : xs.reduce((n, x) => n + (x.cpuSeconds ?? 0), 0),
  });
  return { ours: sum(shots.ours), minimal: sum(shots.minimal), plain: sum(shots.plain) };
}

/** One run's figures per variant; ours / minimal throughput and minimal / ours CPU per event. */
function runFigures(r: Record<Variant, Shot>, count: number) {
  const f = (x: Shot) => ({
    // Only 200s count: an event answered 503 is delivered again later.
    eventsPerS: ((count - x.errors) / x.elapsedMs) * 1000,
    p50Ms: percentile(x.durationsMs, 50),
    p99Ms: percentile(x.durationsMs, 99),
    cpuUsPerEvent: x.cpuSeconds === undefined ? undefined : (x.cpuSeconds * 1e6) / Math.max(1, count - x.errors),
    errors: x.errors,
  });
  const [ours, minimal, plain] = [f(r.ours), f(r.minimal), f(r.plain)];
  const cpuRatio = ours.cpuUsPerEvent && minimal.cpuUsPerEvent ? minimal.cpuUsPerEvent / ours.cpuUsPerEvent : undefined;
  return { ours, minimal, plain, ratio: ours.eventsPerS / minimal.eventsPerS, cpuRatio, hostRatio: minimal.eventsPerS / plain.eventsPerS };
}

function intakeMetrics(figures: Figures[]) {
  const pick = (g: (x: Figures) => number | undefined, unit: string) => {
    const values = figures.map(g).filter((v): v is number => v !== undefined);
    return values.length > 0 ? summarize(values, unit) : undefined;
  };
  const metrics = {
    'ours / minimal function': pick((x) => x.ratio, 'ratio'),
    'CPU per event: minimal / ours': pick((x) => x.cpuRatio, 'ratio'),
    'minimal function / plain server (dev host)': pick((x) => x.hostRatio, 'ratio'),
    ...Object.fromEntries(
      VARIANTS.flatMap((v) => [
        [`${v} events/s`, pick((x) => x[v].eventsPerS, 'events/s')],
        [`${v} p50`, pick((x) => x[v].p50Ms, 'ms')],
        [`${v} p99`, pick((x) => x[v].p99Ms, 'ms')],
        [`${v} CPU per event`, pick((x) => x[v].cpuUsPerEvent, 'µs')],
        [`${v} non-200 answers`, pick((x) => x[v].errors, 'count')],
      ]),
    ),
  };
  return Object.fromEntries(Object.entries(metrics).filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined));
}
