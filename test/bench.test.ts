import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startNode, stopAll } from './support/processes.js';

// Benchmarks are not tests: this only keeps dev/bench from rotting. Every bench runs once with
// minimal sizes, and its results must be well-formed; no figure is compared with anything.
const summary = z
  .object({ median: z.number().finite(), min: z.number().finite(), max: z.number().finite(), runs: z.literal(1), unit: z.string().min(1) })
  .refine((s) => s.min <= s.median && s.median <= s.max, 'min <= median <= max');
const bench = z.object({
  params: z.record(z.string(), z.unknown()),
  metrics: z.record(z.string(), summary),
  goals: z.array(z.object({ goal: z.string(), measured: z.string(), met: z.boolean(), verdict: z.enum(['met', 'missed', 'undecided']) })).min(1),
  runs: z.array(z.unknown()).length(1),
  notes: z.array(z.string()),
  quick: z.literal(true),
});
const results = z.object({
  machine: z.object({ nproc: z.number().int().positive(), memoryGiB: z.number().positive(), node: z.string() }),
  benches: z.object({ intake: bench, large: bench, many: bench, 'memory-scaling': bench, idle: bench.extend({ goals: z.array(z.unknown()) }) }),
});

afterAll(() => stopAll());

describe('npm run bench', () => {
  it('runs every bench with --quick and writes well-formed results', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-')), 'results.json');
    const proc = startNode('bench', 'dist/dev/bench/main.js', ['--quick', '--runs', '1', '--out', out]);
    const exit = await proc.exited;
    expect(exit.code, proc.tail()).toBe(0);
    const parsed = results.parse(JSON.parse(readFileSync(out, 'utf8')));
    expect(Object.keys(parsed.benches.intake.metrics)).toEqual(expect.arrayContaining(['ours / minimal function', 'minimal function / plain server (dev host)']));
    expect(parsed.benches.many.metrics['ours grants']?.median).toBeGreaterThanOrEqual(1);
    // Cost per instance is counted from Azurite's and the simulator's logs: every instance makes some requests of each.
    for (const side of ['ours', 'baseline']) {
      expect(parsed.benches.many.metrics[`${side} storage transactions / instance`]?.median).toBeGreaterThan(0);
      expect(parsed.benches.many.metrics[`${side} Altinn requests / instance`]?.median).toBeGreaterThanOrEqual(3);
    }
    // A count, not a speed: one Put Blob per small element, no manifest read or HEAD on a first run, no needless renewals.
    const storage = (side: string) => parsed.benches.many.metrics[`${side} storage transactions / instance`]!.median;
    expect(storage('ours')).toBeLessThanOrEqual(storage('baseline') + 3);
    // Counts, never speeds: the counted goals are decided and met (Altinn requests too: the re-read before complete is the one allowed).
    const verdict = (b: { goals: { goal: string; verdict: string }[] }, goal: string) => b.goals.find((g) => g.goal.startsWith(goal))?.verdict;
    expect(verdict(parsed.benches.many, 'storage transactions per instance <= baseline + 3')).toBe('met');
    expect(verdict(parsed.benches.many, 'Altinn requests per instance <= baseline + 1')).toBe('met');
    // One 64 MiB element: 16 MiB blocks from its declared size, so at most the plain copy's transactions + 3.
    expect(verdict(parsed.benches.large, 'storage transactions per instance (one 64 MiB element)')).toBe('met');
    expect(parsed.benches.many.metrics['time to confirmation, median']?.median).toBeGreaterThan(0);
    // Idle: every timer function's requests per hour are counted (a figure, no goal).
    expect(Object.keys(parsed.benches.idle.metrics)).toEqual(expect.arrayContaining(['monitor Altinn requests / hour', 'monitor storage transactions / hour', 'reconciler storage transactions / hour']));
    for (const title of ['== intake', '== large', '== many', '== memory-scaling', '== idle']) expect(proc.lines.some((l) => l.startsWith(title))).toBe(true);
  }, 600_000);

  it('refuses an unknown bench name', async () => {
    const proc = startNode('bench', 'dist/dev/bench/main.js', ['nope']);
    expect((await proc.exited).code).toBe(2);
    expect(proc.tail()).toMatch(/usage: npm run bench/);
  });
});
