import { ReceiverError } from '../lib/errors.js';
import { register } from '../lib/functionDefinition.js';
import { withInvocationLog } from '../lib/invocationLog.js';
import { runFeed } from '../lib/feed/run.js';
import { getRuntime } from '../lib/runtime.js';

/**
 * Timer: read Altinn Events' app feed after the saved cursor and enqueue completed instances the webhook has not
 * stored (events whose delivery Altinn gave up or never made). The schedule is the app setting FEED_SCHEDULE,
 * resolved by the host (`%…%`) like the reconciler's, so it must exist (infra sets lib/config's default, every
 * 5 minutes). The host's timer singleton keeps runs from overlapping; the feed's run lease does too.
 */
export const definition = register({
  kind: 'timer',
  name: 'feed',
  options: {
    schedule: '%FEED_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    handler: (_timer, context) =>
      withInvocationLog(context, async () => {
        const result = await runFeed(await (await getRuntime()).feed());
        if (result.status === 'incomplete') {
          // Failing the invocation makes the gap visible in monitoring; what was found is enqueued, the cursors saved.
          const failed = result.apps.filter((a) => !a.complete || a.error).map((a) => a.app);
          throw new ReceiverError(`feed incomplete for ${failed.join(', ')}: ${result.enqueued} enqueued from ${result.requests} requests`, {
            code: 'feed-incomplete',
            retryable: true,
          });
        }
      }),
  },
});
