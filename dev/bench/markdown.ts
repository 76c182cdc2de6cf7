/**
 * node dist/dev/bench/markdown.js [bench-results.json]: the results as Markdown, for BENCHMARKS.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ROOT } from '../host/childProcess.js';
import { formatMarkdown } from './stats.js';

const summary = z.object({ median: z.number(), min: z.number(), max: z.number(), runs: z.number(), unit: z.string() });
const results = z.object({
  machine: z.record(z.string(), z.unknown()),
  benches: z.record(
    z.string(),
    z.object({
      params: z.record(z.string(), z.unknown()),
      metrics: z.record(z.string(), summary),
      goals: z.array(z.object({ goal: z.string(), measured: z.string(), met: z.boolean(), verdict: z.enum(['met', 'missed', 'undecided']), method: z.string().optional() })),
      notes: z.array(z.string()),
      measuredAt: z.string(),
      revision: z.string().optional(),
      seconds: z.number(),
      loadAverage1m: z.number().optional(),
    }),
  ),
});

const file = process.argv[2] ?? join(ROOT, 'bench-results.json');
const { machine, benches } = results.parse(JSON.parse(readFileSync(file, 'utf8')));
const out = [`Machine: ${Object.entries(machine).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`];
for (const [name, b] of Object.entries(benches)) {
  out.push(
    '',
    `### ${name}`,
    '',
    `${Object.entries(b.params).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}; ${b.metrics[Object.keys(b.metrics)[0] ?? '']?.runs ?? 0} run(s), ` +
      `${b.seconds} s, measured ${b.measuredAt}${b.revision ? ` at ${b.revision}` : ''}${b.loadAverage1m !== undefined ? `, load average ${b.loadAverage1m}` : ''}.`,
    '',
    formatMarkdown(b.metrics, b.goals),
    ...b.notes.map((n) => `- note: ${n}`),
  );
}
process.stdout.write(`${out.join('\n')}\n`);
