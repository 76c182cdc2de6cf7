import { checkHealth } from '../lib/ops/health.js';
import { register } from '../lib/functionDefinition.js';
import { withInvocationLog } from '../lib/invocationLog.js';
import { getRuntime } from '../lib/runtime.js';

export const definition = register({
  kind: 'http',
  name: 'health',
  options: {
    route: 'health',
    methods: ['GET'],
    authLevel: 'anonymous',
    handler: (_request, context) =>
      withInvocationLog(context, async () => {
        const report = await checkHealth(() => getRuntime(), async () => (await getRuntime()).applications);
        return { status: report.status === 'ok' ? 200 : 503, jsonBody: report, headers: { 'cache-control': 'no-store' } };
      }),
  },
});
