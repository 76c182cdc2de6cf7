import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { startNode } from '../host/childProcess.js';
import { QUEUES } from '../../lib/queue/names.js';
import { alternate, runWorker, type Bench, type BenchContext, type WorkerResult } from './harness.js';
import { startHostLoggingToFile } from './hostToFile.js';
import { judge, percentile, summarize } from './stats.js';

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

type Variant = 'ours' | 'baseline';
const VARIANTS = ['ours', 'baseline'] as const;
const CONCURRENCY = 32;
const BASELINE_QUEUE = 'bench-intake-baseline';

/** Where a variant takes events, and the queue it puts them on. */
interface Target {
  url: string;
  queue: QueueClient;
}
type Shot = WorkerResult & { errors: number };

export const intake: Bench = {
  name: 'intake',
  title: 'intake: POST /api/events on the local host vs a minimal enqueue-only server',
  async run(ctx, { quick, runs, events: eventsOption }) {
    // 2,000 by default: Azurite's in-memory queue slows down as it fills (see BENCHMARKS.md); --events 10000 for the size.
    const count = eventsOption ?? (quick ? 100 : 2_000);
    const warmup = quick ? 20 : 1_000;
    const dir = mkdtempSync(join(tmpdir(), 'bench-intake-'));
    const { host, targets } = await startTargets(ctx, dir);
    const shoot = (v: Variant, n: number) => shootEvents(ctx, targets[v], v, n, dir);
    const results = await (async () => {
      try {
        for (const v of VARIANTS) await shoot(v, warmup);
        return await alternate(VARIANTS, runs, (v) => shoot(v, count));
      } finally {
        await host.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    const figures = results.map((r) => runFigures(r, count));
    return {
      params: { events: count, concurrency: CONCURRENCY, warmup },
      metrics: intakeMetrics(figures),
      goals: [
        judge('throughput >= 0.90 x baseline', figures.map((f) => f.ratio), { atLeast: 0.9 }),
        judge('p99 <= 1.2 x baseline p99', figures.map((f) => f.ours.p99Ms / f.baseline.p99Ms), { atMost: 1.2 }),
      ],
      runs: figures,
      notes: [],
    };
  },
};

/** The local host with only the webhook function (logging to `dir`), and the enqueue-only baseline server. */
async function startTargets({ azurite, env }: BenchContext, dir: string) {
  const host = await startHostLoggingToFile({ env, functions: 'dist/functions/eventsReceiver.js', logFile: join(dir, 'host.log') });
  const baseline = startNode('bench-intake-baseline', 'dist/dev/bench/workers/intakeBaseline.js', [JSON.stringify({ queue: BASELINE_QUEUE })], {
    env: { PATH: process.env.PATH, ...env },
  });
  const listening = baseline.waitForJson((r) => r.msg === 'baseline listening');
  const port = (await listening.catch(async (e: unknown) => {
    await host.stop();
    throw e;
  })).port as number;
  const targets: Record<Variant, Target> = {
    ours: { url: `${host.url}/api/events?code=bench`, queue: new QueueClient(azurite.connectionString, QUEUES.events) },
    baseline: { url: `http://127.0.0.1:${port}/`, queue: new QueueClient(azurite.connectionString, BASELINE_QUEUE) },
  };
  return { host, targets };
}

/** `n` fresh events posted to `target` by the load worker; every 200 must have been enqueued. Empties the queue after. */
async function shootEvents({ sim, env }: BenchContext, target: Target, v: Variant, n: number, dir: string): Promise<Shot> {
  const bodiesFile = join(dir, 'bodies.json');
  writeFileSync(bodiesFile, JSON.stringify(events(n, sim.appsUrl)));
  const r = await runWorker('load', { url: target.url, bodiesFile, concurrency: CONCURRENCY, contentType: 'application/cloudevents+json' }, { ...env });
  const statuses = (r as WorkerResult & { statuses: Record<string, number> }).statuses;
  const ok = statuses['200'] ?? 0;
  const enqueued = (await target.queue.getProperties()).approximateMessagesCount ?? 0;
  // A 503 (queue too slow) is a correct answer (Altinn retries it), so it is counted, not fatal; a lost 200 is.
  if (enqueued < ok) throw new Error(`intake ${v}: ${ok} answered 200 but only ${enqueued} enqueued`);
  await target.queue.clearMessages();
  return { ...r, errors: n - ok };
}

/** One run's figures per variant, and ours / baseline throughput. */
function runFigures(r: Record<Variant, Shot>, count: number) {
  const f = (x: Shot) => ({
    // Only 200s count: an event answered 503 is delivered again later.
    eventsPerS: ((count - x.errors) / x.elapsedMs) * 1000,
    p50Ms: percentile(x.durationsMs, 50),
    p99Ms: percentile(x.durationsMs, 99),
    errors: x.errors,
  });
  const ours = f(r.ours);
  const base = f(r.baseline);
  return { ours, baseline: base, ratio: ours.eventsPerS / base.eventsPerS };
}

function intakeMetrics(figures: ReturnType<typeof runFigures>[]) {
  const pick = (g: (x: (typeof figures)[number]) => number, unit: string) => summarize(figures.map(g), unit);
  return {
    'ours events/s': pick((x) => x.ours.eventsPerS, 'events/s'),
    'ours p50': pick((x) => x.ours.p50Ms, 'ms'),
    'ours p99': pick((x) => x.ours.p99Ms, 'ms'),
    'baseline events/s': pick((x) => x.baseline.eventsPerS, 'events/s'),
    'baseline p50': pick((x) => x.baseline.p50Ms, 'ms'),
    'baseline p99': pick((x) => x.baseline.p99Ms, 'ms'),
    'ours / baseline': pick((x) => x.ratio, 'ratio'),
    'ours non-200 answers': pick((x) => x.ours.errors, 'count'),
    'baseline non-200 answers': pick((x) => x.baseline.errors, 'count'),
  };
}
