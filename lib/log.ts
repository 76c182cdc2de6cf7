import { isSecretName, redactValue } from './redact.js';

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

/**
 * An Error as a plain object, wherever it sits (a field, an array, another error's cause): its name,
 * message, code and status, the typed fields of a ReceiverError, its cause and (AggregateError) its errors.
 * Only these: other own properties of SDK errors can hold requests and headers.
 */
function errorFields(e: Error): Fields {
  const own = e as Error & { toLog?: () => Fields; code?: unknown; status?: unknown; statusCode?: unknown; errors?: unknown };
  const fields: Fields = own.toLog ? own.toLog() : { error: e.name, message: e.message, code: own.code, status: own.status ?? own.statusCode };
  if (e.cause !== undefined) fields.cause = e.cause;
  if (Array.isArray(own.errors)) fields.errors = own.errors;
  return fields;
}

/** Members of a private JWK: scrubbed wherever an object with `kty` carries them. */
const PRIVATE_JWK = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/** A cycle (or an object met twice in one record) prints once, then as this: nested causes always end. */
const SEEN = '[seen]';

/**
 * JSON with every string value redacted before it is serialised: a redaction can then never cut
 * through the JSON syntax (a PEM header without its end used to swallow the rest of the line).
 * Errors at any depth become their fields (errorFields), redacted the same way.
 */
function toJsonLine(record: Fields): string {
  return flatJsonLine(record) ?? nestedJsonLine(record);
}

/**
 * The common record (only strings, numbers, booleans, null and undefined as values, as the webhook's line): redacted
 * into a copy and serialised without a replacer, which is what makes JSON.stringify slow. Undefined when a value is an object.
 */
function flatJsonLine(record: Fields): string | undefined {
  const out: Fields = {};
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value === 'object' && value !== null) return undefined;
    out[key] = typeof value === 'string' ? redactField(key, value, record) : value;
  }
  return JSON.stringify(out);
}

function nestedJsonLine(record: Fields): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(record, function (this: unknown, key: string, value: unknown) {
    if (typeof value === 'string') return redactField(key, value, this);
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return SEEN;
    seen.add(value);
    return value instanceof Error ? errorFields(value) : value;
  });
}

/** A string value as its line gets it: whole when its name is a secret's or it is a private member of a JWK (`holder` has `kty`), else redacted. */
function redactField(key: string, value: string, holder: unknown): string {
  if (isSecretName(key) || (PRIVATE_JWK.has(key) && typeof holder === 'object' && holder !== null && 'kty' in holder)) return '[redacted]';
  return redactValue(value);
}

/** Structured JSON lines, one per event, every string value passed through the redactor. */
export function createLogger(sink: Sink = consoleSink, base: Fields = {}, minLevel: Level = 'info'): Logger {
  const order: Level[] = ['debug', 'info', 'warn', 'error'];
  const emit = (level: Level, msg: string, fields?: Fields) => {
    if (order.indexOf(level) < order.indexOf(minLevel)) return;
    const record: Fields = { level, msg, ...base };
    for (const [k, v] of Object.entries(fields ?? {})) if (v !== undefined) record[k] = v;
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

