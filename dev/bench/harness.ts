import { join } from 'node:path';
import { startAzurite, type Azurite } from '../azurite.js';
import { ROOT, startNode, stopAll } from '../host/childProcess.js';
import { startSimulator } from '../simulator/index.js';
import type { Cost } from './cost.js';
import type { Goal, Summary } from './stats.js';
import { RESULT_KEY } from './workers/report.js';

export type Simulator = Awaited<ReturnType<typeof startSimulator>>;

export interface BenchOptions {
  quick: boolean;
  huge: boolean;
  runs: number;
  /** Runs at most, while a goal judged on runs is still undecided after `runs` (default 15; `runs` with --quick). */
  maxRuns: number;
  /** intake: events per run (default 2,000). */
  events?: number | undefined;
  /** many: instances per run (default 200). */
  instances?: number | undefined;
  /** many: DOWNLOAD_CONCURRENCY of the processor and the baseline (default 4). */
  downloadConcurrency?: number | undefined;
  /** When set, every measured child process writes a V8 CPU profile here (--cpu-prof). */
  profile?: string | undefined;
}

export interface BenchResult {
  /** Sizes, counts and concurrency used. */
  params: Record<string, unknown>;
  metrics: Record<string, Summary>;
  goals: Goal[];
  /** Raw per-run figures, for anyone who wants to look closer. */
  runs: Record<string, unknown>[];
  /** Requests per instance by mover (dev/bench/cost.ts), where the bench counts them. */
  cost?: Record<string, Cost>;
  notes: string[];
}

export interface Bench {
  name: string;
  title: string;
  run(ctx: BenchContext, options: BenchOptions): Promise<BenchResult>;
}

/** What every bench starts from: its own Azurite (blob + queue processes) and simulator, and our settings for them. */
export interface BenchContext {
  azurite: Azurite;
  sim: Simulator;
  /** Complete app settings (simulator client + AzureWebJobsStorage), plus NODE_OPTIONS when profiling. */
  env: Record<string, string>;
}

export async function withContext<T>(options: BenchOptions, fn: (ctx: BenchContext) => Promise<T>): Promise<T> {
  const [azurite, sim] = await Promise.all([startAzurite(), startSimulator({ org: 'ttd' })]);
  try {
    const client = await sim.newClient();
    const preload = join(ROOT, 'dist', 'dev', 'bench', 'cpuProfile.js');
    const profile: Record<string, string> = options.profile ? { NODE_OPTIONS: `--import ${preload}`, BENCH_PROFILE_DIR: options.profile } : {};
    return await fn({ azurite, sim, env: { ...client.env, AzureWebJobsStorage: azurite.connectionString, ...profile } });
  } finally {
    await stopAll();
    await Promise.all([sim.stop(), azurite.stop()]);
  }
}

/**
 * `fn` with an Azurite of its own (the simulator stays): Azurite frees a deleted blob's memory only
 * later, so runs of 1 GiB elements would otherwise fill its in-memory store (half the machine's memory).
 * With `debugLogs`, it logs every request there (dev/bench/cost.ts).
 */
export async function withOwnAzurite<T>(ctx: BenchContext, fn: (ctx: BenchContext) => Promise<T>, opts: { debugLogs?: string } = {}): Promise<T> {
  const azurite = await startAzurite({}, opts);
  try {
    return await fn({ ...ctx, azurite, env: { ...ctx.env, AzureWebJobsStorage: azurite.connectionString } });
  } finally {
    await azurite.stop();
  }
}

export interface WorkerResult {
  elapsedMs: number;
  durationsMs: number[];
  rssBeforeBytes: number;
  maxRssBytes: number;
  /** Epoch ms around the measured instances (after the warm-up), to attribute logged requests to them. */
  windowFrom: number;
  windowTo: number;
}

/** Runs one bench worker (dist/dev/bench/workers/<name>.js) in its own process and returns its result line. */
export async function runWorker(name: string, spec: unknown, env: Record<string, string>): Promise<WorkerResult> {
  const proc = startNode(`bench-${name}`, join('dist', 'dev', 'bench', 'workers', `${name}.js`), [JSON.stringify(spec)], {
    env: { PATH: process.env.PATH, ...env },
    cwd: ROOT,
  });
  const line = await proc.waitForJson((r) => RESULT_KEY in r, { timeoutMs: 30 * 60_000 });
  await proc.exited;
  return line[RESULT_KEY] as WorkerResult;
}

/** Runs `fn` for each variant in turn, alternating the order by run so neither side always goes first. */
export async function alternateOnce<V extends string, R>(variants: readonly V[], run: number, fn: (variant: V, run: number) => Promise<R>): Promise<Record<V, R>> {
  const order = run % 2 === 0 ? variants : [...variants].reverse();
  const results = {} as Record<V, R>;
  for (const v of order) results[v] = await fn(v, run);
  return results;
}

/**
 * `runs` runs, then more, one at a time up to `maxRuns`, while a goal judged on the runs is undecided:
 * more runs narrow the median's interval (stats.ts medianInterval). Stops as soon as every goal is decided.
 */
export async function runUntilDecided<R>(options: Pick<BenchOptions, 'runs' | 'maxRuns'>, once: (run: number) => Promise<R>, goals: (results: R[]) => Goal[]): Promise<R[]> {
  const out: R[] = [];
  for (let run = 0; run < Math.max(options.runs, options.maxRuns); run++) {
    out.push(await once(run));
    if (out.length >= options.runs && goals(out).every((g) => g.verdict !== 'undecided')) break;
  }
  return out;
}

/** Runs `fn` for each variant in turn, `runs` times, alternating the order so neither side always goes first. */
export async function alternate<V extends string, R>(variants: readonly V[], runs: number, fn: (variant: V, run: number) => Promise<R>) {
  const out: Record<V, R>[] = [];
  for (let run = 0; run < runs; run++) out.push(await alternateOnce(variants, run, fn));
  return out;
}
