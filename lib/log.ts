import { redactValue } from './redact.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, unknown>;
/** Where finished lines go: console locally, the invocation context's log methods in Azure. */
export type Sink = (level: Level, line: string) => void;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

/* eslint-disable no-console -- this is the one place that may write to the console */
export const consoleSink: Sink = (level, line) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};
/* eslint-enable no-console */

function serialize(value: unknown): unknown {
  if (value instanceof Error) {
    const withLog = value as Error & { toLog?: () => Fields };
    return withLog.toLog ? withLog.toLog() : { error: value.name, message: value.message };
  }
  return value;
}

/** Members of a private JWK: scrubbed wherever an object with `kty` carries them. */
const PRIVATE_JWK = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/**
 * JSON with every string value redacted before it is serialised: a redaction can then never cut
 * through the JSON syntax (a PEM header without its end used to swallow the rest of the line).
 */
function toJsonLine(record: Fields): string {
  return JSON.stringify(record, function (this: unknown, key: string, value: unknown) {
    if (typeof value !== 'string') return value;
    if (PRIVATE_JWK.has(key) && typeof this === 'object' && this !== null && 'kty' in this) return '[redacted]';
    return redactValue(value);
  });
}

/** Structured JSON lines, one per event, every string value passed through the redactor. */
export function createLogger(sink: Sink = consoleSink, base: Fields = {}, minLevel: Level = 'info'): Logger {
  const order: Level[] = ['debug', 'info', 'warn', 'error'];
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (order.indexOf(level) < order.indexOf(minLevel)) return;
    const record: Fields = { level, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) record[k] = serialize(v);
    sink(level, toJsonLine(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(sink, { ...base, ...fields }, minLevel),
  };
}

