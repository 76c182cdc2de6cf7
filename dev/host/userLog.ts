import type { LogLevel } from '@azure/functions';
import type { Logger } from '../../lib/log.js';
import { HOST_LEVELS, type HostLevel } from './hostJson.js';

/**
 * What the Functions host does with `context.log/info/warn/error`: files the line under the category
 * `Function.<name>.User` and keeps it only at or above the level host.json's `logging.logLevel` gives that
 * category (the longest matching prefix wins, then `default`; Information when neither is set).
 */
export const userCategory = (functionName: string) => `Function.${functionName}.User`;

export function minLevel(logLevel: Record<string, HostLevel>, category: string): HostLevel {
  const matches = Object.keys(logLevel).filter((k) => k !== 'default' && (category === k || category.startsWith(`${k}.`)));
  const best = matches.sort((a, b) => b.length - a.length)[0];
  return logLevel[best ?? 'default'] ?? 'Information';
}

const FROM_CONTEXT: Record<LogLevel, HostLevel> = {
  trace: 'Trace',
  debug: 'Debug',
  information: 'Information',
  warning: 'Warning',
  error: 'Error',
  critical: 'Critical',
  none: 'None',
};

/**
 * The `logHandler` of one invocation's context: lines below the category's level are dropped; the rest are
 * printed with `category` and `invocationId`. A structured line from lib/log.ts keeps its fields, flat.
 */
export function userLogHandler(log: Logger, functionName: string, logLevel: Record<string, HostLevel>) {
  const category = userCategory(functionName);
  const threshold = HOST_LEVELS.indexOf(minLevel(logLevel, category));
  const out = log.child({ category });
  return (level: LogLevel, ...args: unknown[]) => {
    const hostLevel = FROM_CONTEXT[level];
    if (hostLevel === 'None' || HOST_LEVELS.indexOf(hostLevel) < threshold) return;
    const { msg, fields } = structured(args);
    if (hostLevel === 'Error' || hostLevel === 'Critical') out.error(msg, fields);
    else if (hostLevel === 'Warning') out.warn(msg, fields);
    else if (hostLevel === 'Information') out.info(msg, fields);
    else out.debug(msg, fields);
  };
}

function structured(args: unknown[]): { msg: string; fields: Record<string, unknown> } {
  const [first] = args;
  if (args.length === 1 && typeof first === 'string' && first.startsWith('{')) {
    try {
      const { level: _level, msg, ...fields } = JSON.parse(first) as Record<string, unknown>;
      if (typeof msg === 'string') return { msg, fields };
    } catch {
      // not one of ours: printed as text below
    }
  }
  return { msg: args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a))).join(' '), fields: {} };
}
