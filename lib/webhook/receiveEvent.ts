import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { instanceId, type EventsMessage, type InstanceRef } from '../queue/messages.js';
import type { QueueSender } from '../queue/sender.js';
import { QUEUES } from '../queue/names.js';
import { acceptsContentType, readBody, type IncomingRequest } from './body.js';
import { cloudEventSchema, VALIDATE_SUBSCRIPTION, type CloudEvent } from './cloudEvent.js';
import { ok, problem, type WebhookResponse } from './problem.js';
import { parseInstanceSource } from './source.js';

export interface WebhookDeps {
  config: Pick<Config, 'org' | 'apps' | 'eventTypes' | 'altinn'>;
  queues: Pick<QueueSender, 'send'>;
  log: Logger;
  clock: Pick<Clock, 'now'>;
  /** Longest wait for the queue before answering 503 (Altinn's own delivery timeout is longer). */
  queueTimeoutMs?: number;
}

const DEFAULT_QUEUE_TIMEOUT_MS = 10_000;

/** What the per-request log line says happened. */
type Decision = 'enqueued' | 'validation' | 'ignored-type' | 'ignored-app' | 'rejected' | 'unavailable' | 'failed';

interface Outcome {
  response: WebhookResponse;
  decision: Decision;
  fields?: Record<string, unknown>;
}

/**
 * POST /api/events, as docs/contracts.md (Webhook answers) says: validate, filter, enqueue. Only a 200 ends Altinn's
 * retries, so anything that could lose an event (queue down, settings broken) answers 503; anything
 * that can never become valid answers 4xx. One structured log line per request.
 */
export async function receiveEvent(request: IncomingRequest, deps: WebhookDeps): Promise<WebhookResponse> {
  const started = deps.clock.now();
  let outcome: Outcome;
  try {
    outcome = await decide(request, deps);
  } catch (e) {
    outcome = { response: problem(500, 'internal-error', 'unexpected error; see the function log'), decision: 'failed', fields: { error: e } };
  }
  const { response, decision, fields } = outcome;
  const level = response.status >= 500 ? 'error' : response.status >= 400 ? 'warn' : 'info';
  deps.log[level]('webhook request', {
    method: request.method,
    status: response.status,
    decision,
    ...fields,
    durationMs: deps.clock.now() - started,
  });
  return response;
}

const rejected = (response: WebhookResponse, fields?: Record<string, unknown>): Outcome => ({ response, decision: 'rejected', fields });

async function decide(request: IncomingRequest, deps: WebhookDeps): Promise<Outcome> {
  const read = await readCloudEvent(request);
  if (!read.ok) return read.outcome;
  const event = read.event;
  const eventFields = { eventId: event.id, eventType: event.type };
  if (event.type === VALIDATE_SUBSCRIPTION) return { response: ok('validation'), decision: 'validation', fields: eventFields };

  const source = parseInstanceSource(event.source, { appsOrigin: deps.config.altinn.appsOrigin, org: deps.config.org });
  if (!source.ok) {
    return rejected(problem(403, 'forbidden-source', source.reason), { ...eventFields, reason: source.reason });
  }
  const ref = source.ref;
  const refFields = { ...eventFields, app: ref.app, instance: instanceId(ref) };
  if (deps.config.apps.length > 0 && !deps.config.apps.includes(ref.app)) {
    return { response: ok('ignored-app'), decision: 'ignored-app', fields: refFields };
  }
  if (!deps.config.eventTypes.includes(event.type)) {
    return { response: ok('ignored-type'), decision: 'ignored-type', fields: refFields };
  }
  return enqueue(ref, event, refFields, deps);
}

/** Method, content type, body, JSON, CloudEvent: the request is an event or is rejected with the first thing wrong. */
async function readCloudEvent(request: IncomingRequest): Promise<{ ok: true; event: CloudEvent } | { ok: false; outcome: Outcome }> {
  const no = (response: WebhookResponse) => ({ ok: false as const, outcome: rejected(response) });
  if (request.method !== 'POST') {
    return no(problem(405, 'method-not-allowed', 'Altinn Events delivers with POST', { allow: 'POST' }));
  }
  if (!acceptsContentType(request.headers.get('content-type'))) {
    return no(problem(415, 'unsupported-media-type', 'Content-Type must be application/json or application/cloudevents+json'));
  }
  const body = await readBody(request);
  if (!body.ok) return no(body.response);

  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch {
    return no(problem(400, 'not-json', 'the body is not valid JSON'));
  }
  const parsed = cloudEventSchema.safeParse(json);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    return no(problem(400, 'not-a-cloudevent', detail));
  }
  return { ok: true, event: parsed.data };
}

/** The events message for this instance on the queue within the timeout, or 503 so Altinn delivers again. */
async function enqueue(ref: InstanceRef, event: CloudEvent, refFields: Record<string, unknown>, deps: WebhookDeps): Promise<Outcome> {
  // Built from parts validated above (the source's stricter rules, the CloudEvent's bounds), so not parsed again here:
  // the processor decodes every message with eventsMessageSchema.
  const message: EventsMessage = { ...ref, eventId: event.id, eventType: event.type, reason: 'event', enqueuedAt: new Date(deps.clock.now()).toISOString() };
  try {
    await deps.queues.send(QUEUES.events, message, { timeoutMs: deps.queueTimeoutMs ?? DEFAULT_QUEUE_TIMEOUT_MS });
  } catch (e) {
    return {
      response: problem(503, 'queue-unavailable', 'the event could not be queued; Altinn will deliver it again', { 'retry-after': '60' }),
      decision: 'unavailable',
      fields: { ...refFields, error: describe(e) },
    };
  }
  return { response: ok('enqueued'), decision: 'enqueued', fields: refFields };
}

/** Storage errors carry request URLs and headers; the log gets only what identifies the failure. */
function describe(e: unknown): Record<string, unknown> {
  const err = e as { name?: unknown; code?: unknown; statusCode?: unknown };
  return { error: typeof err.name === 'string' ? err.name : 'Error', code: err.code, statusCode: err.statusCode };
}
