/**
 * Errors carry what an operator needs to act: a stable code, whether retrying can help,
 * the HTTP status seen (if any) and the instance concerned (if any). Messages never hold secrets.
 */
export type ErrorCode =
  // Altinn (apps, Storage, token exchange)
  | `altinn-http-${number}`
  | 'altinn-timeout'
  | 'altinn-unreachable'
  | 'altinn-application-invalid'
  | 'altinn-instance-invalid'
  | 'altinn-instance-mismatch'
  | 'altinn-exchange-unreachable'
  | `altinn-exchange-${number}`
  | 'altinn-exchange-bad-response'
  | 'altinn-exchange-org'
  | 'altinn-exchange-redirect'
  | 'altinn-redirect'
  | 'storage-query-bad-next'
  | 'storage-query-invalid'
  | 'storage-query-loop'
  | 'storage-query-overload'
  // Maskinporten: `maskinporten-{OAuth error}` as well as these
  | 'maskinporten-unreachable'
  | `maskinporten-http-${number}`
  | 'maskinporten-bad-response'
  | 'maskinporten-redirect'
  | `maskinporten-${string}`
  // The instance and its elements
  | 'instance-foreign-org'
  | 'instance-lease-lost'
  | 'element-unavailable'
  | 'element-restricted'
  | 'complete-forbidden'
  | 'instance-changing'
  | 'element-verify-failed'
  | 'element-stream-failed'
  | 'filescan-pending'
  | 'held-not-found'
  // Our blobs
  | 'blob-invalid'
  | 'blob-commit-conflict'
  // Azure Storage (blobs, queues, leases): transient trouble that outlasted the SDK's retries, or our client-side deadline
  | `azure-http-${number}`
  | 'azure-unreachable'
  | 'azure-timeout'
  // Settings and runs
  | 'config-data-types'
  | 'settings-invalid'
  | 'reconcile-app-not-configured'
  | 'reconcile-incomplete'
  | 'reconcile-window-failed'
  // The Altinn Events feed
  | 'feed-invalid'
  | 'feed-cursor-conflict'
  | 'feed-incomplete';

export interface ErrorDetails {
  code: ErrorCode;
  retryable: boolean;
  status?: number | undefined;
  instanceId?: string | undefined;
  /** Seconds the remote asked us to wait (Retry-After). */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

export class ReceiverError extends Error {
  override name = 'ReceiverError';
  readonly code: ErrorCode;
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
