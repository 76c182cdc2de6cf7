import { ConfigError } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import type { IncomingRequest } from './body.js';
import { problem, type WebhookResponse } from './problem.js';
import { receiveEvent } from './receiveEvent.js';

/**
 * The webhook wired to the process runtime, its request line written to `log` (the invocation's context in
 * the function). Broken settings answer 503, not 500, so Altinn keeps the event and delivers it again once
 * the app settings are fixed.
 */
export async function serveWebhook(request: IncomingRequest, getRuntime: () => Promise<Runtime>, log: Logger = createLogger()): Promise<WebhookResponse> {
  let rt: Runtime;
  try {
    rt = await getRuntime();
  } catch (e) {
    const settings = e instanceof ConfigError ? [...new Set(e.problems.map((p) => p.setting))] : undefined;
    log.error('webhook request', {
      method: request.method,
      status: 503,
      decision: 'unavailable',
      settings,
      error: e instanceof ConfigError ? undefined : e,
    });
    return problem(503, 'not-configured', 'the receiver cannot start (see GET /api/health); Altinn will deliver the event again', {
      'retry-after': '60',
    });
  }
  return receiveEvent(request, { ...rt.webhook, log });
}
