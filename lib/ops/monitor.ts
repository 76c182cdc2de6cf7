import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { QUEUES } from '../queue/names.js';
import { keepHostMovedPoison } from './poisonKeep.js';
import { DEFAULT_LIMITS, measureStatus, monitorFields } from './status.js';
import { subscriptionFields, watchSubscriptions } from './subscriptions.js';

/** The message of the monitor's line: infra/modules/alerts.bicep's queries select on it. */
export const MONITOR_MSG = 'monitor';

/** What the monitor logs: `status`'s fields, then the subscription check's. */
async function measure(getRuntime: () => Promise<Runtime>, clock: Clock) {
  const report = await measureStatus(getRuntime, clock);
  if (report.health.status !== 'ok') return { ...monitorFields(report, DEFAULT_LIMITS), ...subscriptionFields({ checked: false, why: 'unhealthy', failed: false }).fields };
  const rt = await getRuntime();
  const status = monitorFields(report, { ...DEFAULT_LIMITS, maxUnconfirmedAgeSeconds: rt.config.monitor.unconfirmedLimitSeconds });
  const subs = subscriptionFields(await watchSubscriptions(rt.config, () => rt.altinnHttp()));
  return { ...status, ...subs.fields, problems: [...status.problems, ...subs.problems] };
}

/**
 * One monitor run: measure what `altinn-receiver status` and `subscriptions check` show and write it as one
 * structured line (`msg: "monitor"`), at warn when a threshold is crossed. Never throws for what it measures:
 * an unhealthy app is a line with `healthy: false`, which an alert picks up.
 */
export async function runMonitor(getRuntime: () => Promise<Runtime>, clock: Clock, log: Logger): Promise<Awaited<ReturnType<typeof measure>>> {
  const started = clock.now();
  const poisonKept = await keepPoison(getRuntime, log);
  const fields = await measure(getRuntime, clock);
  const line = { ...fields, poisonRewrapped: poisonKept, durationMs: clock.now() - started };
  if (fields.problems.length > 0) log.warn(MONITOR_MSG, line);
  else log.info(MONITOR_MSG, line);
  return fields;
}

/** Host-moved poison re-sent to last forever (lib/ops/poisonKeep.ts); null when it could not run (bad settings, storage down). */
async function keepPoison(getRuntime: () => Promise<Runtime>, log: Logger): Promise<number | null> {
  try {
    const rt = await getRuntime();
    return (await keepHostMovedPoison(rt.azure.queue.getQueueClient(QUEUES.poison))).rewrapped;
  } catch (error) {
    log.warn('could not look for host-moved poison messages', { error });
    return null;
  }
}
