import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { QueueServiceClient } from '@azure/storage-queue';
import { withOwnAzurite, type BenchContext } from './harness.js';
import { move, seed, type Mover } from './pipeline.js';

/** Requests per instance, by kind, of one mover: what Altinn and Azure Storage would each bill or serve. */
export interface Cost {
  instances: number;
  altinnPerInstance: number;
  storagePerInstance: number;
  /** Altinn requests by route, storage transactions by operation, each per instance. */
  altinn: Record<string, number>;
  storage: Record<string, number>;
}

// Azurite's debug log names each request's operation once: `<ISO time> <request id> info: DispatchMiddleware: Operation=<name>`.
const OPERATION = /^(\S+) \S+ info: DispatchMiddleware: Operation=(\w+)/;

/**
 * Azurite writes its debug log asynchronously: the text once a request after `to` is in it (the bench
 * deletes the run's container after the worker, so there always is one), i.e. once the window is complete.
 */
async function logThrough(file: string, to: number): Promise<string> {
  for (let waited = 0; ; waited += 100) {
    const text = readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    const last = OPERATION.exec(lines.findLast((l) => OPERATION.test(l)) ?? '');
    if ((last && Date.parse(last[1]!) > to) || waited > 30_000) return text;
    await delay(100);
  }
}

/** Storage operations Azurite logged within [from, to] (epoch ms), by operation name. */
export function operationsIn(logText: string, from: number, to: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of logText.split('\n')) {
    const m = OPERATION.exec(line);
    if (!m) continue;
    const t = Date.parse(m[1]!);
    if (t >= from && t <= to) out[m[2]!] = (out[m[2]!] ?? 0) + 1;
  }
  return out;
}

const perInstance = (counts: Record<string, number>, n: number) =>
  Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, +(v / n).toFixed(2)]));
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Moves `instances` instances with these element sizes, with each mover, against an Azurite of its own
 * that logs every request (its debug log slows it, so this pass is separate from the timed runs), and
 * counts from Azurite's log and the simulator's request log what fell inside the mover's measured window.
 */
export async function measureCost(ctx: BenchContext, movers: readonly Mover[], sizes: readonly number[][], concurrency: number): Promise<Record<string, Cost>> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cost-'));
  try {
    return await withOwnAzurite(ctx, (logged) => countEach(ctx, logged, dir, movers, sizes, concurrency), { debugLogs: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each mover in turn on the logging Azurite (`logged`); instances seeded in the shared simulator. */
async function countEach(ctx: BenchContext, logged: BenchContext, dir: string, movers: readonly Mover[], sizes: readonly number[][], concurrency: number) {
  const out: Record<string, Cost> = {};
  for (const mover of movers) {
    const warmup = [await seed(ctx, [10 * 1024])];
    const messages = [];
    for (const s of sizes) messages.push(await seed(ctx, s));
    const r = await move(logged, mover, { warmup, messages, concurrency, container: `bench-cost-${mover}` });
    const storage = operationsIn(await logThrough(join(dir, 'blob.log'), r.windowTo), r.windowFrom, r.windowTo);
    // The queue sees no request after the window: a look at the queue's properties is one.
    await QueueServiceClient.fromConnectionString(logged.azurite.connectionString).getProperties();
    for (const [op, n] of Object.entries(operationsIn(await logThrough(join(dir, 'queue.log'), r.windowTo), r.windowFrom, r.windowTo))) storage[op] = (storage[op] ?? 0) + n;
    const altinn: Record<string, number> = {};
    for (const e of ctx.sim.requests) {
      const key = e.route ?? `${e.method} (no route)`;
      if (e.time >= r.windowFrom && e.time <= r.windowTo) altinn[key] = (altinn[key] ?? 0) + 1;
    }
    const n = messages.length;
    out[mover] = { instances: n, altinnPerInstance: total(altinn) / n, storagePerInstance: total(storage) / n, altinn: perInstance(altinn, n), storage: perInstance(storage, n) };
  }
  return out;
}

/** Notes for the bench's output: each mover's requests per instance, broken down. */
export function costNotes(cost: Record<string, Cost>): string[] {
  const list = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ');
  return Object.entries(cost).map(
    ([mover, c]) =>
      `cost per instance, ${mover} (${c.instances} instances, Azurite debug log + simulator log): ` +
      `storage ${c.storagePerInstance} (${list(c.storage)}); Altinn ${c.altinnPerInstance} (${list(c.altinn)})`,
  );
}
