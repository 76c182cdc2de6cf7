import { type Bench } from './harness.js';
import { move, seed } from './pipeline.js';
import { judge, MiB, summarize, type Summary } from './stats.js';

export const memoryScaling: Bench = {
  name: 'memory-scaling',
  title: 'memory-scaling: peak RSS of the processor by element size',
  async run(ctx, { quick, runs }) {
    const sizes = quick ? [1 * MiB, 2 * MiB] : [16 * MiB, 256 * MiB, 1024 * MiB];
    const label = (s: number) => (s >= 1024 * MiB ? `${s / 1024 / MiB} GiB` : `${s / MiB} MiB`);
    const figures: Record<string, number>[] = [];
    for (let run = 0; run < runs; run++) {
      const peak: Record<string, number> = {};
      for (const size of sizes) {
        const warmup = [await seed(ctx, [64 * 1024])];
        const r = await move(ctx, 'ours', { warmup, messages: [await seed(ctx, [size])], concurrency: 1, container: `bench-mem-${run}-${size}` });
        peak[label(size)] = r.maxRssBytes / MiB;
      }
      figures.push(peak);
    }
    const [small, big] = [label(sizes[0]!), label(sizes[sizes.length - 1]!)];
    const metrics: Record<string, Summary> = {};
    for (const s of sizes) metrics[`peak RSS ${label(s)}`] = summarize(figures.map((f) => f[label(s)]!), 'MiB');
    metrics[`${big} - ${small}`] = summarize(figures.map((f) => f[big]! - f[small]!), 'MiB');
    return {
      params: { sizes: sizes.map(label) },
      metrics,
      goals: [judge(`peak RSS at ${big} within 48 MiB of ${small}`, figures.map((f) => f[big]! - f[small]!), { atMost: 48 }, 'MiB')],
      runs: figures,
      notes: [],
    };
  },
};
