/**
 * Errors carry what an operator needs to act: a stable code, whether retrying can help,
 * the HTTP status seen (if any) and the instance concerned (if any). Messages never hold secrets.
 */
export interface ErrorDetails {
  code: string;
  retryable: boolean;
  status?: number | undefined;
  instanceId?: string | undefined;
  /** Seconds the remote asked us to wait (Retry-After). */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

export class ReceiverError extends Error {
  override name = 'ReceiverError';
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly instanceId: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, details: ErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.retryable = details.retryable;
    this.status = details.status;
    this.instanceId = details.instanceId;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  /** The fields a log line carries. */
  toLog(): Record<string, unknown> {
    return {
      error: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      status: this.status,
      instanceId: this.instanceId,
    };
  }
}
