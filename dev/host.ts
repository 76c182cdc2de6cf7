/**
 * The local Functions host: a small, faithful stand-in for `func start` on a developer's machine
 * (no Core Tools, no .NET). It runs the function definitions that functions/ exports: HTTP triggers
 * under /api, storage queue triggers polled as host.json says, timers on their NCRONTAB schedule.
 * See docs/development.md "Run locally".
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FunctionDefinition } from '../lib/functionDefinition.js';
import { readLocalSettings } from '../lib/localSettings.js';
import { createLogger } from '../lib/log.js';
import { registerSecret } from '../lib/redact.js';
import { batchedSink } from './host/batchedSink.js';
import { loadHostJson } from './host/hostJson.js';
import { httpTriggers, listen } from './host/http.js';
import { Invoker } from './host/invoke.js';
import { loadFunctions } from './host/load.js';
import { parseHostOptions, projectRoot, USAGE, type HostOptions } from './host/options.js';
import { mergeSettings, type Env } from './host/settings.js';
import { createShutdown } from './host/shutdown.js';
import { queueServices } from './host/storageClients.js';
import { describeTriggers, resolveQueueTriggers, resolveTimerTriggers, startQueueListeners, startTimers } from './host/triggers.js';

const log = createLogger(batchedSink(), { component: 'host' });

async function main(): Promise<void> {
  const options = await readOptions();
  if (options.help) return void console.log(USAGE);
  const env = await applySettings(options.settings);
  const host = await loadHostJson(options.hostJson);
  const definitions = await loadDefinitions(options.functions);

  const invoker = new Invoker(log, host.logLevel);
  const queueService = queueServices(env);
  const http = httpTriggers(
    definitions.flatMap((d) => (d.kind === 'http' ? [d] : [])),
    host.routePrefix,
    invoker,
    log,
  );
  // Resolve and check every trigger before anything starts, so a bad setting stops start-up with one clear line.
  const queues = await resolveQueueTriggers(definitions, env, queueService);
  const timers = resolveTimerTriggers(definitions, env);

  const { server, port } = await listen(http, options.port, log);
  const functions = describeTriggers(http, queues, timers);
  log.info('host started', { url: `http://localhost:${port}`, port, functions, queues: host.queues });
  const listeners = startQueueListeners(queues, host.queues, invoker, log);
  const runners = startTimers(timers, invoker, log);

  const shutdown = createShutdown({ server, invoker, listeners, runners, timeoutMs: options.shutdownTimeoutMs, log });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, (s) => void shutdown(s));
}

/** The command line, with package.json "main" as the default function glob. */
async function readOptions(): Promise<HostOptions> {
  const root = projectRoot(import.meta.dirname);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { main?: string };
  return parseHostOptions(process.argv.slice(2), process.env, root, process.cwd(), pkg.main);
}

/** App settings reach the functions as environment variables, as in Azure; the environment wins. */
async function applySettings(settings: string | undefined): Promise<Env> {
  const values = settings ? await readLocalSettings(settings) : undefined;
  const env = mergeSettings(values, process.env);
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
  if (env.AzureWebJobsStorage) registerSecret(env.AzureWebJobsStorage);
  return env;
}

/** The function definitions the glob's files export; none at all stops start-up. */
async function loadDefinitions(functions: HostOptions['functions']): Promise<FunctionDefinition[]> {
  const { definitions, skipped } = await loadFunctions(functions.pattern, functions.cwd);
  for (const file of skipped) log.warn('file exports no function definition; skipped', { file });
  if (definitions.length === 0) throw new Error(`no functions found in ${functions.pattern}`);
  return definitions;
}

main().catch((error: unknown) => {
  log.error('host failed to start', { error });
  process.exit(1);
});
