import { join } from 'node:path';
import { loadHostJson } from '../host/hostJson.js';
import { ROOT } from '../host/childProcess.js';
import { alternateOnce, runUntilDecided, type Bench, type BenchContext } from './harness.js';
import { move, seed, type Mover } from './pipeline.js';
import { measureConfirmation } from './confirmation.js';
import { costNotes, measureCost } from './cost.js';
import { judge, judgeCount, percentile, summarize, type Goal } from './stats.js';

const KiB = 1024;

/** Element sizes spread log-uniformly over 10 KiB–1 MiB, the same list every run (seeded). */
function sizes(count: number): number[] {
  let s = 0x9e3779b9;
  const random = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  return Array.from({ length: count }, () => Math.round(10 * KiB * Math.exp(random() * Math.log(1024 / 10))));
}

const MOVERS = ['ours', 'plain'] as const satisfies readonly Mover[];

interface Plan {
  instances: number;
  /** Three per instance. */
  elementSizes: number[];
  concurrency: number;
  downloadConcurrency: number;
}

/** One run of `mover`: seeds the instances, moves them, checks each was confirmed exactly once. */
async function moveInstances(ctx: BenchContext, mover: Mover, run: number, plan: Plan) {
  const { instances, elementSizes, concurrency, downloadConcurrency } = plan;
  const warmup = [await seed(ctx, [10 * KiB, 10 * KiB, 10 * KiB])];
  const messages = [];
  for (let i = 0; i < instances; i++) messages.push(await seed(ctx, elementSizes.slice(i * 3, i * 3 + 3)));
  const before = { grants: ctx.sim.counters.grants, exchanges: ctx.sim.counters.exchanges };
  const r = await move(ctx, mover, { warmup, messages, concurrency, container: `bench-many-${mover}-${run}`, downloadConcurrency });
  const unconfirmed = messages.filter((m) => ctx.sim.counters.effectiveCompletes[m.instanceGuid] !== 1).length;
  if (unconfirmed > 0) throw new Error(`many ${mover}: ${unconfirmed} instances not confirmed exactly once`);
  return {
    instancesPerS: instances / (r.elapsedMs / 1000),
    p99Ms: percentile(r.durationsMs, 99),
    grants: ctx.sim.counters.grants - before.grants,
    exchanges: ctx.sim.counters.exchanges - before.exchanges,
    peakRssMiB: r.maxRssBytes / 2 ** 20,
  };
}

type MoverFigures = Awaited<ReturnType<typeof moveInstances>>;
// A type, not an interface: the bench's raw runs are plain records.
type Figures = { ours: MoverFigures; plain: MoverFigures; ratio: number };

const tokensOk = (figures: Figures[]) => figures.every((f) => f.ours.grants === 1 && f.ours.exchanges === 1);

/** The goals judged on the timed runs (the counted ones are added once the cost pass has run). */
function runGoals(figures: Figures[]): Goal[] {
  const tokens = tokensOk(figures);
  return [
    { goal: 'exactly 1 grant + 1 exchange per run', measured: figures.map((f) => `${f.ours.grants}+${f.ours.exchanges}`).join(', '), met: tokens, verdict: tokens ? 'met' : 'missed', method: 'count' },
    judge('throughput >= 0.95 x baseline', figures.map((f) => f.ratio), { atLeast: 0.95 }),
  ];
}

function manyMetrics(figures: Figures[]) {
  const pick = (g: (x: Figures) => number, unit: string) => summarize(figures.map(g), unit);
  return {
    'ours instances/s': pick((x) => x.ours.instancesPerS, 'inst/s'),
    'ours p99 per instance': pick((x) => x.ours.p99Ms, 'ms'),
    'ours grants': pick((x) => x.ours.grants, 'count'),
    'ours exchanges': pick((x) => x.ours.exchanges, 'count'),
    'ours peak RSS': pick((x) => x.ours.peakRssMiB, 'MiB'),
    'baseline peak RSS': pick((x) => x.plain.peakRssMiB, 'MiB'),
    'baseline instances/s': pick((x) => x.plain.instancesPerS, 'inst/s'),
    'baseline p99 per instance': pick((x) => x.plain.p99Ms, 'ms'),
    'ours / baseline': pick((x) => x.ratio, 'ratio'),
  };
}

export const many: Bench = {
  name: 'many',
  title: 'many: instances x 3 elements (10 KiB-1 MiB) at the host concurrency',
  async run(ctx, options) {
    const { quick, instances: instancesOption, downloadConcurrency = 4 } = options;
    // 200 by default so that `npm run bench` stays near ten minutes here; --instances 1000 for the size.
    const instances = instancesOption ?? (quick ? 4 : 200);
    const { queues } = await loadHostJson(join(ROOT, 'host.json'));
    // The Functions host runs up to batchSize + newBatchThreshold messages of one queue at once.
    const concurrency = queues.batchSize + queues.newBatchThreshold;
    const elementSizes = sizes(instances * 3);
    const plan = { instances, elementSizes, concurrency, downloadConcurrency };
    const once = async (run: number): Promise<Figures> => {
      const r = await alternateOnce(MOVERS, run, (mover) => moveInstances(ctx, mover, run, plan));
      return { ...r, ratio: r.ours.instancesPerS / r.plain.instancesPerS };
    };
    const figures = await runUntilDecided(options, once, runGoals);
    // Requests are counted once, on a few instances of the same sizes: they do not vary between runs.
    const costInstances = quick ? 2 : 10;
    const perInstance = Array.from({ length: costInstances }, (_, i) => elementSizes.slice(i * 3, i * 3 + 3));
    const cost = await measureCost(ctx, MOVERS, perInstance, concurrency);
    const confirmation = await measureConfirmation(ctx, quick ? perInstance : Array.from({ length: 50 }, (_, i) => elementSizes.slice(i * 3, i * 3 + 3)), 'bench');
    const one = (v: number, unit: string) => summarize([v], unit);
    const [ours, plain] = [cost.ours!, cost.plain!];
    return {
      params: { instances, elementsPerInstance: 3, totalBytes: elementSizes.reduce((a, b) => a + b, 0), concurrency, downloadConcurrency },
      metrics: {
        ...manyMetrics(figures),
        'ours storage transactions / instance': one(ours.storagePerInstance, 'count'),
        'baseline storage transactions / instance': one(plain.storagePerInstance, 'count'),
        'ours Altinn requests / instance': one(ours.altinnPerInstance, 'count'),
        'baseline Altinn requests / instance': one(plain.altinnPerInstance, 'count'),
        'time to confirmation, median': one(confirmation.medianMs / 1000, 's'),
        'time to confirmation, p95': one(confirmation.p95Ms / 1000, 's'),
        'of which settle (SETTLE_SECONDS)': one(confirmation.settleSeconds, 's'),
        'beyond the settle, median': one(confirmation.medianMs / 1000 - confirmation.settleSeconds, 's'),
        'beyond the settle, p95': one(confirmation.p95Ms / 1000 - confirmation.settleSeconds, 's'),
      },
      goals: [
        ...runGoals(figures),
        judgeCount('storage transactions per instance <= baseline + 3', ours.storagePerInstance - plain.storagePerInstance, { atMost: 3 }, 'over the baseline'),
        judgeCount('Altinn requests per instance <= baseline + 1', ours.altinnPerInstance - plain.altinnPerInstance, { atMost: 1 }, 'over the baseline'),
      ],
      runs: figures,
      cost,
      notes: [
        'the baseline gets its token minted by the simulator (no grant, no exchange)',
        ...costNotes(cost),
        `time to confirmation: ${confirmation.instances} instances, each event POSTed to the webhook of a local host running eventsReceiver + instanceProcessor (host.json polling and concurrency) as a burst, until its complete reached the simulator; SETTLE_SECONDS=${confirmation.settleSeconds} (set SETTLE_SECONDS for another)`,
      ],
    };
  },
};
