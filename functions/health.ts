import { systemClock } from '../lib/clock.js';
import { cachedHealth, checkHealth } from '../lib/ops/health.js';
import { register } from '../lib/functionDefinition.js';
import { withInvocationLog } from '../lib/invocationLog.js';
import { getRuntime } from '../lib/runtime.js';

/** One check per 10 s per process, whatever the callers (the endpoint is anonymous). */
const health = cachedHealth(() => checkHealth(() => getRuntime(), async () => (await getRuntime()).applications), systemClock);

export const definition = register({
  kind: 'http',
  name: 'health',
  options: {
    route: 'health',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: (_request, context) =>
      withInvocationLog(context, async () => {
        const { report, checkedAt } = await health();
        const age = String(Math.max(0, Math.floor((systemClock.now() - checkedAt) / 1000)));
        return { status: report.status === 'ok' ? 200 : 503, jsonBody: report, headers: { 'cache-control': 'no-store', age } };
      }),
  },
});
