/**
 * Answers of the webhook. Errors are RFC 9457 problem details: `type` names the rule (a stable code an
 * operator can search for), `detail` says what to fix. Nothing from the request is echoed back.
 */

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export type ProblemCode =
  | 'method-not-allowed'
  | 'unsupported-media-type'
  | 'body-too-large'
  | 'bad-content-length'
  | 'not-json'
  | 'not-a-cloudevent'
  | 'forbidden-source'
  | 'queue-unavailable'
  | 'not-configured'
  | 'internal-error';

/** The problem details body the webhook answers with (ours; Altinn's are parsed in cli/problem.ts). */
export interface WebhookProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

const TITLES: Record<ProblemCode, string> = {
  'method-not-allowed': 'Method not allowed',
  'unsupported-media-type': 'Unsupported media type',
  'body-too-large': 'Request body too large',
  'bad-content-length': 'Invalid Content-Length',
  'not-json': 'Body is not JSON',
  'not-a-cloudevent': 'Body is not a CloudEvent 1.0',
  'forbidden-source': 'Event source not accepted',
  'queue-unavailable': 'Queue unavailable, retry later',
  'not-configured': 'Receiver not configured, retry later',
  'internal-error': 'Internal error',
};

const NO_STORE = { 'cache-control': 'no-store' };

export function problem(status: number, code: ProblemCode, detail: string, headers: Record<string, string> = {}): WebhookResponse {
  const body: WebhookProblem = { type: `urn:altinn-receiver:problem:${code}`, title: TITLES[code], status, detail };
  return { status, headers: { 'content-type': 'application/problem+json', ...NO_STORE, ...headers }, body: JSON.stringify(body) };
}

/** The header of a 200 that says what was done with the event (for whoever tests the endpoint by hand). */
export const DECISION_HEADER = 'x-receiver-decision';

export type OkDecision = 'validation' | 'enqueued' | 'ignored-type' | 'ignored-app';
/** Built once: an answer per decision, not an object per request. Frozen, as every caller shares it. */
const answer = (d: OkDecision): WebhookResponse => Object.freeze({ status: 200, headers: Object.freeze({ [DECISION_HEADER]: d, ...NO_STORE }) });
const OK: Record<OkDecision, WebhookResponse> = { validation: answer('validation'), enqueued: answer('enqueued'), 'ignored-type': answer('ignored-type'), 'ignored-app': answer('ignored-app') };

/**
 * 200: Altinn stops delivering the event. No body: Altinn reads only the status, and a body costs every event a
 * stream in the worker (`@azure/functions` toRpcHttp reads it whole); the decision is a header instead.
 */
export function ok(decision: OkDecision): WebhookResponse {
  return OK[decision];
}
