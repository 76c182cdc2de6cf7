/**
 * npm run bench [-- <name>...] [--quick] [--huge] [--runs N] [--out file]
 * Runs the benchmarks (all, or the named ones), prints a table per bench and merges the results
 * into bench-results.json. See BENCHMARKS.md.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ROOT } from '../host/childProcess.js';
import { withContext, type Bench, type BenchResult } from './harness.js';
import { idle } from './idle.js';
import { intake } from './intake.js';
import { large } from './large.js';
import { many } from './many.js';
import { memoryScaling } from './memoryScaling.js';
import { formatTable } from './stats.js';

const BENCHES: Bench[] = [intake, large, many, memoryScaling, idle];
const NAMES = BENCHES.map((b) => b.name);

const USAGE = `usage: npm run bench -- [${NAMES.join('|')} ...] [--quick] [--huge] [--runs N] [--out file]
  --quick   minimal sizes (smoke test)     --huge   large: a 4 GiB element instead of 1 GiB
  --runs N  runs per figure (default 5)    --out    results file (default bench-results.json)
  --max-runs N     while a goal is undecided after --runs, run again, up to N runs (default 15; --quick: --runs)
  --events N       intake: events per run (default 2000)   --instances N   many: instances per run (default 200)
  --download-concurrency N   many: DOWNLOAD_CONCURRENCY, 1-64 (default 4)
  --profile <dir>  each measured process writes a .cpuprofile there (see dev/bench/topFunctions.ts)`;

const argsSchema = z.object({
  names: z.array(z.enum(NAMES as [string, ...string[]])),
  quick: z.boolean().default(false),
  huge: z.boolean().default(false),
  runs: z.coerce.number().int().min(1).max(30).default(5),
  maxRuns: z.coerce.number().int().min(1).max(30).optional(),
  events: z.coerce.number().int().min(1).optional(),
  instances: z.coerce.number().int().min(1).optional(),
  downloadConcurrency: z.coerce.number().int().min(1).max(64).optional(),
  out: z.string().min(1).default(join(ROOT, 'bench-results.json')),
  profile: z.string().min(1).transform((p) => resolve(p)).optional(),
});

export function machine() {
  return { nproc: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, platform: `${process.platform} ${process.arch}`, loadAverage1m: +(loadavg()[0] ?? 0).toFixed(2) };
}

/** The commit measured, `+dirty` when the working tree had changes (what was built is what ran). */
function revision(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { quick: { type: 'boolean' }, huge: { type: 'boolean' }, runs: { type: 'string' }, 'max-runs': { type: 'string' }, events: { type: 'string' }, instances: { type: 'string' }, 'download-concurrency': { type: 'string' }, out: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(USAGE);
  const parsed = argsSchema.safeParse({ ...values, downloadConcurrency: values['download-concurrency'], maxRuns: values['max-runs'], names: positionals });
  if (!parsed.success) {
    console.error(`${z.prettifyError(parsed.error)}\n${USAGE}`);
    process.exit(2);
  }
  const args = { ...parsed.data, maxRuns: Math.max(parsed.data.runs, parsed.data.maxRuns ?? (parsed.data.quick ? 0 : 15)) };
  const selected = args.names.length > 0 ? BENCHES.filter((b) => args.names.includes(b.name)) : BENCHES;
  const out = resolve(args.out);
  const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as { benches?: Record<string, unknown> }) : {};
  const benches: Record<string, unknown> = { ...previous.benches };
  for (const bench of selected) {
    const started = Date.now();
    const result: BenchResult = await withContext(args, (ctx) => bench.run(ctx, args));
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(`${formatTable(bench.title, result.metrics, result.goals)}\n(${seconds} s)${result.notes.map((n) => `\nnote: ${n}`).join('')}\n`);
    // The machine is shared: the load average says how much of it the bench had.
    benches[bench.name] = { ...result, measuredAt: new Date(started).toISOString(), revision: revision(), seconds, loadAverage1m: +(loadavg()[0] ?? 0).toFixed(2), quick: args.quick, huge: args.huge };
    writeFileSync(out, `${JSON.stringify({ machine: machine(), benches }, null, 2)}\n`);
  }
  console.log(`results: ${out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
