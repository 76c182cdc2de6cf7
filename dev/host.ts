/**
 * The local Functions host: a small, faithful stand-in for `func start` on a developer's machine
 * (no Core Tools, no .NET). It runs the function definitions that functions/ exports: HTTP triggers
 * under /api, storage queue triggers polled as host.json says, timers on their NCRONTAB schedule.
 * See docs/development.md "Run locally".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../lib/log.js';
import { registerSecret } from '../lib/redact.js';
import { batchedSink } from './host/batchedSink.js';
import { httpTriggers, listen } from './host/http.js';
import { loadHostJson } from './host/hostJson.js';
import { Invoker } from './host/invoke.js';
import { loadFunctions } from './host/load.js';
import { parseHostOptions, projectRoot, USAGE } from './host/options.js';
import { startQueueListener, type QueueListener } from './host/queue.js';
import { readLocalSettings } from '../lib/localSettings.js';
import { mergeSettings, resolveAppSettings } from './host/settings.js';
import { queueServices } from './host/storageClients.js';
import { scheduleFn, startTimer, type TimerRunner } from './host/timer.js';

const log = createLogger(batchedSink(), { component: 'host' });

async function main(): Promise<void> {
  const root = projectRoot(import.meta.dirname);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { main?: string };
  const options = parseHostOptions(process.argv.slice(2), process.env, root, process.cwd(), pkg.main);
  if (options.help) return void console.log(USAGE);

  // App settings reach the functions as environment variables, as in Azure; the environment wins.
  const values = options.settings ? await readLocalSettings(options.settings) : undefined;
  const env = mergeSettings(values, process.env);
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
  if (env.AzureWebJobsStorage) registerSecret(env.AzureWebJobsStorage);

  const host = await loadHostJson(options.hostJson);
  const { definitions, skipped } = await loadFunctions(options.functions.pattern, options.functions.cwd);
  for (const file of skipped) log.warn('file exports no function definition; skipped', { file });
  if (definitions.length === 0) throw new Error(`no functions found in ${options.functions.pattern}`);

  const invoker = new Invoker(log, host.logLevel);
  const queueService = queueServices(env);
  const http = httpTriggers(
    definitions.flatMap((d) => (d.kind === 'http' ? [d] : [])),
    host.routePrefix,
    invoker,
    log,
  );

  // Resolve and check every trigger before anything starts, so a bad setting stops start-up with one clear line.
  const queues = await Promise.all(
    definitions.flatMap((d) =>
      d.kind === 'storageQueue'
        ? [
            (async () => {
              const queueName = resolveAppSettings(d.options.queueName, env, `function ${d.name} queueName`);
              return { d, queueName, service: await queueService(d.options.connection) };
            })(),
          ]
        : [],
    ),
  );
  const tz = env.WEBSITE_TIME_ZONE?.trim() || 'UTC';
  const timers = definitions.flatMap((d) => {
    if (d.kind !== 'timer') return [];
    const schedule = resolveAppSettings(d.options.schedule, env, `function ${d.name} schedule`);
    return [{ d, schedule, next: scheduleFn(schedule, tz) }];
  });
  const described = [
    ...http.describe(),
    ...queues.map(({ d, queueName }) => ({
      name: d.name,
      trigger: 'queue',
      queue: queueName,
      connection: d.options.connection || 'AzureWebJobsStorage',
    })),
    ...timers.map(({ d, schedule }) => ({ name: d.name, trigger: 'timer', schedule, runOnStartup: d.options.runOnStartup ?? false })),
  ];

  const { server, port } = await listen(http, options.port, log);
  log.info('host started', { url: `http://localhost:${port}`, port, functions: described, queues: host.queues });
  const listeners: QueueListener[] = queues.map(({ d, queueName, service }) =>
    startQueueListener({
      name: d.name,
      options: d.options,
      queue: service.getQueueClient(queueName),
      poison: service.getQueueClient(`${queueName}-poison`),
      settings: host.queues,
      invoker,
      log,
    }),
  );
  const runners: TimerRunner[] = timers.map(({ d, next }) => startTimer({ name: d.name, options: d.options, next, invoker, log }));

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    // Ctrl+C often arrives twice (from the terminal and forwarded by npm): shutdown is bounded anyway.
    if (stopping) return;
    stopping = true;
    log.info('host stopping', { signal, inFlight: invoker.inFlight });
    for (const l of listeners) l.stop();
    for (const t of runners) t.stop();
    const closed = new Promise((r) => server.close(r));
    server.closeIdleConnections();
    const finished = await invoker.drain(options.shutdownTimeoutMs);
    if (finished) {
      await Promise.all(listeners.map((l) => l.settled()));
    } else {
      const released = (await Promise.all(listeners.map((l) => l.release()))).reduce((a, b) => a + b, 0);
      log.warn('shutdown timeout: abandoning unfinished invocations; their messages are visible again', {
        inFlight: invoker.inFlight,
        released,
      });
      server.closeAllConnections();
    }
    await Promise.all([closed, ...listeners.map((l) => l.stopped)]);
    log.info('host stopped');
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, (s) => void shutdown(s));
}

main().catch((error: unknown) => {
  log.error('host failed to start', { error });
  process.exit(1);
});
