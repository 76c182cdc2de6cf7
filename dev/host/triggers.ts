import type { QueueServiceClient } from '@azure/storage-queue';
import type { FunctionDefinition } from '../../lib/functionDefinition.js';
import type { Logger } from '../../lib/log.js';
import type { QueueSettings } from './hostJson.js';
import type { HttpTriggers } from './http.js';
import type { Invoker } from './invoke.js';
import { startQueueListener, type QueueListener } from './queue.js';
import { resolveAppSettings, type Env } from './settings.js';
import { scheduleFn, startTimer, type TimerRunner } from './timer.js';

/** The queue and timer triggers of the loaded functions, resolved against the app settings before anything starts. */

type Definition<K extends FunctionDefinition['kind']> = Extract<FunctionDefinition, { kind: K }>;

export interface QueueTrigger {
  d: Definition<'storageQueue'>;
  queueName: string;
  service: QueueServiceClient;
}

export interface TimerTrigger {
  d: Definition<'timer'>;
  schedule: string;
  next: (from: Date) => Date;
}

/** Every queue trigger with its queue name (app settings resolved) and the queue service of its connection. */
export function resolveQueueTriggers(
  definitions: FunctionDefinition[],
  env: Env,
  queueService: (connection: string) => Promise<QueueServiceClient>,
): Promise<QueueTrigger[]> {
  return Promise.all(definitions.flatMap((d) => (d.kind === 'storageQueue' ? [resolveQueueTrigger(d, env, queueService)] : [])));
}

async function resolveQueueTrigger(
  d: Definition<'storageQueue'>,
  env: Env,
  queueService: (connection: string) => Promise<QueueServiceClient>,
): Promise<QueueTrigger> {
  const queueName = resolveAppSettings(d.options.queueName, env, `function ${d.name} queueName`);
  return { d, queueName, service: await queueService(d.options.connection) };
}

/** Every timer trigger with its schedule (app settings resolved) in WEBSITE_TIME_ZONE (default UTC). */
export function resolveTimerTriggers(definitions: FunctionDefinition[], env: Env): TimerTrigger[] {
  const tz = env.WEBSITE_TIME_ZONE?.trim() || 'UTC';
  return definitions.flatMap((d) => {
    if (d.kind !== 'timer') return [];
    const schedule = resolveAppSettings(d.options.schedule, env, `function ${d.name} schedule`);
    return [{ d, schedule, next: scheduleFn(schedule, tz) }];
  });
}

/** The functions and their triggers, for the `host started` line. */
export function describeTriggers(http: HttpTriggers, queues: QueueTrigger[], timers: TimerTrigger[]) {
  return [
    ...http.describe(),
    ...queues.map(({ d, queueName }) => ({
      name: d.name,
      trigger: 'queue',
      queue: queueName,
      connection: d.options.connection || 'AzureWebJobsStorage',
    })),
    ...timers.map(({ d, schedule }) => ({ name: d.name, trigger: 'timer', schedule, runOnStartup: d.options.runOnStartup ?? false })),
  ];
}

/** Starts polling every queue trigger's queue (its poison queue is `<queue>-poison`). */
export function startQueueListeners(queues: QueueTrigger[], settings: QueueSettings, invoker: Invoker, log: Logger): QueueListener[] {
  return queues.map(({ d, queueName, service }) =>
    startQueueListener({
      name: d.name,
      options: d.options,
      queue: service.getQueueClient(queueName),
      poison: service.getQueueClient(`${queueName}-poison`),
      settings,
      invoker,
      log,
    }),
  );
}

/** Starts every timer trigger on its schedule. */
export function startTimers(timers: TimerTrigger[], invoker: Invoker, log: Logger): TimerRunner[] {
  return timers.map(({ d, next }) => startTimer({ name: d.name, options: d.options, next, invoker, log }));
}
