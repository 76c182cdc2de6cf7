import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ROOT } from '../host/childProcess.js';
import { loadFunctions } from '../host/load.js';
import { scheduleFn } from '../host/timer.js';
import { withOwnAzurite, type Bench, type BenchContext } from './harness.js';
import { startHostLoggingToFile } from './hostToFile.js';
import { summarize, type Summary } from './stats.js';

/** A fast schedule for the measured ticks: the requests per tick do not depend on how often it ticks. */
const FAST = '*/2 * * * * *';
const HOUR = 3_600_000;

/** Every timer function the app has (dist/functions, one file per function), with the app setting its schedule names (`%NAME%`). */
async function timers(): Promise<{ name: string; file: string; setting: string }[]> {
  const { definitions } = await loadFunctions('dist/functions/*.js', ROOT);
  return definitions.flatMap((d) => {
    const setting = d.kind === 'timer' ? /^%(\w+)%$/.exec(d.options.schedule)?.[1] : undefined;
    const file = `dist/functions/${d.name}.js`;
    if (setting && !existsSync(join(ROOT, file))) throw new Error(`idle: timer ${d.name} is not in ${file}`);
    return setting ? [{ name: d.name, file, setting }] : [];
  });
}

/** Ticks per hour of the schedule an operator gets by default (local.settings.example.json, as infra/ sets it). */
function ticksPerHour(setting: string): { schedule: string; ticks: number } {
  const values = (JSON.parse(readFileSync(join(ROOT, 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> }).Values;
  const schedule = values[setting];
  if (!schedule) throw new Error(`idle: local.settings.example.json has no ${setting}`);
  const next = scheduleFn(schedule, 'UTC');
  const start = new Date(Date.UTC(2026, 0, 5));
  let ticks = 0;
  for (let t = next(new Date(start.getTime() - 1)); t.getTime() < start.getTime() + HOUR; t = next(t)) ticks++;
  return { schedule, ticks };
}

/** Storage operations in Azurite's debug logs stamped within [from, to]. */
function storageOps(dir: string, from: number, to: number): number {
  let n = 0;
  for (const f of ['blob.log', 'queue.log']) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^(\S+) \S+ info: DispatchMiddleware: Operation=/.exec(line);
      const t = m ? Date.parse(m[1]!) : NaN;
      if (t >= from && t <= to) n++;
    }
  }
  return n;
}

/** Epoch ms at which the host's log showed the n-th finished invocation of `name` (polled). */
async function finished(logFile: string, name: string, n: number): Promise<number> {
  for (let waited = 0; waited < 120_000; waited += 50) {
    const count = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(`"function":"${name}"`) && /"msg":"invocation (succeeded|failed)"/.test(l)).length;
    if (count >= n) return Date.now();
    await delay(50);
  }
  throw new Error(`idle: ${name} did not finish ${n} invocations`);
}

/** One timer alone in the local host, ticking fast against an idle simulator and Azurite: requests per tick after the first. */
async function perTick(ctx: BenchContext, logged: string, t: { name: string; file: string; setting: string }, ticks: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-idle-'));
  const host = await startHostLoggingToFile({ env: { ...ctx.env, ALTINN_APPS: 'bench', [t.setting]: FAST }, functions: t.file, logFile: join(dir, 'host.log') });
  try {
    // The first tick fills caches (token, app metadata): steady state is what an idle hour repeats.
    const from = await finished(join(dir, 'host.log'), t.name, 1);
    const to = await finished(join(dir, 'host.log'), t.name, 1 + ticks);
    const altinn = ctx.sim.requests.filter((e) => e.time > from && e.time <= to).length;
    return { altinn: altinn / ticks, storage: storageOps(logged, from + 1, to) / ticks };
  } finally {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const idle: Bench = {
  name: 'idle',
  title: 'idle: requests per hour of each timer function with nothing to do (one app)',
  async run(ctx, { quick }) {
    const ticks = quick ? 2 : 5;
    const metrics: Record<string, Summary> = {};
    const notes: string[] = [];
    const logs = mkdtempSync(join(tmpdir(), 'bench-idle-logs-'));
    // The app exists (metadata, data types) but has nothing to deliver.
    ctx.sim.applications.declare('bench', {});
    try {
      await withOwnAzurite(
        ctx,
        async (own) => {
          for (const t of await timers()) {
            const { schedule, ticks: perHour } = ticksPerHour(t.setting);
            const tick = await perTick(own, logs, t, ticks);
            metrics[`${t.name} Altinn requests / hour`] = summarize([tick.altinn * perHour], 'count');
            metrics[`${t.name} storage transactions / hour`] = summarize([tick.storage * perHour], 'count');
            notes.push(`${t.name}: ${tick.altinn} Altinn requests + ${tick.storage} storage transactions per tick (mean of ${ticks} after the first), ${perHour} ticks/hour (${t.setting} "${schedule}")`);
          }
        },
        { debugLogs: logs },
      );
    } finally {
      rmSync(logs, { recursive: true, force: true });
    }
    notes.push('counted: the simulator request log and Azurite debug log between ticks; the Functions host\'s own timer bookkeeping and queue polling are not ours and not counted');
    return { params: { app: 'bench', ticksMeasured: ticks }, metrics, goals: [], runs: [metrics], notes };
  },
};
