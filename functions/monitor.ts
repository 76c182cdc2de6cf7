import { systemClock } from '../lib/clock.js';
import { register } from '../lib/functionDefinition.js';
import { invocationSink, withInvocationLog } from '../lib/invocationLog.js';
import { createLogger } from '../lib/log.js';
import { runMonitor } from '../lib/ops/monitor.js';
import { getRuntime } from '../lib/runtime.js';

/**
 * Timer: one `monitor` line per run with what `altinn-receiver status` shows (queue counts and ages, held
 * instances, last reconcile run, health), for the alert rules in infra/. The schedule is the app setting
 * MONITOR_SCHEDULE (`%…%`, as the reconciler's); its own logger, so invalid settings still get a line.
 */
export const definition = register({
  kind: 'timer',
  name: 'monitor',
  options: {
    schedule: '%MONITOR_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    handler: (_timer, context) =>
      withInvocationLog(context, async () => {
        await runMonitor(() => getRuntime(), systemClock, createLogger(invocationSink, { function: 'monitor' }));
      }),
  },
});
