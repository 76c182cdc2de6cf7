import { systemClock } from '../clock.js';
import { ConfigError, type Env } from '../config.js';
import { invocationSink } from '../invocationLog.js';
import { createLogger } from '../log.js';
import { getRuntime } from '../runtime.js';
import type { Processor } from './processInstance.js';
import { deferWhileSettingsInvalid, fallbackSender } from './settingsInvalid.js';

/**
 * The process-wide processor, from the composition root (lib/runtime.ts): the queue function's and the bench's.
 * While a core setting is broken, one that defers every message instead (the runtime is built again on
 * the next call, so fixing the setting and restarting is enough).
 */
export async function getProcessor(env: Env = process.env): Promise<Processor> {
  try {
    return await (await getRuntime(env)).processor();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    let queues;
    try {
      queues = await fallbackSender(env);
    } catch {
      throw e;
    }
    return deferWhileSettingsInvalid({ queues, error: e, clock: systemClock, log: createLogger(invocationSink).child({ function: 'instanceProcessor' }) });
  }
}
