import type { Env } from '../config.js';
import { getRuntime } from '../runtime.js';
import type { Processor } from './processInstance.js';

/** The process-wide processor, from the composition root (lib/runtime.ts): the queue function's and the bench's. */
export async function getProcessor(env?: Env): Promise<Processor> {
  return (await getRuntime(env)).processor();
}
