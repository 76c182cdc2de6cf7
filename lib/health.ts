import { ConfigError } from './config.js';
import { QUEUES } from './queues.js';
import type { Runtime } from './runtime.js';

export interface HealthReport {
  status: 'ok' | 'unhealthy';
  checks: { settings: string; storage: string };
}

const TIMEOUT_MS = 5_000;

/** Settings valid and storage answering: what GET /api/health reports. Never includes values or connection strings. */
export async function checkHealth(getRuntime: () => Promise<Runtime>): Promise<HealthReport> {
  let rt: Runtime;
  try {
    rt = await getRuntime();
  } catch (e) {
    return { status: 'unhealthy', checks: { settings: invalidSettings(e), storage: 'not checked' } };
  }
  // The webhook keeps queueing without Maskinporten; health still names a broken setting so someone fixes it.
  let settings = 'ok';
  try {
    rt.maskinporten();
  } catch (e) {
    settings = invalidSettings(e);
  }
  try {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    await Promise.all([
      rt.storage.blob.getContainerClient(rt.config.blobContainer).exists({ abortSignal: signal }),
      rt.storage.queue.getQueueClient(QUEUES.events).exists({ abortSignal: signal }),
    ]);
    return { status: settings === 'ok' ? 'ok' : 'unhealthy', checks: { settings, storage: 'ok' } };
  } catch (e) {
    const reason = (e as { statusCode?: number }).statusCode ? `status ${(e as { statusCode: number }).statusCode}` : (e as Error).name;
    return { status: 'unhealthy', checks: { settings, storage: `unreachable (${reason})` } };
  }
}

function invalidSettings(e: unknown): string {
  return e instanceof ConfigError ? `invalid: ${[...new Set(e.problems.map((p) => p.setting))].join(', ')}` : 'invalid';
}
