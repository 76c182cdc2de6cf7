import type { Server } from 'node:http';
import type { Logger } from '../../lib/log.js';
import type { Invoker } from './invoke.js';
import type { QueueListener } from './queue.js';
import type { TimerRunner } from './timer.js';

export interface Running {
  server: Server;
  invoker: Invoker;
  listeners: QueueListener[];
  runners: TimerRunner[];
  /** How long invocations in flight may take to finish before they are abandoned. */
  timeoutMs: number;
  log: Logger;
}

/**
 * The host's shutdown on a signal, run once: stop taking work, let invocations in flight finish within
 * the timeout (else abandon them and make their messages visible again), then exit.
 */
export function createShutdown(running: Running): (signal: NodeJS.Signals) => Promise<void> {
  let stopping = false;
  return async (signal) => {
    // Ctrl+C often arrives twice (from the terminal and forwarded by npm): shutdown is bounded anyway.
    if (stopping) return;
    stopping = true;
    await stopHost(running, signal);
    process.exit(0);
  };
}

async function stopHost({ server, invoker, listeners, runners, timeoutMs, log }: Running, signal: NodeJS.Signals): Promise<void> {
  log.info('host stopping', { signal, inFlight: invoker.inFlight });
  for (const l of listeners) l.stop();
  for (const t of runners) t.stop();
  const closed = new Promise((r) => server.close(r));
  server.closeIdleConnections();
  const finished = await invoker.drain(timeoutMs);
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
}
