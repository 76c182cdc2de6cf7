import { ConfigError } from '../lib/config.js';
import { ReceiverError } from '../lib/errors.js';
import type { AltinnProblem } from './problem.js';

/** Exit codes every command keeps (docs/operations.md). */
export const EXIT = { ok: 0, user: 1, usage: 2, remote: 3, check: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the operator can act on; `exitCode` says which kind. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly details: { problem?: AltinnProblem | undefined; status?: number | undefined } = {},
  ) {
    super(message);
  }
}

/** Wrong invocation: unknown command or flag, missing or malformed argument. Printed with the usage line. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export const userError = (message: string) => new CliError(message, EXIT.user);

/**
 * Map anything thrown to what the operator sees: bad settings are the user's to fix (1); Altinn, Maskinporten
 * and storage failures are remote (3), with Altinn's problem details when it sent some.
 */
export function toCliError(e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof ConfigError) return new CliError(e.message, EXIT.user);
  if (e instanceof ReceiverError) {
    const where = e.instanceId ? ` (instance ${e.instanceId})` : '';
    return new CliError(`${e.message}${where}`, EXIT.remote, { status: e.status });
  }
  const err = e as { name?: string; statusCode?: number; code?: string; message?: string; cause?: { code?: string } };
  if (err?.name === 'RestError') {
    const status = err.statusCode ? ` (status ${err.statusCode})` : err.code ? ` (${err.code})` : '';
    return new CliError(`storage request failed${status}: ${firstLine(err.message)}`, EXIT.remote, { status: err.statusCode });
  }
  if (err?.name === 'TypeError' && /fetch failed/.test(err.message ?? '')) {
    return new CliError(`network request failed: ${err.cause?.code ?? firstLine(err.message)}`, EXIT.remote);
  }
  return new CliError(`unexpected error: ${e instanceof Error ? e.message : String(e)}`, EXIT.user);
}

const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0] ?? '';
