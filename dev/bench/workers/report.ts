import { setTimeout } from 'node:timers/promises';

/**
 * The one line a bench worker prints when it is done: its result plus its own peak RSS, so memory
 * figures are those of the process doing the work (not of the bench, the simulator or Azurite).
 */
export const RESULT_KEY = 'benchResult';

/**
 * An edge of the measured window (epoch ms) by which the bench attributes Azurite's and the simulator's
 * logged requests to the measured instances: a few ms of quiet on either side keep a warm-up request
 * and a measured one from sharing its millisecond. Outside the timed section.
 */
export async function costWindowEdge(): Promise<number> {
  await setTimeout(5);
  const edge = Date.now();
  await setTimeout(5);
  return edge;
}

export function report(result: Record<string, unknown>): void {
  // maxRSS is in KiB (getrusage): the process's high-water mark.
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`${JSON.stringify({ [RESULT_KEY]: { ...result, maxRssBytes } })}\n`);
}

/** The worker's spec: one JSON argument. */
export function specArg<T>(): T {
  const arg = process.argv[2];
  if (!arg) throw new Error('usage: <worker> <json spec>');
  return JSON.parse(arg) as T;
}

export function fail(error: unknown): never {
  process.stderr.write(`worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
