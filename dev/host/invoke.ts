import { randomUUID } from 'node:crypto';
import azf from '@azure/functions';
import type { InvocationContext, TriggerMetadata } from '@azure/functions';
import type { Logger } from '../../lib/log.js';
import type { HostLevel } from './hostJson.js';
import { userLogHandler } from './userLog.js';

export type InvocationOutcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/**
 * Runs invocations and keeps track of the ones in flight, so shutdown can wait for them.
 * Each invocation gets an `InvocationContext` whose `context.log`/`warn`/`error` become structured lines
 * (category `Function.<name>.User`, filtered by host.json's log levels as the Functions host does),
 * plus a start and an end line (outcome, duration), like the host's Function/Host.Results logs.
 */
export class Invoker {
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly log: Logger,
    /** host.json `logging.logLevel`, applied to what functions log through their context. */
    private readonly logLevel: Record<string, HostLevel> = {},
  ) {}

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async invoke(
    functionName: string,
    fields: Record<string, unknown>,
    triggerMetadata: TriggerMetadata,
    call: (context: InvocationContext) => unknown,
    /** Extra fields for the end line, from the result (e.g. the HTTP status). */
    summarize: (result: unknown) => Record<string, unknown> = () => ({}),
  ): Promise<InvocationOutcome> {
    const invocationId = randomUUID();
    const log = this.log.child({ function: functionName, invocationId });
    const context = new azf.InvocationContext({
      functionName,
      invocationId,
      triggerMetadata,
      logHandler: userLogHandler(log, functionName, this.logLevel),
    });
    const started = performance.now();
    log.info('invocation started', fields);
    const run = (async (): Promise<InvocationOutcome> => {
      try {
        return { ok: true, result: await call(context) };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    this.#inFlight.add(run);
    try {
      const outcome = await run;
      const durationMs = Math.round(performance.now() - started);
      if (outcome.ok) log.info('invocation succeeded', { ...fields, ...summarize(outcome.result), durationMs });
      else log.error('invocation failed', { ...fields, durationMs, error: outcome.error });
      return outcome;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  /** Resolves once nothing is in flight, or after `ms`; true when everything finished. */
  async drain(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
    try {
      while (this.#inFlight.size > 0) {
        const done = await Promise.race([Promise.allSettled([...this.#inFlight]).then(() => true), timeout]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
