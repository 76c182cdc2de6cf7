import { AsyncLocalStorage } from 'node:async_hooks';
import type { InvocationContext } from '@azure/functions';
import { consoleSink, type Sink } from './log.js';

/**
 * Inside an invocation, lines go through its context (`context.info/warn/…`): the Functions host files them
 * under `Function.<name>.User`, tied to the invocation and its operation id in Application Insights.
 * Written to the console, the host logs them as `Host.Function.Console` at Information, not tied to any
 * invocation (azure-functions-host WorkerProcess.cs / WorkerConsoleLogService.cs).
 */
function contextSink(context: Pick<InvocationContext, 'debug' | 'info' | 'warn' | 'error'>): Sink {
  return (level, line) => context[level](line);
}

const current = new AsyncLocalStorage<Sink>();

/** The sink of the invocation the calling code runs in (shared clients log into the invocation that uses them); else the console. */
export const invocationSink: Sink = (level, line) => (current.getStore() ?? consoleSink)(level, line);

/** Run one invocation's work so that every logger built on `invocationSink` writes through its context. */
export function withInvocationLog<T>(context: Pick<InvocationContext, 'debug' | 'info' | 'warn' | 'error'>, work: () => T): T {
  return current.run(contextSink(context), work);
}
