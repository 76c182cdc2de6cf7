import { alternate, type Bench } from './harness.js';
import { move, seed, type Mover } from './pipeline.js';
import { MiB, summarize, type Summary } from './stats.js';

const MOVERS: Mover[] = ['ours', 'plain', 'buffering'];

export const large: Bench = {
  name: 'large',
  title: 'large: one big element, simulator -> mover -> Azurite',
  async run(ctx, { quick, huge, runs }) {
    const size = quick ? 2 * MiB : huge ? 4096 * MiB : 1024 * MiB;
    const notes: string[] = [];
    const results = await alternate(MOVERS, runs, async (mover, run) => {
      const [warm, big] = [await seed(ctx, [64 * 1024]), await seed(ctx, [size])];
      try {
        return await move(ctx, mover, { warmup: [warm], messages: [big], concurrency: 1, container: `bench-large-${mover}-${run}` });
      } catch (e) {
        notes.push(`${mover} run ${run + 1} failed: ${(e as Error).message.split('\n')[0]}`);
        return undefined;
      }
    });
    const figures = results.map((r) => {
      const f = (mover: Mover) => {
        const x = r[mover];
        return x && { mibPerS: size / MiB / (x.elapsedMs / 1000), peakRssMiB: x.maxRssBytes / MiB, growthMiB: (x.maxRssBytes - x.rssBeforeBytes) / MiB };
      };
      const [ours, plain, buffering] = [f('ours'), f('plain'), f('buffering')];
      return { ours, plain, buffering, ratio: ours && plain ? ours.mibPerS / plain.mibPerS : undefined };
    });
    const metrics: Record<string, Summary> = {};
    const add = (name: string, values: (number | undefined)[], unit: string) => {
      const v = values.filter((x): x is number => x !== undefined);
      if (v.length > 0) metrics[name] = summarize(v, unit);
    };
    for (const m of MOVERS) {
      add(`${m} throughput`, figures.map((f) => f[m]?.mibPerS), 'MiB/s');
      add(`${m} peak RSS`, figures.map((f) => f[m]?.peakRssMiB), 'MiB');
      add(`${m} RSS growth`, figures.map((f) => f[m]?.growthMiB), 'MiB');
    }
    add('ours / plain throughput', figures.map((f) => f.ratio), 'ratio');
    const ratio = metrics['ours / plain throughput'];
    const growth = metrics['ours RSS growth'];
    const sizeLabel = size >= 1024 * MiB ? `${size / 1024 / MiB} GiB` : `${size / MiB} MiB`;
    return {
      params: { sizeBytes: size, size: sizeLabel },
      metrics,
      goals: [
        { goal: 'throughput >= 0.90 x plain copy', measured: ratio ? ratio.median.toFixed(2) : 'n/a', met: (ratio?.median ?? 0) >= 0.9 },
        { goal: `RSS growth < 128 MiB for ${sizeLabel}`, measured: growth ? `${growth.median.toFixed(0)} MiB` : 'n/a', met: (growth?.median ?? Infinity) < 128 },
      ],
      runs: figures,
      notes,
    };
  },
};
