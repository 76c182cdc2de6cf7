import { ReceiverError } from '../lib/errors.js';
import { register } from '../lib/functionDefinition.js';
import { withInvocationLog } from '../lib/invocationLog.js';
import { runReconcile } from '../lib/reconcile/run.js';
import { getRuntime } from '../lib/runtime.js';

/**
 * Timer: enqueue completed instances our org has not confirmed (events Altinn never delivered).
 * The schedule is the app setting RECONCILE_SCHEDULE, resolved by the host (`%…%`), so it can be changed
 * without a build. Reading it from lib/config at module load instead would make a bad setting fail the
 * loading of every function (health included) rather than answer through /api/health; the price is that
 * the app setting must exist (infra sets it; the value to set is lib/config's default, every 15 minutes).
 * The host's timer singleton keeps runs from overlapping across instances; runReconcile's run lease does too.
 */
export const definition = register({
  kind: 'timer',
  name: 'reconciler',
  options: {
    schedule: '%RECONCILE_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    handler: (_timer, context) =>
      withInvocationLog(context, async () => {
        const result = await runReconcile(await (await getRuntime()).reconciler());
        if (result.status === 'incomplete') {
          // Failing the invocation makes the gap visible in monitoring; what was found is already enqueued.
          const failed = result.apps.filter((a) => !a.complete).map((a) => a.app);
          throw new ReceiverError(`reconcile incomplete for ${failed.join(', ')}: ${result.enqueued} enqueued from ${result.pages} pages`, {
            code: 'reconcile-incomplete',
            retryable: true,
          });
        }
      }),
  },
});
