import type { Timer, TimerFunctionOptions } from '@azure/functions';
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from '../../lib/log.js';
import type { Invoker } from './invoke.js';
import { parseTimeSpan } from './hostJson.js';

/** Longest single setTimeout (about 24.8 days); longer waits are re-armed. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** A tick that fires later than this after its due time is reported as past due. */
const PAST_DUE_MS = 1_000;

/** Next occurrence after `from` of an NCRONTAB (six fields, seconds first) or TimeSpan (`hh:mm:ss`) schedule. */
export function scheduleFn(schedule: string, tz: string): (from: Date) => Date {
  if (/^\d/.test(schedule) && schedule.includes(':')) {
    const every = parseTimeSpan(schedule);
    if (every <= 0) throw new Error(`timer schedule "${schedule}" must be longer than zero`);
    return (from) => new Date(from.getTime() + every);
  }
  if (schedule.trim().split(/\s+/).length !== 6) {
    throw new Error(`timer schedule "${schedule}" must be NCRONTAB with six fields (seconds first)`);
  }
  try {
    CronExpressionParser.parse(schedule, { tz }).next(); // checked once, at start-up (next() is where a bad time zone shows)
  } catch (e) {
    throw new Error(`timer schedule "${schedule}" (time zone ${tz}): ${(e as Error).message}`, { cause: e });
  }
  return (from) => CronExpressionParser.parse(schedule, { currentDate: from, tz }).next().toDate();
}

export interface TimerRunner {
  stop(): void;
}

/**
 * Runs a timer function on its schedule. Never overlaps itself: a tick that comes while the previous
 * run is still going is skipped (logged), like the host's singleton timer lock.
 */
export function startTimer(args: {
  name: string;
  options: TimerFunctionOptions;
  /** The schedule, from `scheduleFn`. */
  next: (from: Date) => Date;
  invoker: Invoker;
  log: Logger;
}): TimerRunner {
  const { name, options, invoker, next } = args;
  const log = args.log.child({ function: name });
  let running = false;
  let stopped = false;
  let last: Date | undefined;
  let handle: NodeJS.Timeout | undefined;

  const fire = (due: Date, firedAt: Date) => {
    if (running) return log.warn('timer tick skipped: the previous run is still going', { due: due.toISOString() });
    running = true;
    const nextDue = next(firedAt);
    const timer: Timer = {
      isPastDue: firedAt.getTime() - due.getTime() > PAST_DUE_MS,
      schedule: { adjustForDST: true },
      scheduleStatus: {
        last: (last ?? new Date(0)).toISOString(),
        next: nextDue.toISOString(),
        lastUpdated: firedAt.toISOString(),
      },
    };
    last = firedAt;
    void invoker
      .invoke(name, { trigger: 'timer', due: due.toISOString(), isPastDue: timer.isPastDue }, {}, (context) =>
        options.handler(timer, context),
      )
      .finally(() => (running = false));
  };

  const arm = (due: Date) => {
    if (stopped) return;
    const wait = due.getTime() - Date.now();
    handle = setTimeout(
      () => {
        if (Date.now() < due.getTime()) return arm(due);
        const firedAt = new Date();
        fire(due, firedAt);
        arm(next(firedAt));
      },
      Math.min(Math.max(wait, 0), MAX_TIMEOUT_MS),
    );
  };

  if (options.runOnStartup) fire(new Date(), new Date());
  arm(next(new Date()));
  return {
    stop() {
      stopped = true;
      clearTimeout(handle);
    },
  };
}
