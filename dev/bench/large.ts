import { alternate, withOwnAzurite, type Bench, type WorkerResult } from './harness.js';
import { move, seed, type Mover } from './pipeline.js';
import { costNotes, measureCost } from './cost.js';
import { judge, MiB, summarize, type Summary } from './stats.js';

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

export const large: Bench = {
  name: 'large',
  title: 'large: one big element, simulator -> mover -> Azurite',
  async run(ctx, { quick, huge, runs }) {
    const size = quick ? 2 * MiB : huge ? 4096 * MiB : 1024 * MiB;
    const notes: string[] = [];
    const results = await alternate(MOVERS, runs, async (mover, run) => {
      const [warm, big] = [await seed(ctx, [64 * 1024]), await seed(ctx, [size])];
      try {
        return await withOwnAzurite(ctx, (own) => move(own, mover, { warmup: [warm], messages: [big], concurrency: 1, container: `bench-large-${mover}-${run}` }));
      } catch (e) {
        notes.push(`${mover} run ${run + 1} failed: ${(e as Error).message.split('\n').filter((l) => l.trim()).slice(-2).join(' | ')}`);
        return undefined;
      }
    });
    const figures = results.map((r) => runFigures(r, size));
    const metrics = largeMetrics(figures);
    const sizeLabel = size >= 1024 * MiB ? `${size / 1024 / MiB} GiB` : `${size / MiB} MiB`;
    const ratios = defined(figures.map((f) => f.ratio));
    const growth = defined(figures.map((f) => f.ours?.growthMiB));
    // Requests per instance grow with the element's blocks: counted on a smaller element (the same block sizes).
    const costSize = quick ? 2 * MiB : 64 * MiB;
    const cost = await measureCost(ctx, ['ours', 'plain'], [[costSize]], 1);
    const missing = { goal: '', measured: 'n/a (no run finished)', met: false, verdict: 'missed' as const };
    return {
      params: { sizeBytes: size, size: sizeLabel, costElementBytes: costSize },
      metrics,
      goals: [
        ratios.length ? judge('throughput >= 0.95 x plain copy', ratios, { atLeast: 0.95 }) : { ...missing, goal: 'throughput >= 0.95 x plain copy' },
        growth.length ? judge(`RSS growth <= 64 MiB for ${sizeLabel}`, growth, { atMost: 64 }, 'MiB') : { ...missing, goal: `RSS growth <= 64 MiB for ${sizeLabel}` },
        judge(
          `storage transactions per instance (one ${costSize / MiB} MiB element) <= plain copy + 3`,
          [cost.ours!.storagePerInstance - cost.plain!.storagePerInstance],
          { atMost: 3 },
          'over the baseline',
        ),
      ],
      runs: figures,
      cost,
      notes: [...notes, ...costNotes(cost)],
    };
  },
};
