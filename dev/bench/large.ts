import { alternateOnce, runUntilDecided, withOwnAzurite, type Bench, type BenchOptions, type WorkerResult } from './harness.js';
import { move, seed, type Mover } from './pipeline.js';
import { costNotes, measureCost } from './cost.js';
import { judge, judgeCount, MiB, summarize, type Goal, type Summary } from './stats.js';

const MOVERS: Mover[] = ['ours', 'plain', 'buffering'];

interface MoverFigures {
  mibPerS: number;
  peakRssMiB: number;
  growthMiB: number;
}
/** One run: a mover's figures are undefined when its run failed. */
type RunFigures = Record<Mover, MoverFigures | undefined> & { ratio: number | undefined };

const defined = (values: (number | undefined)[]) => values.filter((x): x is number => x !== undefined);

function runFigures(r: Record<Mover, WorkerResult | undefined>, size: number): RunFigures {
  const f = (mover: Mover) => {
    const x = r[mover];
    return x && { mibPerS: size / MiB / (x.elapsedMs / 1000), peakRssMiB: x.maxRssBytes / MiB, growthMiB: (x.maxRssBytes - x.rssBeforeBytes) / MiB };
  };
  const [ours, plain, buffering] = [f('ours'), f('plain'), f('buffering')];
  return { ours, plain, buffering, ratio: ours && plain ? ours.mibPerS / plain.mibPerS : undefined };
}

/** Throughput, peak RSS and RSS growth per mover, over the runs it finished. */
function largeMetrics(figures: RunFigures[]): Record<string, Summary> {
  const metrics: Record<string, Summary> = {};
  const add = (name: string, values: (number | undefined)[], unit: string) => {
    const v = defined(values);
    if (v.length > 0) metrics[name] = summarize(v, unit);
  };
  for (const m of MOVERS) {
    add(`${m} throughput`, figures.map((f) => f[m]?.mibPerS), 'MiB/s');
    add(`${m} peak RSS`, figures.map((f) => f[m]?.peakRssMiB), 'MiB');
    add(`${m} RSS growth`, figures.map((f) => f[m]?.growthMiB), 'MiB');
  }
  add('ours / plain throughput', figures.map((f) => f.ratio), 'ratio');
  return metrics;
}

const sizeLabel = (size: number) => (size >= 1024 * MiB ? `${size / 1024 / MiB} GiB` : `${size / MiB} MiB`);

/** The goals judged on the timed runs; a goal with no finished run is missed. */
function runGoals(figures: RunFigures[], size: number): Goal[] {
  const missing = (goal: string): Goal => ({ goal, measured: 'n/a (no run finished)', met: false, verdict: 'missed' });
  const ratios = defined(figures.map((f) => f.ratio));
  const growth = defined(figures.map((f) => f.ours?.growthMiB));
  const growthGoal = `RSS growth <= 64 MiB for ${sizeLabel(size)}`;
  return [
    ratios.length ? judge('throughput >= 0.95 x plain copy', ratios, { atLeast: 0.95 }) : missing('throughput >= 0.95 x plain copy'),
    growth.length ? judge(growthGoal, growth, { atMost: 64 }, 'MiB') : missing(growthGoal),
  ];
}

export const large: Bench = {
  name: 'large',
  title: 'large: one big element, simulator -> mover -> Azurite',
  async run(ctx, options: BenchOptions) {
    const { quick, huge } = options;
    const size = quick ? 2 * MiB : huge ? 4096 * MiB : 1024 * MiB;
    const notes: string[] = [];
    const once = async (run: number) =>
      runFigures(
        await alternateOnce(MOVERS, run, async (mover) => {
          const [warm, big] = [await seed(ctx, [64 * 1024]), await seed(ctx, [size])];
          try {
            return await withOwnAzurite(ctx, (own) => move(own, mover, { warmup: [warm], messages: [big], concurrency: 1, container: `bench-large-${mover}-${run}` }));
          } catch (e) {
            notes.push(`${mover} run ${run + 1} failed: ${(e as Error).message.split('\n').filter((l) => l.trim()).slice(-2).join(' | ')}`);
            return undefined;
          }
        }),
        size,
      );
    const figures = await runUntilDecided(options, once, (f) => runGoals(f, size));
    // Requests per instance grow with the element's blocks: counted on a 64 MiB element (the figure), --quick too.
    const costSize = 64 * MiB;
    const cost = await measureCost(ctx, ['ours', 'plain'], [[costSize]], 1);
    return {
      params: { sizeBytes: size, size: sizeLabel(size), costElementBytes: costSize },
      metrics: {
        ...largeMetrics(figures),
        [`ours storage transactions / ${costSize / MiB} MiB element`]: summarize([cost.ours!.storagePerInstance], 'count'),
        [`plain storage transactions / ${costSize / MiB} MiB element`]: summarize([cost.plain!.storagePerInstance], 'count'),
        [`ours Altinn requests / ${costSize / MiB} MiB element`]: summarize([cost.ours!.altinnPerInstance], 'count'),
      },
      goals: [
        ...runGoals(figures, size),
        judgeCount(`storage transactions per instance (one ${costSize / MiB} MiB element) <= plain copy + 3`, cost.ours!.storagePerInstance - cost.plain!.storagePerInstance, { atMost: 3 }, 'over the baseline'),
      ],
      runs: figures,
      cost,
      notes: [...notes, ...costNotes(cost)],
    };
  },
};
