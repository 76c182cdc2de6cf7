import { ReceiverError } from '../errors.js';

/**
 * Client-side bounds on Azure Storage calls. The SDK has none by default: `retryOptions.tryTimeoutInMs`
 * only sets the service's server-side `timeout=` query parameter (Azure/azure-sdk-for-js
 * sdk/storage/storage-common/src/policies/StorageRetryPolicyV2.ts, `sendRequest`), so a stalled
 * connection would hold the invocation, and the instance lease, until functionTimeout. Each call is
 * bounded by an abort signal instead, which the SDK honours across its own retries and their delays.
 */
export const AZURE_CALL_TIMEOUT_MS = 30_000;
/** Writes carrying a body get more time per MiB (a 4 MiB block: 38 s), so a slow but moving upload finishes. */
export const AZURE_UPLOAD_MS_PER_MIB = 2_000;

/**
 * The SDK's own retries (StorageRetryPolicyV2 retries 500, 503, and network errors such as
 * REQUEST_SEND_ERROR, ECONNRESET, ETIMEDOUT; not 408 or 429): 4 tries, waits 0, 1 s, 3 s (exponential:
 * (2^(n-1) - 1) x retryDelayInMs). Short, because withRetry and deferral take over after.
 */
export const AZURE_RETRY_OPTIONS = { maxTries: 4, retryDelayInMs: 1_000, maxRetryDelayInMs: 8_000 } as const;

const TRANSIENT_NETWORK = ['REQUEST_SEND_ERROR', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TIMEOUT', 'UND_ERR_SOCKET'];

/** An Azure SDK RestError (or its shape) that asking again later can fix: 408, 429, 5xx, or no answer at all. */
export function isTransientAzureError(e: unknown): boolean {
  const err = e as { name?: string; statusCode?: number; code?: unknown };
  if (err?.name !== 'RestError') return false;
  const status = err.statusCode;
  if (status !== undefined && status !== 0) return status === 408 || status === 429 || status >= 500;
  return typeof err.code === 'string' && TRANSIENT_NETWORK.includes(err.code.toUpperCase());
}

export interface AzureCallOptions {
  /** Request body bytes (more time for larger writes). */
  bytes?: number;
  /** The caller's own signal; either one ends the call. */
  signal?: AbortSignal | undefined;
  /** A tighter bound than AZURE_CALL_TIMEOUT_MS (a lease renewal must end within the lease). */
  timeoutMs?: number | undefined;
  instanceId?: string | undefined;
}

/**
 * Runs one Azure Storage call under a client-side deadline. A deadline that fires, or a transient
 * RestError, comes out as a retryable ReceiverError (`azure-timeout`, `azure-http-<status>`,
 * `azure-unreachable`) so withRetry and the processor's deferral treat it like Altinn's trouble;
 * anything else (404, 409, 412, …) is thrown as the SDK raised it, for the caller to read.
 */
export async function azureCall<T>(what: string, fn: (abortSignal: AbortSignal) => Promise<T>, opts: AzureCallOptions = {}): Promise<T> {
  const ms = opts.timeoutMs ?? AZURE_CALL_TIMEOUT_MS + Math.ceil(((opts.bytes ?? 0) / (1024 * 1024)) * AZURE_UPLOAD_MS_PER_MIB);
  const deadline = AbortSignal.timeout(ms);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  try {
    return await fn(signal);
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    if (deadline.aborted) {
      throw new ReceiverError(`Azure Storage (${what}) did not finish within ${ms} ms`, { code: 'azure-timeout', retryable: true, instanceId: opts.instanceId, cause: e });
    }
    if (!isTransientAzureError(e)) throw e;
    const { statusCode: status, code } = e as { statusCode?: number; code?: string };
    const detail = status ? `${status} ${code ?? ''}`.trim() : (code ?? 'no answer');
    throw new ReceiverError(`Azure Storage (${what}) failed after the SDK's retries: ${detail}`, {
      code: status ? `azure-http-${status}` : 'azure-unreachable',
      retryable: true,
      status,
      instanceId: opts.instanceId,
      cause: e,
    });
  }
}
