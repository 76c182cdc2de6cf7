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
 * The window's operations in Azurite's debug log, by name: from the first line stamped at or after
 * `from` up to the first `marker` operation, a request the bench makes once the worker is done. Azurite
 * writes and even stamps its lines late under load (a line can carry a time after its response was
 * sent), so the end is that marker in the log's order, not a time; the log is read again until it is there.
 */
async function operationsIn(file: string, from: number, marker: string): Promise<Record<string, number>> {
  for (let waited = 0; ; waited += 100) {
    const out: Record<string, number> = {};
    let started = false;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = OPERATION.exec(line);
      if (!m) continue;
      started ||= Date.parse(m[1]!) >= from;
      if (!started) continue;
      if (m[2] === marker) return out;
      out[m[2]!] = (out[m[2]!] ?? 0) + 1;
    }
    if (waited > 30_000) throw new Error(`cost: no ${marker} in ${file} after 30 s`);
    await delay(100);
  }
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
    // Markers: `move` deletes the run's container after the worker; the queue gets a look at its properties.
    const storage = await operationsIn(join(dir, 'blob.log'), r.windowFrom, 'Container_Delete');
    await QueueServiceClient.fromConnectionString(logged.azurite.connectionString).getProperties();
    for (const [op, n] of Object.entries(await operationsIn(join(dir, 'queue.log'), r.windowFrom, 'Service_GetProperties'))) storage[op] = (storage[op] ?? 0) + n;
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
