/**
 * Ours: the production processor (getProcessor: settings from env, token provider, Storage client,
 * blob store, queues), fed queue messages directly at the host's concurrency.
 */
import { getProcessor } from '../../../lib/processor/fromRuntime.js';
import { mapLimit } from '../../../lib/pool.js';
import type { EventsMessage } from '../../../lib/queue/messages.js';
import { costWindowEdge, fail, report, specArg } from './report.js';

export interface ProcessorSpec {
  /** Processed one by one before the clock starts (module loading, token, connections). */
  warmup: EventsMessage[];
  messages: EventsMessage[];
  concurrency: number;
}

async function main() {
  const spec = specArg<ProcessorSpec>();
  const processor = await getProcessor(process.env);
  const handle = async (m: EventsMessage) => {
    const outcome = await processor.handle(m);
    if (outcome.kind !== 'confirmed') throw new Error(`instance ${m.instanceGuid}: ${JSON.stringify(outcome)}`);
  };
  for (const m of spec.warmup) await handle(m);
  const rssBeforeBytes = process.memoryUsage().rss;
  const durationsMs: number[] = [];
  const windowFrom = await costWindowEdge();
  const t0 = performance.now();
  await mapLimit(spec.messages, spec.concurrency, async (m) => {
    const t = performance.now();
    await handle(m);
    durationsMs.push(performance.now() - t);
  });
  const elapsedMs = performance.now() - t0;
  report({ elapsedMs, durationsMs, rssBeforeBytes, windowFrom, windowTo: await costWindowEdge() });
  process.exit(0);
}

main().catch(fail);
