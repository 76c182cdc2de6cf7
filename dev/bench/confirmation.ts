import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { BenchContext } from './harness.js';
import { startHostLoggingToFile } from './hostToFile.js';
import { percentile } from './stats.js';

/** The settle time the pass runs with (the processor's SETTLE_SECONDS), unless the bench's environment sets one. */
const DEFAULT_SETTLE_SECONDS = 5;

export interface Confirmation {
  instances: number;
  settleSeconds: number;
  /** Event posted to our webhook → `complete` arriving at Altinn Storage (the simulator's request log), per instance. */
  medianMs: number;
  p95Ms: number;
}

/**
 * Time to confirmation, end to end as in Azure: the local host runs the webhook and the queue-triggered
 * processor (host.json's polling and concurrency); each instance's process is ended in the simulator and its
 * `app.instance.process.completed` event POSTed to the webhook at once, as a burst; the clock stops when
 * its `complete` reaches the simulator. The processor waits SETTLE_SECONDS after `process.ended` on purpose:
 * that part is reported apart.
 */
export async function measureConfirmation(ctx: BenchContext, sizes: readonly number[][], app: string): Promise<Confirmation> {
  const settleSeconds = Number(process.env.SETTLE_SECONDS ?? DEFAULT_SETTLE_SECONDS);
  const dir = mkdtempSync(join(tmpdir(), 'bench-confirm-'));
  const host = await startHostLoggingToFile({
    env: { ...ctx.env, BLOB_CONTAINER: 'bench-confirmation', SETTLE_SECONDS: String(settleSeconds) },
    functions: 'dist/functions/eventsReceiver.js,dist/functions/instanceProcessor.js',
    logFile: join(dir, 'host.log'),
  });
  try {
    const seeded = [];
    for (const s of sizes) seeded.push(await ctx.sim.seedInstance({ app, elements: s.map((size, i) => ({ dataType: 'attachment', contentType: 'application/octet-stream', filename: `f${i}.bin`, size })) }));
    const posted = new Map<string, number>();
    await Promise.all(
      seeded.map(async ({ id }) => {
        const [partyId = '', guid = ''] = id.split('/');
        const event = ctx.sim.completeProcess(partyId, guid);
        posted.set(guid, Date.now());
        const res = await fetch(`${host.url}/api/events?code=bench`, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) });
        if (res.status !== 200) throw new Error(`confirmation: webhook answered ${res.status}: ${await res.text()}`);
      }),
    );
    const done = await completesOf(ctx, posted, 120_000 + settleSeconds * 1000);
    const times = [...posted].map(([guid, t]) => done.get(guid)! - t);
    return { instances: times.length, settleSeconds, medianMs: percentile(times, 50), p95Ms: percentile(times, 95) };
  } finally {
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** When each instance's first `complete` arrived (simulator clock = epoch ms), once all have. */
async function completesOf({ sim }: BenchContext, posted: Map<string, number>, timeoutMs: number): Promise<Map<string, number>> {
  for (let waited = 0; ; waited += 100) {
    const done = new Map<string, number>();
    for (const e of sim.requests) {
      if (e.route !== 'storage.complete') continue;
      const guid = /\/instances\/\d+\/([0-9a-f-]{36})\/complete/.exec(e.path)?.[1];
      if (guid && posted.has(guid) && !done.has(guid)) done.set(guid, e.time);
    }
    if (done.size === posted.size) return done;
    if (waited > timeoutMs) throw new Error(`confirmation: ${posted.size - done.size} of ${posted.size} instances not confirmed after ${timeoutMs / 1000} s`);
    await delay(100);
  }
}
