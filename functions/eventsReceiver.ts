import { register } from '../lib/functionDefinition.js';
import { serveWebhook } from '../lib/webhook/serveWebhook.js';
import { contextLogger } from '../lib/invocationLog.js';
import { getRuntime } from '../lib/runtime.js';

export const definition = register({
  kind: 'http',
  name: 'eventsReceiver',
  options: {
    route: 'events',
    // Every method reaches the handler, so a wrong one gets our 405 problem body rather than the host's 404.
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    authLevel: 'function',
    handler: (request, context) => serveWebhook(request, () => getRuntime(), contextLogger(context)),
  },
});
